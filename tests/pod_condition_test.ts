/**
 * The pod condition `chainsaw.cni.cncf.io/applied` end to end: the real daemon (the bundle under its shipped
 * permission flags) against the fake API server (real watch streams, status PATCH with strategic merge), the real
 * plugin in real chains (bridge + chainsaw, libcni) in real network namespaces.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION, type Fixture, fixture, POD_ARGS, runtimeAnnotations } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, requireRoot } from "./support/netns.ts";
import {
  apiDaemonArgs,
  apiScratch,
  type Daemon,
  healthGet,
  startDaemon,
  waitFor,
  waitReady,
} from "./daemon_harness.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";
import { APPLIED_CONDITION } from "../src/kube/pod_status.ts";
import { podWatchBarrier } from "./support/watch_barrier.ts";

const NODE = "node-cond";
const TWO = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';
const TWO_MORE = '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip route"]';
const ONE = '["ip route add 198.51.100.128/25 dev CURRENT_INTERFACE"]';
const FAILING = '["ip route del 192.0.3.99/32 dev CURRENT_INTERFACE"]';
const REJECTED = '["ip netns exec x /bin/sh"]';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** A pod of this test's node; gated unless `gated` is false. */
function pod(
  annotation: string | undefined,
  over: { name?: string; uid?: string; gated?: boolean; conditions?: Condition[] } = {},
): Pod {
  const p = makePod({
    namespace: "default",
    name: over.name ?? "p1",
    uid: over.uid ?? "uid-1",
    nodeName: NODE,
    annotations: annotation === undefined ? {} : { [ANNOTATION]: annotation },
  });
  if (over.gated !== false) p.spec.readinessGates = [{ conditionType: APPLIED_CONDITION }];
  // The kubelet's own condition, which chainsaw's patch must leave alone.
  p.status.conditions = over.conditions ??
    [{ type: "Ready", status: "False", reason: "ReadinessGatesNotReady", lastTransitionTime: null }];
  return p;
}

/** Replaces the pod's annotation on the fake API server, keeping its status. */
function setAnnotation(api: FakeApiServer, value: string, name = "p1"): void {
  const p = api.pods().find((x) => x.metadata.name === name)!;
  p.metadata.annotations = { ...p.metadata.annotations, [ANNOTATION]: value };
  api.setPod(p);
}

function conditionOf(api: FakeApiServer, name = "p1"): Condition | undefined {
  const p = api.pods().find((x) => x.metadata.name === name);
  return (p?.status.conditions as Condition[] | undefined)?.find((c) => c.type === APPLIED_CONDITION);
}

function patchesOf(api: FakeApiServer, name = "p1") {
  return api.statusPatches().filter((r) => r.path === `/api/v1/namespaces/default/pods/${name}/status`);
}

async function waitForCondition(
  api: FakeApiServer,
  status: string,
  reason: string,
  name = "p1",
): Promise<Condition> {
  await waitFor(
    `condition ${status}/${reason} on ${name} (now ${JSON.stringify(conditionOf(api, name))})`,
    () => conditionOf(api, name)?.status === status && conditionOf(api, name)?.reason === reason,
  );
  return conditionOf(api, name)!;
}

async function metric(d: Daemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue((await healthGet(d, "/metrics")).text, name, labels) ?? 0;
}

function reapplies(d: Daemon): number {
  return d.stdout().split("\n").filter((l) => l.includes(" REAPPLY default/p1 ")).length;
}

/** The fake API server, a scratch dir and the daemon (restartable), cleaned up on dispose. */
interface World extends AsyncDisposable {
  api: FakeApiServer;
  kubeconfig: string;
  socket: string;
  cleanup: Cleanup;
  start(args?: string[]): Promise<Daemon>;
  /** A chain for `podArgs`' pod; its `onError` is "fail" unless given. */
  chain(tag: string, podArgs?: Record<string, string>, onError?: string): Promise<Fixture>;
}

async function world(pods: Pod[]): Promise<World> {
  const cleanup = new Cleanup();
  try {
    const api = await startFakeApiServer({ pods, bookmarkIntervalMs: 200 });
    cleanup.defer(() => api.close(), "fake apiserver");
    const tmp = await apiScratch(cleanup, api);
    const kubeconfig = tmp.kubeconfig;
    let current: Daemon | undefined;
    cleanup.defer(() => current?.stop(), "daemon");
    const socket = `${tmp.path}/sock/chainsaw.sock`;
    return {
      [Symbol.asyncDispose]: async () => void await cleanup.run(),
      api,
      kubeconfig,
      socket,
      cleanup,
      async start(args = []) {
        if (current) assertEquals((await current.stop()).code, 0, current.stderr());
        current = undefined;
        const d = await startDaemon(tmp.path, apiDaemonArgs(kubeconfig, NODE, args));
        current = d;
        await waitReady(d);
        return d;
      },
      async chain(tag, podArgs, onError = "fail") {
        const f = await fixture(
          tag,
          {
            kubeconfig,
            daemonSocket: socket,
            capabilities: { "io.kubernetes.cri.pod-annotations": true },
            // A failing list stops where it failed (False/Failed); the default "rollback" writes
            // False/RolledBack instead.
            onError,
          },
          "1.0.0",
          podArgs,
        );
        cleanup.defer(() => f.cleanup.run(), `chain ${tag}`);
        return f;
      },
    };
  } catch (e) {
    await cleanup.run();
    throw e;
  }
}

Deno.test({
  name:
    "pod condition: a gated pod is True/Applied after ADD; re-applies flip it and only then move lastTransitionTime",
  ...requireRoot(),
  async fn() {
    await using w = await world([pod(TWO)]);
    const d = await w.start();
    const f = await w.chain("pcok");

    const add = await f.chain("add");
    assertEquals(add.code, 0, add.stdout + add.stderr);
    const first = await waitForCondition(w.api, "True", "Applied");
    assertEquals(first.message, "2 commands applied on eth0");
    const [patch] = patchesOf(w.api);
    assertEquals(patch.contentType, "application/strategic-merge-patch+json");
    assertEquals((patch.body as { metadata: unknown }).metadata, { uid: "uid-1" });
    const conditions = w.api.pods()[0].status.conditions as Condition[];
    assertEquals(conditions.map((c) => [c.type, c.status]), [["Ready", "False"], [
      APPLIED_CONDITION,
      "True",
    ]]);
    // The log line follows the write the API server already shows.
    await waitFor(
      "the daemon's log line",
      () => d.stderr().includes(`pod default/p1: condition ${APPLIED_CONDITION}=True (Applied)`),
    );

    // Pretend it turned True long ago, to see which writes keep the time.
    const aged = w.api.pods()[0];
    const old = "2020-01-01T00:00:00Z";
    (aged.status.conditions as Condition[])[1].lastTransitionTime = old;
    w.api.setPod(aged);

    // A re-apply with the same outcome (two commands applied): no PATCH (counted after the next write: a pod's
    // writes run in order, so one for this outcome would have come before it).
    setAnnotation(w.api, TWO_MORE);
    await waitFor("the REAPPLY report", () => reapplies(d) === 1);
    await waitFor("its Event", () => w.api.events().some((e) => e.action === "REAPPLY"));

    // Still True, another message: written, the transition time kept.
    setAnnotation(w.api, ONE);
    await waitFor("the new message", () => conditionOf(w.api)?.message === "1 command applied on eth0");
    assertEquals(
      patchesOf(w.api).length,
      2,
      "the same outcome wrote nothing: only the new message was written",
    );
    assertEquals(conditionOf(w.api)?.lastTransitionTime, old);

    // A failing re-apply: False/Failed naming the command, a new transition time.
    setAnnotation(w.api, FAILING);
    const failed = await waitForCondition(w.api, "False", "Failed");
    assertStringIncludes(
      failed.message!,
      'eth0: "ip route del 192.0.3.99/32 dev CURRENT_INTERFACE" failed: exit 2',
    );
    assert(failed.lastTransitionTime !== old, "the status changed: so did the time");

    // A rejected one: False/Rejected; still False, so the time stays.
    setAnnotation(w.api, REJECTED);
    const rejected = await waitForCondition(w.api, "False", "Rejected");
    assertStringIncludes(rejected.message!, "ip netns exec x /bin/sh");
    assertEquals(rejected.lastTransitionTime, failed.lastTransitionTime);

    // Fixed: True again.
    setAnnotation(w.api, '["ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE"]');
    await waitForCondition(w.api, "True", "Applied");
    // The server has the write before the daemon has read its answer (and counted it): wait for the count.
    const written = () => metric(d, "chainsaw_pod_condition_writes_total", { result: "written" });
    await waitFor("the daemon to count its last write", async () => (await written()) >= 5);
    assertEquals([await written(), patchesOf(w.api).length], [5, 5]);
    assertEquals((await f.chain("del")).code, 0);
  },
});

Deno.test({
  name: "pod condition: a failing ADD is False/Failed naming the command, a rejected ADD False/Rejected",
  ...requireRoot(),
  async fn() {
    await using w = await world([pod(FAILING)]);
    await w.start();
    const f = await w.chain("pcfl");
    const add = await f.chain("add");
    assertEquals(add.json?.code, 100, add.stdout);
    const failed = await waitForCondition(w.api, "False", "Failed");
    assertStringIncludes(
      failed.message!,
      '"ip route del 192.0.3.99/32 dev CURRENT_INTERFACE" failed: exit 2',
    );
    assertStringIncludes(failed.message!, "RTNETLINK answers");
    assertEquals((await f.chain("del")).code, 0);

    // The runtime passes the new annotation (so the plugin does not depend on the cache having caught up).
    setAnnotation(w.api, REJECTED);
    const again = await f.chain("add", { cap: runtimeAnnotations(REJECTED) });
    assertEquals(again.json?.code, 101, again.stdout);
    const rejected = await waitForCondition(w.api, "False", "Rejected");
    assertStringIncludes(rejected.message!, '"ip netns exec x /bin/sh"');
    assertEquals(rejected.lastTransitionTime, failed.lastTransitionTime, "still False: the time stays");
    assertEquals((await f.chain("del")).code, 0);
  },
});

Deno.test({
  name:
    "pod condition: a failing ADD under the default onError is False/RolledBack; its DEL forgets the outcome",
  ...requireRoot(),
  async fn() {
    await using w = await world([pod(FAILING)]);
    const d = await w.start();
    const f = await w.chain("pcrb", undefined, "rollback");
    const add = await f.chain("add");
    assertEquals(add.json?.code, 100, add.stdout);
    const rolled = await waitForCondition(w.api, "False", "RolledBack");
    assertStringIncludes(
      rolled.message!,
      'eth0: rolled back: "ip route del 192.0.3.99/32 dev CURRENT_INTERFACE" failed: exit 2',
    );
    assertEquals((await f.chain("del")).code, 0);
    await waitFor("the DEL's forget", async () => (await metric(d, "chainsaw_attachments")) === 0);

    // The attachment's outcome left with it: a status without the condition is not written again (a kept
    // RolledBack outcome would be).
    const writes = patchesOf(w.api).length;
    const cleared = w.api.pods()[0];
    cleared.status.conditions = (cleared.status.conditions as Condition[]).filter((c) =>
      c.type !== APPLIED_CONDITION
    );
    w.api.setPod(cleared);
    // Once the daemon has taken the update in, stopping it lets a write it started finish: then nothing is left.
    await podWatchBarrier(w.api, w.socket, NODE);
    assertEquals((await d.stop()).code, 0, d.stderr());
    assertEquals(patchesOf(w.api).length, writes, "no outcome left: nothing to write");
    assertEquals(conditionOf(w.api), undefined);
  },
});

Deno.test({
  name:
    "pod condition: no PATCH for a pod without the gate; a gated pod without annotation is True/NoCommands; --pod-condition=all",
  ...requireRoot(),
  async fn() {
    await using w = await world([
      pod(TWO, { gated: false, conditions: [] }),
      pod(undefined, { name: "p2", uid: "uid-2" }),
    ]);
    let d = await w.start();
    // The gated pod without the annotation: from the watch alone, before any ADD.
    const none = await waitForCondition(w.api, "True", "NoCommands", "p2");
    assertEquals(none.message, "the pod has no chainsaw annotation");

    const f1 = await w.chain("pcng");
    assertEquals((await f1.chain("add")).code, 0);
    const f2 = await w.chain("pcn2", { ...POD_ARGS, K8S_POD_NAME: "p2", K8S_POD_UID: "uid-2" });
    assertEquals((await f2.chain("add")).code, 0);
    await waitFor(
      "p1's Event and p2's report",
      () =>
        w.api.events().some((e) => (e.involvedObject as { name: string }).name === "p1") &&
        d.stdout().includes(" ADD default/p2 "),
    );
    // Both reports are in: stopping the daemon lets a write they started finish.
    assertEquals((await d.stop()).code, 0, d.stderr());
    assertEquals(patchesOf(w.api, "p1").length, 0, "the pod without the gate: no status PATCH at all");
    assertEquals(patchesOf(w.api, "p2").length, 1, "p2's ADD had nothing to run: nothing new to write");
    assertEquals(conditionOf(w.api, "p1"), undefined);

    // --pod-condition=all: the same pod's next ADD sets it.
    d = await w.start(["--pod-condition", "all"]);
    assertEquals((await f1.chain("del")).code, 0);
    assertEquals((await f1.chain("add")).code, 0);
    await waitForCondition(w.api, "True", "Applied");
    await waitFor("the log line", () => d.stderr().includes("on for every pod of this node"));

    // --pod-condition=off: nothing, whatever happens.
    d = await w.start(["--pod-condition", "off"]);
    const before = w.api.statusPatches().length;
    setAnnotation(w.api, FAILING);
    setAnnotation(w.api, FAILING, "p2"); // p2 declares the gate: in mode gated this would be written
    await waitFor(
      "both REAPPLY reports",
      () => reapplies(d) === 1 && d.stdout().includes(" REAPPLY default/p2 "),
    );
    assertEquals((await f1.chain("del")).code, 0);
    assertEquals((await f2.chain("del")).code, 0);
    // Stopping the daemon lets a write it started finish.
    assertEquals((await d.stop()).code, 0, d.stderr());
    assertEquals(w.api.statusPatches().length, before);
  },
});

Deno.test({
  name: "pod condition: 500s are retried, a 404 stops; both are logged and counted and never fail the pod",
  ...requireRoot(),
  async fn() {
    await using w = await world([pod(TWO)]);
    const status = /\/pods\/[^/]+\/status$/;
    w.api.failNext(500, 2, { method: "PATCH", path: status });
    const d = await w.start();
    const f = await w.chain("pcer");
    const add = await f.chain("add");
    assertEquals(add.code, 0, "the ADD does not wait for or depend on the condition");
    await waitForCondition(w.api, "True", "Applied");
    assertEquals(patchesOf(w.api).map((r) => r.status), [500, 500, 200]);
    assertEquals(await metric(d, "chainsaw_pod_condition_retries_total"), 2);
    // The server has the write before the daemon has read its answer (and counted it): wait for the count.
    const written = () => metric(d, "chainsaw_pod_condition_writes_total", { result: "written" });
    await waitFor("the daemon to count the write", async () => (await written()) >= 1);
    assertEquals(await written(), 1);
    await waitFor("the log line", () => d.stderr().includes("retrying in"));

    // A 404 (the pod is gone as far as the server is concerned): one attempt, counted, no retry.
    w.api.failNext(404, 1, { method: "PATCH", path: status });
    setAnnotation(w.api, FAILING);
    await waitFor(
      "the gone write to be counted",
      async () => (await metric(d, "chainsaw_pod_condition_writes_total", { result: "gone" })) === 1,
    );
    // The log line follows the write the API server already shows.
    await waitFor("the daemon's log line", () => d.stderr().includes("not written: the pod is gone"));
    assertEquals(conditionOf(w.api)?.status, "True", "the server's condition is untouched");

    // Refused (403): logged and counted as failed, the daemon carries on.
    w.api.forbid("/api/v1/namespaces/default/pods/p1/status");
    setAnnotation(w.api, REJECTED);
    await waitFor(
      "the failed write to be counted",
      async () => (await metric(d, "chainsaw_pod_condition_writes_total", { result: "failed" })) >= 1,
    );
    // The log line follows the write the API server already shows.
    await waitFor("the daemon's log line", () => d.stderr().includes('cannot patch resource "pods/status"'));
    // The 404 was not retried: counted `gone` (that round ends there) and followed only by the refused writes of
    // the later edit (the annotation update's and the REAPPLY's: one or two, as their rounds meet).
    const statuses = patchesOf(w.api).map((r) => r.status);
    assertEquals(statuses.slice(0, 4), [500, 500, 200, 404]);
    assert(statuses.length > 4 && statuses.slice(4).every((s) => s === 403), JSON.stringify(statuses));
    assertEquals((await healthGet(d, "/healthz")).status, 200);
    assertEquals((await f.chain("del")).code, 0);
  },
});
