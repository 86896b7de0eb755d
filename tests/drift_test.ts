/**
 * Drift and CNI CHECK end to end (issue 17 §4–5): real chains (bridge + host-local, chainsaw; libcni's ADD and
 * CHECK), the real daemon (the bundle under its shipped permission flags) with its drift checks, and the fake API
 * server with watch streams (Events, the pod condition). A route chainsaw added is deleted by hand: in report mode
 * that is an Event, a metric and the condition until it holds again; in heal mode the route comes back; CHECK
 * fails with 103 while it is gone and passes once it is back.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION, type Fixture, fixture } from "./support/chain_fixture.ts";
import {
  type FakeApiServer,
  type KubeEvent,
  makePod,
  type Pod,
  startFakeApiServer,
} from "./support/fake_apiserver.ts";
import { Cleanup, IP, type Netns, requireRoot } from "./support/netns.ts";
import {
  apiDaemonArgs,
  apiScratch,
  type Daemon,
  healthGet,
  runChainsaw,
  startDaemon,
  waitFor,
  waitReady,
} from "./daemon_harness.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";
import { APPLIED_CONDITION } from "../src/kube/pod_status.ts";

const NODE = "node-drift";
const R1 = "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE";

/** The pod, gated on chainsaw's condition (so the daemon writes it). */
function pod(annotation: string): Pod {
  const p = makePod({
    namespace: "default",
    name: "p1",
    uid: "uid-1",
    nodeName: NODE,
    annotations: { [ANNOTATION]: annotation },
  });
  (p.spec as Record<string, unknown>).readinessGates = [{ conditionType: APPLIED_CONDITION }];
  return p;
}

interface World extends AsyncDisposable {
  api: FakeApiServer;
  cleanup: Cleanup;
  stateFile: string;
  daemon(): Daemon;
  /** Starts the daemon (stopping a running one) with these drift check seconds. */
  start(driftSeconds: number): Promise<Daemon>;
  /** Stops the daemon. */
  stop(): Promise<void>;
  chain(tag: string, keys?: Record<string, unknown>): Promise<Fixture>;
}

async function world(value: string): Promise<World> {
  const cleanup = new Cleanup();
  const api = await startFakeApiServer({ pods: [pod(value)], bookmarkIntervalMs: 200 });
  cleanup.defer(() => api.close(), "fake apiserver");
  const tmp = await apiScratch(cleanup, api);
  let current: Daemon | undefined;
  cleanup.defer(() => current?.stop(), "daemon");
  const stop = async () => {
    const d = current;
    current = undefined;
    if (d) assertEquals((await d.stop()).code, 0, d.stderr());
  };
  return {
    [Symbol.asyncDispose]: async () => void await cleanup.run(),
    api,
    cleanup,
    stateFile: `${tmp.path}/state/attachments.json`,
    daemon: () => current!,
    stop,
    async start(driftSeconds) {
      await stop();
      current = await startDaemon(
        tmp.path,
        apiDaemonArgs(tmp.kubeconfig, NODE, ["--drift-check-seconds", String(driftSeconds)]),
      );
      await waitReady(current);
      return current;
    },
    async chain(tag, keys = {}) {
      const f = await fixture(tag, {
        kubeconfig: tmp.kubeconfig,
        daemonSocket: `${tmp.path}/sock/chainsaw.sock`,
        ...keys,
      });
      cleanup.defer(() => f.cleanup.run(), "chain");
      return f;
    },
  };
}

async function ip(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function metric(d: Daemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue((await healthGet(d, "/metrics")).text, name, labels) ?? 0;
}

function events(api: FakeApiServer, reason: string): KubeEvent[] {
  return api.events().filter((e) => e.reason === reason);
}

/** The pod's chainsaw condition as the fake API server has it. */
function condition(api: FakeApiServer): { status?: string; reason?: string; message?: string } | undefined {
  const p = api.pods().find((x) => x.metadata.name === "p1");
  const conditions = (p?.status.conditions ?? []) as Array<Record<string, string>>;
  return conditions.find((c) => c.type === APPLIED_CONDITION);
}

async function owned(w: World): Promise<number> {
  const [a] = JSON.parse(await Deno.readTextFile(w.stateFile)).attachments;
  return a?.effect?.items?.length ?? 0;
}

/** ADD through libcni, then wait for the effect in the state file. */
async function added(w: World, f: Fixture): Promise<void> {
  const add = await f.chain("add");
  assertEquals(add.code, 0, add.stdout + add.stderr);
  await waitFor("the ADD's effect in the state file", async () => (await owned(w).catch(() => 0)) === 1);
}

Deno.test({
  name:
    "drift (report): a deleted route is an Event, a metric and False/Drifted; CHECK fails 103; all clear when back",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1]));
    const d = await w.start(0.3);
    const f = await w.chain("h2dr");
    await added(w, f);
    await waitFor("the condition True/Applied", () => condition(w.api)?.reason === "Applied");
    const check = await f.chain("check");
    assertEquals(check.code, 0, `CHECK passes while the effect holds: ${check.stdout}${check.stderr}`);
    await waitFor(
      "a drift check that found it holding",
      async () => await metric(d, "chainsaw_drift_checks_total", { result: "holds" }) >= 1,
    );
    assertEquals(events(w.api, "ChainsawDrifted").length, 0);

    await ip(f.ns, "route", "del", "192.0.3.0/24");
    await waitFor("the ChainsawDrifted Event", () => events(w.api, "ChainsawDrifted").length === 1);
    const ev = events(w.api, "ChainsawDrifted")[0];
    assertEquals([ev.type, ev.action], ["Warning", "DRIFT"]);
    assertStringIncludes(String(ev.message), "eth0 (network ");
    assertStringIncludes(
      String(ev.message),
      "what chainsaw set no longer holds: route v4 main 192.0.3.0/24: gone",
    );
    assertEquals(await metric(d, "chainsaw_drift_total", { action: "reported" }), 1);
    assertEquals(await metric(d, "chainsaw_drifted_attachments"), 1);
    await waitFor("the condition False/Drifted", () => condition(w.api)?.reason === "Drifted");
    assertEquals(condition(w.api)?.status, "False");
    assertStringIncludes(
      String(condition(w.api)?.message),
      "eth0: drifted: route v4 main 192.0.3.0/24: gone",
    );
    await waitFor("the log line", () => d.stderr().includes("drifted: route v4 main 192.0.3.0/24: gone"));

    // explain (and --json) shows each owned object with its baseline, chainsaw's value and what it is now.
    const explain = (...a: string[]) =>
      runChainsaw(["explain", "--socket", d.socket, "--pod", "default/p1", ...a]);
    const json = await explain("--json");
    assertEquals(json.code, 0, json.stderr);
    const effect = JSON.parse(json.stdout).attachments[0].effect;
    assertEquals([effect.mode, effect.drift, effect.holds], ["declarative", "report", false]);
    assertEquals(effect.items.map((i: Record<string, unknown>) => [i.object, i.base, i.holds, i.now]), [
      ["route v4 main 192.0.3.0/24", "absent", false, "absent"],
    ]);
    assertStringIncludes((await explain()).stdout, "owns: 1 object (declarative, drift report): 1 DRIFTED");

    const failed = await f.chain("check");
    assertEquals(failed.code, 1, failed.stdout);
    assertEquals(failed.json?.code, 103, failed.stdout);
    assertStringIncludes(
      String(failed.json?.msg),
      "what chainsaw set on eth0 of pod default/p1 no longer holds: route v4 main 192.0.3.0/24: gone",
    );
    // Checked again and again: told once (counted once the daemon has stopped: its Events are flushed then).
    const checks = await metric(d, "chainsaw_drift_checks_total", { result: "drifted" });
    await waitFor(
      "two more checks",
      async () => await metric(d, "chainsaw_drift_checks_total", { result: "drifted" }) >= checks + 2,
    );

    // Put back by hand: the drift is over.
    await ip(f.ns, "route", "add", "192.0.3.0/24", "dev", "eth0");
    await waitFor("the condition True/Applied again", () => condition(w.api)?.reason === "Applied");
    assertEquals(await metric(d, "chainsaw_drifted_attachments"), 0);
    // The log line travels on another pipe than the condition's write: wait for it too.
    await waitFor("the log line", () => d.stderr().includes("drift over: holds again"));
    assertStringIncludes((await explain()).stdout, "owns: 1 object (declarative, drift report): all hold");
    const ok = await f.chain("check");
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertEquals(await metric(d, "chainsaw_drift_total", { action: "reported" }), 1);
    assertEquals(await metric(d, "chainsaw_drift_total", { action: "healed" }), 0, "report mode never heals");
    assert(!(await f.ns.routes()).includes("198.51.100"), "nothing else was run");
    await w.stop(); // the daemon's Events are flushed first
    assertEquals(events(w.api, "ChainsawDrifted").map((e) => e.count), [1], "one drift, told once");
  },
});

Deno.test({
  name: "drift (report): an edit of the annotation clears a reported drift",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1]));
    const d = await w.start(0.3);
    const f = await w.chain("h2de");
    await added(w, f);
    await ip(f.ns, "route", "del", "192.0.3.0/24");
    await waitFor("the drift reported", async () => await metric(d, "chainsaw_drifted_attachments") === 1);
    w.api.setPod(pod(JSON.stringify(["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"])));
    await waitFor("the edit applied", async () => (await f.ns.routes()).includes("198.51.100.0/24 dev eth0"));
    await waitFor("the drift cleared", async () => await metric(d, "chainsaw_drifted_attachments") === 0);
    await waitFor("the log line", () => d.stderr().includes("drift over: re-applied"));
    await waitFor("the condition True/Applied", () => condition(w.api)?.reason === "Applied");
    assertEquals((await f.chain("check")).code, 0, "the new value's effect holds");
  },
});

Deno.test({
  name:
    "drift (heal): CHECK fails with 103 while a route chainsaw added is gone; the heal puts it back; CHECK passes",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1]));
    // A long interval: the first round checks at start, the next is an hour away — nothing heals yet.
    await w.start(3600);
    const f = await w.chain("h2dh", { drift: "heal" });
    await added(w, f);
    await ip(f.ns, "route", "del", "192.0.3.0/24");
    const failed = await f.chain("check");
    assertEquals(failed.json?.code, 103, failed.stdout + failed.stderr);
    assertStringIncludes(String(failed.json?.details), "route v4 main 192.0.3.0/24: gone");
    assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "CHECK changed nothing");
    // With the daemon down the plugin cannot tell: CHECK passes (it does not guess).
    await w.stop();
    const unknown = await f.chain("check");
    assertEquals(unknown.code, 0, `CHECK without a daemon passes: ${unknown.stdout}${unknown.stderr}`);

    // A daemon checking often heals it (the effect survived the restart in the state file).
    const d = await w.start(0.3);
    await waitFor("the route back", async () => (await f.ns.routes()).includes("192.0.3.0/24 dev eth0"))
      .catch(
        (e) => {
          throw new Error(`${e}\n${d.stderr()}\n${Deno.readTextFileSync(w.stateFile)}`);
        },
      );
    await waitFor("the ChainsawHealed Event", () => events(w.api, "ChainsawHealed").length === 1);
    const ev = events(w.api, "ChainsawHealed")[0];
    assertEquals([ev.type, ev.action], ["Normal", "DRIFT"]);
    assertStringIncludes(
      String(ev.message),
      "set back to chainsaw's values: route v4 main 192.0.3.0/24: gone",
    );
    assertEquals(await metric(d, "chainsaw_drift_total", { action: "healed" }), 1);
    assertEquals(await metric(d, "chainsaw_drifted_attachments"), 0, "heal mode keeps nothing drifted");
    assertEquals(events(w.api, "ChainsawDrifted").length, 0);
    const ok = await f.chain("check");
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
  },
});
