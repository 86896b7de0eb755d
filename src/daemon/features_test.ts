/**
 * The extension inside an in-process daemon (no root needed): the fake API server's watch feeds the cache, the
 * socket answers lookups, a registration becomes an attachment, an edited annotation is re-applied (through a
 * stub runner) and reported like an ADD, Events are posted, metrics count it all, and the daemon stops cleanly.
 */
import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { sampleReport } from "../../tests/daemon_fixtures.ts";
import { makePod, startFakeApiServer } from "../../tests/support/fake_apiserver.ts";
import { ANNOTATION } from "../annotation/annotation.ts";
import type { CommandResult } from "../exec/runner.ts";
import { type DaemonIo, runDaemon } from "./daemon.ts";
import { DAEMON_DEFAULTS } from "./flags.ts";
import { sampleValue } from "./metrics/metrics_registry.ts";
import { type DaemonOptions, decodeDaemonOptions } from "./options.ts";
import { podFeatures } from "./features.ts";
import type { AttachmentRegistration } from "../wire/attachment.ts";
import { ROUTES } from "../wire/routes.ts";

function sink(): { write(p: Uint8Array): Promise<number>; text(): string } {
  let text = "";
  const dec = new TextDecoder();
  return {
    write(p) {
      text += dec.decode(p);
      return Promise.resolve(p.length);
    },
    text: () => text,
  };
}

async function until(what: string, cond: () => unknown | Promise<unknown>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function request(
  socket: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string }> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch(`http://chainsaw${path}`, { ...init, client } as RequestInit);
    return { status: res.status, text: await res.text() };
  } finally {
    client.close();
  }
}

/** Options of an in-process daemon under `dir` (no install, no plugin kubeconfig, health on a free port). */
function unitOptions(dir: string, extra: Record<string, unknown>): DaemonOptions {
  return decodeDaemonOptions({
    ...DAEMON_DEFAULTS,
    install: false,
    kubeconfig: false,
    socket: `${dir}/sock/chainsaw.sock`,
    healthAddr: "127.0.0.1:0",
    shutdownDelaySeconds: 0,
    ...extra,
  });
}

/** Runs a daemon in-process: its exit, its stdout and stderr, and a way to send it a signal. */
function startUnitDaemon(options: DaemonOptions, extensions: Parameters<typeof runDaemon>[2]) {
  const out = sink();
  const err = sink();
  let signal: ((s: string) => void) | undefined;
  const io: DaemonIo = {
    stdout: out,
    stderr: err,
    getenv: () => undefined,
    program: { standalone: false, execPath: Deno.execPath(), mainModule: import.meta.url },
    onShutdownSignal(cb) {
      signal = cb;
      return () => {};
    },
    exit: () => {},
  };
  const exited = runDaemon(options, io, extensions);
  return { exited, out, err, signal: (s: string) => signal!(s) };
}

Deno.test("podFeatures in a daemon: cache lookups, attachments, a re-apply reported like an ADD, Events, metrics", async () => {
  const api = await startFakeApiServer({
    pods: [makePod({
      namespace: "default",
      name: "p1",
      uid: "uid-1",
      nodeName: "node-a",
      annotations: { [ANNOTATION]: '["ip route"]' },
    })],
  });
  const dir = await Deno.makeTempDir();
  const ran: Array<{ netns: string; argv: string[] }> = [];
  try {
    await Deno.writeTextFile(`${dir}/kc`, api.kubeconfig());
    const options = unitOptions(dir, {
      nodeName: "node-a",
      apiKubeconfig: `${dir}/kc`,
      stateFile: `${dir}/state/attachments.json`,
      policyDir: `${dir}/policy`,
    });
    const extension = podFeatures({
      getenv: () => undefined,
      now: () => new Date(),
      netnsState: () => Promise.resolve("present"),
      run: (command, argv, opts): Promise<CommandResult> => {
        ran.push({ netns: opts.netns, argv: [...argv] });
        return Promise.resolve({
          command,
          argv: [...argv],
          exitCode: 0,
          signal: null,
          timedOut: false,
          durationMs: 1,
          stdout: "",
          stderr: "",
          truncated: false,
        });
      },
    });
    const { exited, out, err, signal } = startUnitDaemon(options, [extension]);
    const url = () => /health server listening on (http:\/\/\S+)/.exec(err.text())?.[1];
    await until("the health port", url);
    const metrics = async () => await (await fetch(`${url()}/metrics`)).text();
    await until("readyz", async () => {
      const r = await fetch(`${url()}/readyz`);
      await r.body?.cancel();
      return r.ok;
    });

    const hit = await request(options.socket, "/v1/pods/default/p1?uid=uid-1&waitMs=500");
    assertEquals([hit.status, JSON.parse(hit.text).annotations[ANNOTATION]], [200, '["ip route"]']);

    // An ADD the plugin ran itself: its report, then its attachment's registration (explicit messages).
    const add = sampleReport({
      node: "node-a",
      pod: { namespace: "default", name: "p1", uid: "uid-1" },
      netns: "/var/run/netns/cs-unit",
      ifname: "net1",
      source: "daemon",
      annotation: '["ip route"]',
    });
    const posted = await request(options.socket, ROUTES.reports.path, {
      method: "POST",
      body: JSON.stringify(add),
    });
    assertEquals(posted.status, 204);
    const registration: AttachmentRegistration = {
      containerId: add.containerId,
      netns: add.netns,
      ifname: add.ifname,
      network: add.network,
      pod: add.pod!,
      podInterfaces: ["eth0", "net1"],
      onError: "fail",
      applied: '["ip route"]',
    };
    const registered = await request(options.socket, ROUTES.register.path, {
      method: "POST",
      body: JSON.stringify(registration),
    });
    assertEquals(registered.status, 204);
    await until("the state file", async () => {
      try {
        return JSON.parse(await Deno.readTextFile(options.stateFile)).attachments.length === 1;
      } catch {
        return false;
      }
    });

    const edited = makePod({
      namespace: "default",
      name: "p1",
      uid: "uid-1",
      nodeName: "node-a",
      annotations: { [ANNOTATION]: '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]' },
    });
    api.setPod(edited);
    await until("the re-apply", () => ran.length === 1);
    assertEquals(ran[0], {
      netns: "/var/run/netns/cs-unit",
      argv: ["route", "add", "198.51.100.0/24", "dev", "net1"],
    });
    await until("the REAPPLY record", () => out.text().includes(" REAPPLY default/p1 "));
    await until("two Events", () => api.events().length === 2);
    assertEquals(api.events().map((e) => [e.reason, e.action]), [
      ["ChainsawApplied", "ADD"],
      ["ChainsawApplied", "REAPPLY"],
    ]);
    const logs = await request(options.socket, "/v1/logs?pod=default/p1");
    assertEquals(logs.text.trim().split("\n").map((l) => JSON.parse(l).verb), ["ADD", "REAPPLY"]);

    // The Events and the state file are written after what the API server and the record already show.
    await until("the Event and state-write counts", async () => {
      const now = await metrics();
      return sampleValue(now, "chainsaw_events_total", { result: "created" }) === 2 &&
        (sampleValue(now, "chainsaw_state_writes_total", { result: "ok" }) ?? 0) >= 2;
    });
    const m = await metrics();
    assertEquals(sampleValue(m, "chainsaw_pod_lookups_total", { result: "hit" }), 1);
    assertEquals(sampleValue(m, "chainsaw_pod_annotation_sources_total", { source: "daemon" }), 1);
    assertEquals(sampleValue(m, "chainsaw_invocations_total", { verb: "REAPPLY", result: "applied" }), 1);
    assertEquals(sampleValue(m, "chainsaw_events_total", { result: "created" }), 2);
    assertEquals(sampleValue(m, "chainsaw_attachments"), 1);
    assertEquals(sampleValue(m, "chainsaw_pod_cache_synced"), 1);
    assert((sampleValue(m, "chainsaw_state_writes_total", { result: "ok" }) ?? 0) >= 2);

    signal("SIGTERM");
    assertEquals(await exited, 0);
    assertStringIncludes(err.text(), "re-applying on 1 attachment (net1)");
    await until("the watch to be closed at shutdown", () => api.watchCount() === 0, 2000);
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("podFeatures without a node name keeps attachments only, and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const options = unitOptions(dir, { stateFile: `${dir}/attachments.json` });
    const { exited, err, signal } = startUnitDaemon(options, [podFeatures()]);
    await until("ready", () => err.text().includes("chainsaw daemon: ready"));
    assertStringIncludes(err.text(), "no node name (--node-name or $NODE_NAME)");
    const lookup = await request(options.socket, "/v1/pods/default/p1");
    assertEquals(lookup.status, 404, "no pod route: the plugin GETs the pod itself");
    signal("SIGTERM");
    assertEquals(await exited, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
