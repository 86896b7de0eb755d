/**
 * Trace context end to end (issue 12, section 3): the runtime's `TRACEPARENT` in the plugin's environment (set in
 * the libcni driver's environment, which every plugin of the chain inherits) reaches what an operator reads — the
 * daemon's stdout record, `chainsaw logs --json`, `chainsaw logs` (human, and `--trace ID`), the Event's message,
 * and, when the plugin runs the ADD itself (no daemon), the report on its stderr. Invalid values are ignored: the
 * ADD succeeds and no trace id shows up anywhere.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ANNOTATION, fixture, runtimeAnnotations } from "./support/chain_fixture.ts";
import { type FakeApiServer, type KubeEvent, makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, requireRoot } from "./support/netns.ts";
import { runChainsaw, scratchDir, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import type { Report } from "../src/report/report.ts";

const NODE = "node-trace";
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
/** Values a runtime could pass that are not a valid traceparent: each is ignored. */
const INVALID: Record<string, string>[] = [
  { TRACEPARENT: TRACEPARENT.toUpperCase(), TRACESTATE }, // upper-case hex
  { TRACEPARENT: `00-${"0".repeat(32)}-00f067aa0ba902b7-01` }, // all-zero trace id
  { TRACEPARENT: `ff-${TRACE_ID}-00f067aa0ba902b7-01` }, // version ff
  { TRACEPARENT: `not a traceparent\n${TRACE_ID}`, TRACESTATE: "\x1b[2J" },
];

function podEvents(api: FakeApiServer): KubeEvent[] {
  return api.events().filter((e) => (e.involvedObject as { name?: string })?.name === "p1");
}

/** Header lines of a human-format stream. */
function headers(text: string): string[] {
  return text.split("\n").filter((l) => /^\S+ (ADD|DEL|CHECK|REAPPLY) /.test(l));
}

Deno.test({
  name:
    "trace context: TRACEPARENT reaches the daemon's record, chainsaw logs and the Event; invalid ones nothing",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const api = await startFakeApiServer({
      pods: [makePod({
        namespace: "default",
        name: "p1",
        uid: "uid-1",
        nodeName: NODE,
        annotations: { [ANNOTATION]: '["ip route"]' },
      })],
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      args: ["--log-format", "json"],
    });
    const f = await fixture("trace", { kubeconfig, daemonSocket: d.socket });
    cleanup.defer(() => f.cleanup.run(), "chain");
    const addRecords = () =>
      d.stdout().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Report).filter((r) =>
        r.verb === "ADD"
      );

    // 1. A valid TRACEPARENT (and TRACESTATE) in the runtime's environment.
    const add = await f.chain("add", { env: { TRACEPARENT, TRACESTATE } });
    assertEquals(add.code, 0, add.stdout + add.stderr);
    await waitFor("the traced ADD record", () => addRecords().length === 1);
    assertEquals(addRecords()[0].traceId, TRACE_ID, d.stdout());
    assertEquals(addRecords()[0].verdict, "applied", d.stdout());
    await waitFor("the traced ADD's Event", () => podEvents(api).length === 1);
    const traced = String(podEvents(api)[0].message);
    assert(traced.endsWith(`\ntrace ${TRACE_ID}`), traced);
    assertEquals((await f.chain("del")).code, 0);

    // 2. Invalid values: each ADD succeeds, and carries no trace id.
    for (const [i, env] of INVALID.entries()) {
      const r = await f.chain("add", { env });
      assertEquals(r.code, 0, `${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
      await waitFor(`ADD record ${i + 2}`, () => addRecords().length === i + 2);
      const last = addRecords()[i + 1];
      assertEquals([last.verdict, "traceId" in last], ["applied", false], JSON.stringify(last));
      assertEquals((await f.chain("del")).code, 0);
    }
    // (host-local may give each ADD another address, so `ip route` prints differently: count over Events)
    const untraced = () => podEvents(api).filter((e) => String(e.message) !== traced);
    await waitFor(
      "the untraced ADDs' Events",
      () => untraced().reduce((n, e) => n + Number(e.count ?? 1), 0) === INVALID.length,
    );
    const messages = podEvents(api).map((e) => String(e.message));
    assertEquals(messages.filter((m) => m.includes("trace")), [traced], messages.join("\n---\n"));

    // 3. The daemon's stdout and the logs API: the trace id exactly once, on the traced ADD.
    assertEquals(d.stdout().split(TRACE_ID).length - 1, 1, d.stdout());
    const json = await runChainsaw(["logs", "--json", "--socket", d.socket]);
    assertEquals(json.code, 0, json.stderr);
    const served = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Report);
    assertEquals(served.filter((r) => r.verb === "ADD").map((r) => r.traceId), [
      TRACE_ID,
      ...INVALID.map(() => undefined),
    ]);
    const human = await runChainsaw(["logs", "--socket", d.socket]);
    assertEquals(human.code, 0, human.stderr);
    const adds = headers(human.stdout).filter((h) => / ADD /.test(h));
    assertEquals(adds.length, 1 + INVALID.length, human.stdout);
    assert(adds[0].endsWith(` network=${f.network} trace=${TRACE_ID}`), adds[0]);
    assertEquals(human.stdout.split("trace=").length - 1, 1, human.stdout);

    // 4. `chainsaw logs --trace ID`: only that trace's record (upper-case accepted); a bad id is a usage error.
    const one = await runChainsaw(["logs", "--trace", TRACE_ID.toUpperCase(), "--socket", d.socket]);
    assertEquals(one.code, 0, one.stderr);
    assertEquals(headers(one.stdout).length, 1, one.stdout);
    assert(headers(one.stdout)[0].endsWith(`trace=${TRACE_ID}`), one.stdout);
    const other = await runChainsaw([
      "logs",
      "--trace",
      "0af7651916cd43dd8448eb211c80319c",
      "--socket",
      d.socket,
    ]);
    assertEquals([other.code, other.stdout], [0, ""]);
    const bad = await runChainsaw(["logs", "--trace", "xyz", "--socket", d.socket]);
    assert(bad.code !== 0 && bad.stderr.includes("trace id"), bad.stderr);
  },
});

Deno.test({
  name:
    "trace context: with no daemon, the plugin's stderr report carries the trace id; an invalid one nothing",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const tmp = await scratchDir();
    cleanup.defer(tmp.remove, "scratch dir");
    const f = await fixture("tracep", {
      capabilities: { "io.kubernetes.cri.pod-annotations": true },
      daemonSocket: `${tmp.path}/absent.sock`,
    });
    cleanup.defer(() => f.cleanup.run(), "chain");
    const cap = runtimeAnnotations('["ip route"]');

    const add = await f.chain("add", { cap, env: { TRACEPARENT, TRACESTATE } });
    assertEquals(add.code, 0, add.stdout + add.stderr);
    const [header] = headers(add.stderr);
    assert(header?.endsWith(` network=${f.network} trace=${TRACE_ID}`), add.stderr);
    assert(add.stderr.includes("Result: applied"), add.stderr);
    assertEquals((await f.chain("del", { cap })).code, 0);

    for (const env of INVALID) {
      const r = await f.chain("add", { cap, env });
      assertEquals(r.code, 0, `${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
      assert(r.stderr.includes("Result: applied"), r.stderr);
      assert(!r.stderr.includes("trace=") && !r.stderr.includes(TRACE_ID), r.stderr);
      assertEquals((await f.chain("del", { cap })).code, 0);
    }
  },
});
