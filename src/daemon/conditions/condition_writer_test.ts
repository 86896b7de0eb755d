/** The condition writer against a scripted client and a real pod cache: which pods, when it writes, errors. */
import { assertEquals, assertMatch } from "../../../tests/support/assert.ts";
import { makePod } from "../../../tests/support/fake_apiserver.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import { KubeApiError, type Pod, PodSchema } from "../../kube/client.ts";
import { PodCache } from "../pods/pod_cache.ts";
import { APPLIED_CONDITION } from "../../kube/pod_status.ts";
import { type ConditionMode, ConditionWriter } from "./condition_writer.ts";
import type { AttachmentOutcome } from "./wanted_condition.ts";

interface Call {
  namespace: string;
  name: string;
  patch: Record<string, unknown>;
}

function pod(
  opts: { name?: string; uid?: string; gated?: boolean; annotation?: string; hostNetwork?: boolean },
) {
  const p = makePod({
    namespace: "ns",
    name: opts.name ?? "p1",
    uid: opts.uid ?? "u1",
    nodeName: "node-a",
    annotations: opts.annotation === undefined ? {} : { [ANNOTATION]: opts.annotation },
  });
  if (opts.gated) p.spec.readinessGates = [{ conditionType: APPLIED_CONDITION }];
  if (opts.hostNetwork) p.spec.hostNetwork = true;
  p.metadata.resourceVersion = "10";
  return PodSchema.parse(p);
}

const applied: AttachmentOutcome = {
  containerId: "c1",
  ifname: "eth0",
  network: "n",
  result: "applied",
  commands: 2,
};

/** A writer whose client answers from `answers` (an error to throw, or undefined to succeed). */
function setup(mode: Exclude<ConditionMode, "off">, answers: Array<Error | undefined> = []) {
  const cache = new PodCache();
  const calls: Call[] = [];
  const delays: number[] = [];
  const logs: string[] = [];
  let rv = 1000; // the server's revisions are past every one the test's pods carry
  const writer = new ConditionWriter({
    client: {
      patchPodStatus: (namespace, name, patch) => {
        calls.push({ namespace, name, patch });
        const a = answers.shift();
        if (a) return Promise.reject(a);
        const current = cache.get(namespace, name)!;
        const p: Pod = {
          metadata: { name, namespace, uid: current.uid, resourceVersion: String(++rv) },
          status: (patch as { status: Pod["status"] }).status,
        };
        return Promise.resolve(p);
      },
    },
    cache,
    mode,
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    now: () => new Date("2026-01-01T00:00:00Z"),
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  cache.onUpdate((p) => writer.observe(p));
  return { cache, calls, delays, logs, writer };
}

Deno.test("condition writer: a gated pod gets True/Applied once; the watch's echo writes nothing more", async () => {
  const { cache, calls, writer } = setup("gated");
  const p = pod({ gated: true, annotation: '["ip r"]' });
  cache.apply("ADDED", p);
  await writer.idle();
  assertEquals(calls.length, 0, "annotated, no outcome yet: nothing to say");
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied);
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied); // coalesced
  await writer.idle();
  assertEquals(calls.length, 1);
  assertEquals(calls[0].patch, {
    metadata: { uid: "u1" },
    status: {
      conditions: [{
        type: APPLIED_CONDITION,
        status: "True",
        reason: "Applied",
        message: "2 commands applied on eth0",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    },
  });
  // The same outcome again before the watch has caught up: what was written counts.
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied);
  await writer.idle();
  assertEquals(calls.length, 1);
  // The watch delivers the written condition, then an unrelated change: no write.
  const echoed = structuredClone(p);
  echoed.metadata.resourceVersion = "11"; // (the test pretends the echo carries an older revision)
  echoed.status = {
    ...echoed.status,
    conditions: (calls[0].patch.status as { conditions: unknown[] }).conditions,
  };
  cache.apply("MODIFIED", echoed);
  const touched = structuredClone(echoed);
  touched.metadata.resourceVersion = "12";
  touched.metadata.labels = { a: "b" };
  cache.apply("MODIFIED", touched);
  await writer.idle();
  assertEquals(calls.length, 1);
  assertEquals(writer.counters, { written: 1, gone: 0, failed: 0, retries: 0 });

  // A failing re-apply flips it; a new sandbox's outcome replaces the old sandbox's.
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, {
    ...applied,
    result: "failed",
    detail: '"ip route add x" failed: exit 2',
  });
  await writer.idle();
  assertEquals(calls.length, 2);
  assertMatch(
    JSON.stringify(calls[1].patch),
    /"status":"False","reason":"Failed","message":"eth0: \\"ip route add x/,
  );
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, { ...applied, containerId: "c2" });
  await writer.idle();
  assertEquals(calls.length, 3);
  assertMatch(JSON.stringify(calls[2].patch), /"status":"True","reason":"Applied"/);
});

Deno.test("condition writer: gated mode skips other pods; all mode writes them, never hostNetwork ones", async () => {
  const gated = setup("gated");
  gated.cache.apply("ADDED", pod({ annotation: '["ip r"]' }));
  gated.cache.apply("ADDED", pod({ name: "bare", uid: "u2" }));
  gated.writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied);
  await gated.writer.idle();
  assertEquals(gated.calls.length, 0);

  const all = setup("all");
  all.cache.apply("ADDED", pod({ annotation: '["ip r"]' }));
  all.cache.apply("ADDED", pod({ name: "host", uid: "u3", hostNetwork: true }));
  all.cache.apply("ADDED", pod({ name: "bare", uid: "u2" }));
  all.writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied);
  await all.writer.idle();
  assertEquals(all.calls.map((c) => c.name).sort(), ["bare", "p1"]);
  const bare = all.calls.find((c) => c.name === "bare")!;
  assertMatch(JSON.stringify(bare.patch), /"reason":"NoCommands"/);

  // Terminating pods are left alone.
  const term = pod({ name: "t", uid: "u4", gated: true });
  term.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
  all.cache.apply("ADDED", term);
  await all.writer.idle();
  assertEquals(all.calls.length, 2);
});

Deno.test("condition writer: a gated pod without the annotation gets True/NoCommands from the watch alone", async () => {
  const { cache, calls, writer } = setup("gated");
  cache.replace([pod({ gated: true })]);
  await writer.idle();
  assertEquals(calls.length, 1);
  assertMatch(JSON.stringify(calls[0].patch), /"status":"True","reason":"NoCommands"/);
  // It already says so (as a restarted daemon sees it): nothing written.
  const again = setup("gated");
  const said = pod({ gated: true });
  said.status = {
    ...said.status,
    conditions: [{
      type: APPLIED_CONDITION,
      status: "True",
      reason: "NoCommands",
      message: "the pod has no chainsaw annotation",
      lastTransitionTime: "2025-01-01T00:00:00Z",
    }],
  };
  again.cache.replace([said]);
  await again.writer.idle();
  assertEquals(again.calls.length, 0);
});

Deno.test("condition writer: transient errors are retried with doubling back-off, bounded; 404 and 403 are not", async () => {
  const e503 = new KubeApiError(503, "ServiceUnavailable", "PATCH …/status: 503");
  const retried = setup("gated", [e503, new KubeApiError(0, "Timeout", "no answer")]);
  retried.cache.apply("ADDED", pod({ gated: true }));
  await retried.writer.idle();
  assertEquals(retried.calls.length, 3);
  assertEquals(retried.delays, [500, 1000]);
  assertEquals(retried.writer.counters, { written: 1, gone: 0, failed: 0, retries: 2 });

  const exhausted = setup("gated", Array(10).fill(e503));
  exhausted.cache.apply("ADDED", pod({ gated: true }));
  await exhausted.writer.idle();
  assertEquals(exhausted.calls.length, 5);
  assertEquals(exhausted.delays, [500, 1000, 2000, 4000]);
  assertEquals(exhausted.writer.counters, { written: 0, gone: 0, failed: 1, retries: 4 });
  assertMatch(exhausted.logs.at(-1)!, /^warn: pod ns\/p1: condition .* not written after 5 attempts: PATCH/);

  const gone = setup("gated", [new KubeApiError(404, "NotFound", 'pods "p1" not found')]);
  gone.cache.apply("ADDED", pod({ gated: true }));
  await gone.writer.idle();
  assertEquals([gone.calls.length, gone.delays.length], [1, 0]);
  assertEquals(gone.writer.counters, { written: 0, gone: 1, failed: 0, retries: 0 });
  assertMatch(gone.logs.at(-1)!, /the pod is gone/);

  const forbidden = setup("gated", [new KubeApiError(403, "Forbidden", "cannot patch resource pods/status")]);
  forbidden.cache.apply("ADDED", pod({ gated: true }));
  await forbidden.writer.idle();
  assertEquals([forbidden.calls.length, forbidden.writer.counters.failed], [1, 1]);
  assertMatch(forbidden.logs.at(-1)!, /^warn: .*cannot patch resource pods\/status/);
});

Deno.test("condition writer: a DEL forgets its attachment without writing; a deleted pod is forgotten", async () => {
  const { cache, calls, writer } = setup("gated");
  const p = pod({ gated: true, annotation: '["ip r"]' });
  cache.apply("ADDED", p);
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, { ...applied, result: "failed", detail: "d" });
  await writer.idle();
  writer.forgetAttachment({ namespace: "ns", name: "p1", uid: "u1" }, "c1", "eth0");
  cache.apply("MODIFIED", { ...p, metadata: { ...p.metadata, resourceVersion: "200" } });
  await writer.idle();
  assertEquals(calls.length, 1, "no outcome left: the condition stays as written");
  cache.apply("DELETED", p);
  writer.record({ namespace: "ns", name: "p1", uid: "u1" }, applied);
  await writer.idle();
  assertEquals(calls.length, 1, "not in the cache: nothing written");
});

Deno.test("condition writer: a drift makes an applied attachment False/Drifted until it is cleared; a failure says more", async () => {
  const { cache, calls, writer } = setup("gated");
  const ref = { namespace: "ns", name: "p1", uid: "u1" };
  cache.apply("ADDED", pod({ gated: true, annotation: '["ip r"]' }));
  const last = () => JSON.stringify(calls.at(-1)?.patch);
  // A drift found before any outcome is known (the daemon restarted) counts on its own.
  writer.setDrift(ref, "c1", "eth0", "route v4 main 192.0.3.0/24: gone");
  await writer.idle();
  assertMatch(
    last(),
    /"status":"False","reason":"Drifted","message":"eth0: drifted: route v4 main 192.0.3.0\/24: gone"/,
  );
  writer.record(ref, applied);
  writer.setDrift(ref, "c1", "eth0", "route v4 main 192.0.3.0/24: gone"); // the same: no new write
  await writer.idle();
  assertEquals(calls.length, 1, "still drifted: the applied outcome does not hide it");
  writer.setDrift(ref, "c1", "eth0", undefined);
  await writer.idle();
  assertEquals(calls.length, 2);
  assertMatch(last(), /"status":"True","reason":"Applied"/);
  writer.setDrift(ref, "c1", "eth0", "link eth0 mtu: 1500, chainsaw set 1400");
  writer.record(ref, { ...applied, result: "failed", detail: '"ip link set" failed: exit 2' });
  await writer.idle();
  assertMatch(last(), /"reason":"Failed"/);
  writer.setDrift(ref, "c9", "eth0", undefined); // nothing known: nothing to write
  await writer.idle();
  assertEquals(calls.length, 3);
});
