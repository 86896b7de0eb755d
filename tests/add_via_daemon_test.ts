/**
 * ADD through the daemon (`POST /v1/add`) and through the plugin's in-process fallback give the same outcome,
 * the same report and the same Event: each case runs in a real chain (libcni driver, bridge + chainsaw, a real
 * netns) with the real daemon process and the fake API server holding the pod, once per way ADD can go:
 *
 * | mode | how | report reaches |
 * |---|---|---|
 * | daemon | the daemon runs it | the daemon (logs API, Event) |
 * | absent | no daemon on the socket: the plugin runs it | stderr only, no Event |
 * | declined-env | `CHAINSAW_POLICY_DIR` in the plugin's env: the plugin runs it | stderr and the daemon |
 * | declined-proc | a `/proc/PID/ns/net` netns: the daemon declines, the plugin runs it | stderr and the daemon |
 * | declined-unpinned | the netns bind-mounted outside `/var/run/netns`: the daemon declines, the plugin runs it | stderr and the daemon |
 *
 * A daemon without API access declines too (the plugin runs the ADD and hands the daemon its report). And a
 * daemon killed (SIGKILL) while it runs an ADD is code 11 from the plugin, the list run once only; a
 * stopped daemon (SIGSTOP) is a lost exchange after the client's timeout.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION, type Fixture, fixture } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { type ChainResult, Cleanup, requireRoot, sleeperInNetns } from "./support/netns.ts";
import { must } from "./support/plugin.ts";
import {
  apiScratch,
  type Daemon,
  socketRequest,
  startBareDaemon,
  startDaemonOnApi,
  waitFor,
} from "./daemon_harness.ts";
import { formatHuman, type Report } from "../src/report/report.ts";
import { requestAdd } from "../src/wire/client.ts";
import { ROUTES } from "../src/wire/routes.ts";

const NODE = "node-addvia";
const OK = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE", "ip -4 route show 198.51.100.0/25"]';
const FAILING =
  '["ip route del 10.99.0.99/32 dev CURRENT_INTERFACE", "ip route add 198.51.100.0/25 dev eth0"]';
const REJECTED = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE", "ip netns exec x /bin/sh"]';

type Mode = "daemon" | "absent" | "declined-env" | "declined-proc" | "declined-unpinned";
const MODES: Mode[] = ["daemon", "absent", "declined-env", "declined-proc", "declined-unpinned"];

/** The fake API server with one pod per case, a scratch dir, an (empty: default) node policy dir, the daemon. */
interface World extends AsyncDisposable {
  api: FakeApiServer;
  daemon: Daemon;
  kubeconfig: string;
  policyDir: string;
  scratch: string;
  cleanup: Cleanup;
}

async function world(pods: Record<string, string>, policy?: unknown): Promise<World> {
  const cleanup = new Cleanup();
  try {
    const api = await startFakeApiServer({
      pods: Object.entries(pods).map(([name, annotation]) =>
        makePod({
          namespace: "default",
          name,
          uid: `uid-${name}`,
          nodeName: NODE,
          annotations: { [ANNOTATION]: annotation },
        })
      ),
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const tmp = await apiScratch(cleanup, api);
    const policyDir = `${tmp.path}/policy`;
    await Deno.mkdir(policyDir);
    if (policy !== undefined) await Deno.writeTextFile(`${policyDir}/policy.json`, JSON.stringify(policy));
    const { daemon, kubeconfig } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      args: ["--policy-dir", policyDir],
      scratch: tmp,
    });
    return {
      [Symbol.asyncDispose]: async () => void await cleanup.run(),
      api,
      daemon,
      kubeconfig,
      policyDir,
      scratch: tmp.path,
      cleanup,
    };
  } catch (e) {
    await cleanup.run();
    throw e;
  }
}

/** A chain for pod `name` whose chainsaw entry points at the daemon's socket (or, absent, at no socket). */
async function chainFor(w: World, name: string, mode: Mode): Promise<Fixture> {
  const socket = mode === "absent" ? `${w.scratch}/absent/chainsaw.sock` : w.daemon.socket;
  const f = await fixture(
    `av${mode.slice(-3)}`,
    { kubeconfig: w.kubeconfig, daemonSocket: socket },
    "1.0.0",
    {
      IgnoreUnknown: "1",
      K8S_POD_NAMESPACE: "default",
      K8S_POD_NAME: name,
      K8S_POD_UID: `uid-${name}`,
    },
  );
  w.cleanup.defer(() => f.cleanup.run(), `chain ${name} ${mode}`);
  return f;
}

/** Runs ADD for pod `name` in `mode`; resolves the chain's answer and the netns path the runtime passed. */
async function addIn(
  w: World,
  name: string,
  mode: Mode,
): Promise<{ f: Fixture; add: ChainResult; netns: string }> {
  const f = await chainFor(w, name, mode);
  const env: Record<string, string> = { NODE_NAME: NODE };
  if (mode === "declined-env") env.CHAINSAW_POLICY_DIR = w.policyDir;
  let netns = f.ns.path;
  if (mode === "declined-proc") {
    const sleeper = await sleeperInNetns(f.ns);
    f.cleanup.defer(() => sleeper.kill(), "sleeper");
    netns = sleeper.procPath;
  }
  if (mode === "declined-unpinned") {
    // Where containerd's netns_mounts_under_state_dir pins it: a path the DaemonSet does not mount.
    netns = `${f.scratch}/netns`;
    await Deno.writeTextFile(netns, "");
    await must(["mount", "--bind", f.ns.path, netns]);
    f.cleanup.defer(() => must(["umount", netns]), "unpinned netns");
  }
  const add = await f.chain("add", { netns, env });
  return { f, add, netns };
}

/** The daemon's reports (logs API) of pod `name`. */
async function daemonReports(d: Daemon, name: string): Promise<Report[]> {
  const res = await socketRequest(d.socket, `${ROUTES.logs.path}?pod=default/${name}`);
  assertEquals(res.status, 200, res.text);
  return res.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Report);
}

/** A report without what legitimately differs between runs: its time, every duration, the pod's source. */
function comparable(r: Report): unknown {
  const { time: _t, source: _s, ...rest } = r;
  return JSON.parse(JSON.stringify(rest, (k, v) => k === "durationMs" ? undefined : v));
}

/** The human format (stderr) without times and durations. */
function comparableHuman(text: string): string {
  return text.replace(/^\S+ ADD /m, "<time> ADD ").replace(/\d+(\.\d+)? ms/g, "<n> ms");
}

/** The Event's fields that say what happened (not its name, times, counters or durations). */
function eventsOf(api: FakeApiServer, name: string): unknown[] {
  return api.events().filter((e) => JSON.stringify(e).includes(`"${name}"`)).map((e) => {
    const x = e as unknown as Record<string, unknown>;
    const obj = (x.involvedObject ?? x.regarding) as Record<string, unknown> | undefined;
    return {
      type: x.type,
      reason: x.reason,
      action: x.action,
      message: String(x.message ?? x.note).replace(/\d+(\.\d+)? ms/g, "<n> ms"),
      pod: obj ? [obj.kind, obj.namespace, obj.name, obj.uid] : undefined,
    };
  });
}

interface Seen {
  code: number;
  error: { code?: number; msg?: string } | null;
  routes: string;
  report: unknown;
  /** The human report: stderr when the plugin ran it and libcni shows it, else the daemon's record formatted. */
  human: string | undefined;
  events: unknown[];
}

/** Runs one case in every mode and returns what each mode produced, comparable across modes. */
async function runCase(w: World, base: string, annotation: string): Promise<Record<Mode, Seen>> {
  const out = {} as Record<Mode, Seen>;
  for (const mode of MODES) {
    const name = `${base}-${mode}`;
    w.api.setPod(makePod({
      namespace: "default",
      name,
      uid: `uid-${name}`,
      nodeName: NODE,
      annotations: { [ANNOTATION]: annotation },
    }));
    const { f, add, netns } = await addIn(w, name, mode);
    const ids = { containerId: "", netns, network: f.network };
    const reports = mode === "absent" ? [] : await (async () => {
      await waitFor(
        `the daemon's report of ${name}`,
        async () => (await daemonReports(w.daemon, name)).length > 0,
      );
      return await daemonReports(w.daemon, name);
    })();
    // The container id is the libcni driver's: read it back from the report (or stderr) to mask it.
    const human = add.stderr;
    const m = / ADD default\/\S+ container=(\S+) /.exec(human);
    ids.containerId = m?.[1] ?? reports[0]?.containerId ?? "<none>";
    if (mode !== "absent") {
      assertEquals(reports.length, 1, `${name}: one report at the daemon: ${JSON.stringify(reports)}`);
      const r = reports[0];
      assertEquals(r.pod, { namespace: "default", name, uid: `uid-${name}` });
      assertEquals(r.node, NODE);
      assertEquals(r.netns, netns);
    }
    const humanPart = human.slice(human.search(/^\S+ ADD default\//m));
    if (mode !== "daemon") {
      // libcni passes a plugin's stderr on only when it succeeds (a failure's stderr is dropped).
      if (add.code === 0) assert(m, `${name}: the plugin ran it, so stderr has the report:\n${add.stderr}`);
    } else {
      assert(!m, `${name}: the daemon ran it, the plugin printed no report:\n${add.stderr}`);
    }
    if (mode === "absent") {
      // The daemon posts an Event for a report it accepted (the plugin posts none, and it has exited): it holds
      // no report of this pod, so no Event can be on its way.
      assertEquals(await daemonReports(w.daemon, name), [], `${name}: the daemon has no report`);
    } else {
      await waitFor(`the Event of ${name}`, () => eventsOf(w.api, name).length > 0);
    }
    const mask = <T>(v: T): T =>
      JSON.parse(
        JSON.stringify(v).replaceAll(ids.containerId, "<ctr>").replaceAll(ids.netns, "<netns>")
          .replaceAll(ids.network, "<net>").replaceAll(name, "<pod>"),
      );
    out[mode] = mask({
      code: add.code,
      error: add.json?.code ? { code: add.json.code, msg: add.json.msg } : null,
      routes: (await f.ns.routes()).split("\n").filter((l) => l.includes("198.51.100.")).join("\n"),
      report: reports[0] ? comparable(reports[0]) : undefined,
      human: m
        ? comparableHuman(humanPart)
        : reports[0]
        ? comparableHuman(formatHuman(reports[0]))
        : undefined,
      events: eventsOf(w.api, name),
    });
    const del = await f.chain("del", { netns, env: { NODE_NAME: NODE } });
    assertEquals(del.code, 0, del.stdout + del.stderr);
  }
  return out;
}

/** Every mode agrees with the daemon's on outcome, report (human and JSON) and Event. */
function assertSame(seen: Record<Mode, Seen>): void {
  const ref = seen.daemon;
  for (const mode of MODES) {
    const s = seen[mode];
    assertEquals([s.code, s.error], [ref.code, ref.error], `${mode}: outcome`);
    assertEquals(s.routes, ref.routes, `${mode}: routes in the netns`);
    if (s.human !== undefined) assertEquals(s.human, ref.human, `${mode}: the human report`);
    else assert(mode === "absent" && s.code !== 0, `${mode}: a report was seen`);
    if (mode === "absent") {
      assertEquals(s.events, [], "no daemon: no Event");
      assertEquals(s.report, undefined);
    } else {
      assertEquals(s.report, ref.report, `${mode}: the report the daemon has`);
      assertEquals(s.events, ref.events, `${mode}: the Event`);
    }
  }
}

Deno.test({
  name:
    "ADD via the daemon and via the fallback (absent, declined by env, /proc, unpinned netns): same success",
  ...requireRoot(),
  async fn() {
    await using w = await world({});
    const seen = await runCase(w, "ok", OK);
    assertEquals(seen.daemon.code, 0);
    assertStringIncludes(seen.daemon.routes, "198.51.100.0/25 dev eth0");
    assertEquals(seen.daemon.routes.split("\n").length, 1, seen.daemon.routes);
    assertEquals((seen.daemon.report as Report).verdict, "applied");
    assertStringIncludes(JSON.stringify(seen.daemon.events), "Applied");
    assertSame(seen);
  },
});

Deno.test({
  name: "ADD via the daemon and via the fallback: a failing command is the same code 100 and message",
  ...requireRoot(),
  async fn() {
    await using w = await world({});
    const seen = await runCase(w, "fail", FAILING);
    assertEquals(seen.daemon.error?.code, 100, JSON.stringify(seen.daemon));
    assertStringIncludes(
      String(seen.daemon.error?.msg),
      'command "ip route del 10.99.0.99/32 dev CURRENT_INTERFACE" exited with code 2',
    );
    assertEquals(seen.daemon.routes, "", "the later command did not run");
    assertEquals((seen.daemon.report as Report).verdict, "failed");
    assertSame(seen);
  },
});

Deno.test({
  name: "ADD via the daemon and via the fallback: a rejected list is 101 and nothing ran",
  ...requireRoot(),
  async fn() {
    await using w = await world({});
    const seen = await runCase(w, "rej", REJECTED);
    assertEquals(seen.daemon.error?.code, 101, JSON.stringify(seen.daemon));
    assertStringIncludes(String(seen.daemon.error?.msg), '"ip netns exec x /bin/sh"');
    assertEquals(seen.daemon.routes, "", "one rejected command: none runs");
    const r = seen.daemon.report as Report;
    assertEquals([r.verdict, r.commands.length], ["rejected", 0]);
    assertSame(seen);
  },
});

Deno.test({
  name:
    "ADD via a daemon without API access: it declines, the plugin runs the ADD itself and hands over the report",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const api = await startFakeApiServer({
      pods: [
        makePod({
          namespace: "default",
          name: "p1",
          uid: "uid-1",
          nodeName: NODE,
          annotations: { [ANNOTATION]: OK },
        }),
      ],
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const { kubeconfig } = await apiScratch(cleanup, api);
    const d = await startBareDaemon(cleanup);
    const f = await fixture("avnoapi", { kubeconfig, daemonSocket: d.socket });
    cleanup.defer(() => f.cleanup.run(), "chain");
    const add = await f.chain("add", { env: { NODE_NAME: NODE } });
    assertEquals(add.code, 0, add.stdout + add.stderr);
    assertStringIncludes(add.stderr, " ADD default/p1 ", "the plugin ran it: its report is on stderr");
    assertStringIncludes(await f.ns.routes(), "198.51.100.0/25 dev eth0");
    await waitFor(
      "the plugin's report at the daemon",
      async () => (await daemonReports(d, "p1")).some((r) => r.verdict === "applied"),
    );
    assertEquals((await f.chain("del", { env: { NODE_NAME: NODE } })).code, 0);
  },
});

/** PIDs of processes whose command line mentions `needle` (the orphans of a killed daemon). */
async function pidsWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).replaceAll("\0", " ");
      if (cmd.includes(needle)) pids.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return pids;
}

Deno.test({
  name:
    "ADD via the daemon: the daemon SIGKILLed mid-ADD is code 11 naming it; the list ran once, never again here",
  ...requireRoot(),
  async fn() {
    const slow = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE", "ip monitor route"]';
    await using w = await world({ slow }, {
      allow: ["route add to=198.51.100.0/24 dev=@current", "monitor *"],
      limits: { commandTimeoutMs: 20_000 },
    });
    const f = await chainFor(w, "slow", "daemon");
    // The killed daemon's `ip monitor` outlives it: end it (only ours: it names this test's netns).
    w.cleanup.defer(async () => {
      for (const pid of await pidsWith(f.ns.path)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }, "orphaned ip monitor");
    const pending = f.chain("add", { env: { NODE_NAME: NODE } });
    await waitFor(
      "the daemon to have added the route and started the monitor",
      async () => (await f.ns.routes()).includes("198.51.100.0/25") && (await pidsWith(f.ns.path)).length > 0,
      15_000,
    );
    w.daemon.kill("SIGKILL");
    const add = await pending;
    assertEquals(add.code, 1, add.stdout + add.stderr);
    assertEquals(add.json?.code, 11, add.stdout);
    assertStringIncludes(String(add.json?.msg), `chainsaw daemon on ${w.daemon.socket}`);
    assertStringIncludes(String(add.json?.msg), "not run again here");
    assert(!/Running ip|Result:/.test(add.stderr), `the plugin ran nothing itself:\n${add.stderr}`);
    const routes = (await f.ns.routes()).split("\n").filter((l) => l.includes("198.51.100.0/25"));
    assertEquals(routes.length, 1, routes.join("\n"));
    // DEL still succeeds with the daemon gone.
    assertEquals((await f.chain("del", { env: { NODE_NAME: NODE } })).code, 0);
  },
});

Deno.test({
  name:
    "ADD via the daemon: a stopped daemon (SIGSTOP) that took the request is lost after the client's timeout",
  ...requireRoot(),
  async fn() {
    // The plugin's own wait (ADD_ANSWER_WAIT_MS, 60 s) has no seam in the process; the client it calls takes
    // the timeout as a parameter, and handlers_test.ts shows that a lost exchange is code 11, never run here.
    await using w = await world({ stopped: "ip route" });
    w.daemon.kill("SIGSTOP");
    try {
      const x = await requestAdd(w.daemon.socket, {
        env: {
          containerId: "ctr-stopped",
          netns: "/var/run/netns/cs-addvia-none",
          ifname: "eth0",
          args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=stopped;K8S_POD_UID=uid-stopped",
        },
        network: "addvia-net",
        cniVersion: "1.0.0",
        conf: {},
        pod: { namespace: "default", name: "stopped", uid: "uid-stopped" },
        runtimeAnnotations: null,
        podInterfaces: ["eth0"],
      }, 1500);
      assertEquals(x, { state: "lost", reason: "no answer within 1500 ms" });
    } finally {
      w.daemon.kill("SIGCONT");
    }
  },
});
