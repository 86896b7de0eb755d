/** The node-local pod cache: slim records, lookups, waiting for fresh pods, annotation-change and delete events. */
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { makePod } from "../../../tests/support/fake_apiserver.ts";
import { type Pod, PodSchema } from "../../kube/client.ts";
import { type CachedPod, PodCache, slimPod } from "./pod_cache.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import { APPLIED_CONDITION } from "../../kube/pod_status.ts";

function pod(
  name: string,
  uid: string,
  annotations?: Record<string, string>,
  extra: Partial<Pod["metadata"]> = {},
): Pod {
  const p = PodSchema.parse(makePod({ namespace: "ns", name, uid, annotations, nodeName: "node-a" }));
  p.metadata = { ...p.metadata, resourceVersion: "1", ...extra };
  return p;
}

Deno.test("pod cache: keeps only what chainsaw needs", () => {
  const networks = "test-chainsaw, test-chainsaw";
  const p = pod("a", "u1", {
    [ANNOTATION]: '["ip r"]',
    "k8s.v1.cni.cncf.io/networks": networks,
    "other/big": "x".repeat(10_000),
  }, {
    deletionTimestamp: "2026-01-01T00:00:00Z",
  });
  const slim = slimPod(p);
  assertEquals(slim, {
    namespace: "ns",
    name: "a",
    uid: "u1",
    resourceVersion: "1",
    phase: "Running",
    deletionTimestamp: "2026-01-01T00:00:00Z",
    // Multus's selection is kept next to chainsaw's annotation: it names each attachment's NAD.
    annotations: { [ANNOTATION]: '["ip r"]', "k8s.v1.cni.cncf.io/networks": networks },
  });
  assertEquals(slimPod(p, ["other/big"]).annotations["other/big"].length, 10_000);
  const cache = new PodCache();
  for (let i = 0; i < 110; i++) {
    cache.apply("ADDED", pod(`p${i}`, `u${i}`, { "other/big": "x".repeat(10_000) }));
  }
  assertEquals(cache.size, 110);
  assert(JSON.stringify(cache.list()).length < 110 * 200, "110 pods stay small");
  assertEquals(cache.getByUid("u7")?.name, "p7");
});

Deno.test("pod cache: annotation changes of known pods, not first sight; deletes", () => {
  const cache = new PodCache();
  const changes: Array<[string, string | undefined, string | undefined]> = [];
  const deletes: string[] = [];
  const off = cache.onAnnotationChange((p, o, n) => changes.push([p.name, o, n]));
  cache.onDelete((p) => deletes.push(p.name));
  cache.apply("ADDED", pod("a", "u1", { [ANNOTATION]: "ip r" }));
  assertEquals(changes, []);
  cache.apply("MODIFIED", pod("a", "u1", { [ANNOTATION]: "ip r" }, { resourceVersion: "2" }));
  assertEquals(changes, []);
  assertEquals(cache.get("ns", "a")?.resourceVersion, "2");
  cache.apply("MODIFIED", pod("a", "u1", { [ANNOTATION]: "ip a" }));
  cache.apply("MODIFIED", pod("a", "u1", {}));
  cache.apply("MODIFIED", pod("a", "u1", { [ANNOTATION]: '{"net":"ip r"}' }));
  assertEquals(changes, [["a", "ip r", "ip a"], ["a", "ip a", undefined], [
    "a",
    undefined,
    '{"net":"ip r"}',
  ]]);
  cache.apply("DELETED", pod("a", "u1"));
  assertEquals(deletes, ["a"]);
  assertEquals(cache.get("ns", "a"), undefined);
  assertEquals(cache.getByUid("u1"), undefined);
  cache.apply("DELETED", pod("a", "u1")); // unknown: nothing
  assertEquals(deletes, ["a"]);
  off();
  cache.apply("ADDED", pod("b", "u2", { [ANNOTATION]: "1" }));
  cache.apply("MODIFIED", pod("b", "u2", { [ANNOTATION]: "2" }));
  assertEquals(changes.length, 3);
});

Deno.test("pod cache: a recreated pod (same name, new UID) is a delete and a new pod, not a change", () => {
  const cache = new PodCache();
  const seen: string[] = [];
  cache.onAnnotationChange((p) => seen.push(`change ${p.uid}`));
  cache.onDelete((p) => seen.push(`delete ${p.uid}`));
  cache.apply("ADDED", pod("a", "u1", { [ANNOTATION]: "1" }));
  cache.apply("ADDED", pod("a", "u2", { [ANNOTATION]: "2" }));
  assertEquals(seen, ["delete u1"]);
  assertEquals(cache.getByUid("u1"), undefined);
  assertEquals(cache.getByUid("u2")?.name, "a");
});

Deno.test("pod cache: replace() deletes what a re-list no longer has and reports changed annotations", () => {
  const cache = new PodCache();
  const seen: string[] = [];
  cache.onAnnotationChange((p, o, n) => seen.push(`change ${p.name} ${o}->${n}`));
  cache.onDelete((p) => seen.push(`delete ${p.name}`));
  cache.replace([pod("a", "u1", { [ANNOTATION]: "1" }), pod("b", "u2")]);
  assertEquals(seen, []);
  cache.replace([pod("a", "u1", { [ANNOTATION]: "2" }), pod("c", "u3")]);
  assertEquals(seen, ["delete b", "change a 1->2"]);
  assertEquals(cache.list().map((p: CachedPod) => p.name).sort(), ["a", "c"]);
});

Deno.test("pod cache: listener exceptions are logged and never reach the feeder", () => {
  const logs: string[] = [];
  const cache = new PodCache({ log: (m) => logs.push(m) });
  cache.onAnnotationChange(() => {
    throw new Error("boom");
  });
  cache.onDelete(() => {
    throw new Error("bang");
  });
  cache.apply("ADDED", pod("a", "u1", { [ANNOTATION]: "1" }));
  cache.apply("MODIFIED", pod("a", "u1", { [ANNOTATION]: "2" }));
  cache.apply("DELETED", pod("a", "u1"));
  assertEquals(logs.length, 2);
  assert(logs[0].includes("boom") && logs[1].includes("bang"));
});

Deno.test("pod cache: waitFor resolves at once, on arrival with the right UID, or undefined on timeout/abort/close", async () => {
  const cache = new PodCache();
  cache.apply("ADDED", pod("here", "u0"));
  assertEquals((await cache.waitFor("ns", "here", undefined, 10))?.uid, "u0");
  assertEquals((await cache.waitFor("ns", "here", "u0", 10))?.uid, "u0");
  assertEquals(await cache.waitFor("ns", "missing", undefined, 0), undefined);

  const fresh = cache.waitFor("ns", "fresh", "u2", 5000);
  cache.apply("ADDED", pod("fresh", "u1")); // an older pod of the same name: keep waiting
  setTimeout(() => cache.apply("ADDED", pod("fresh", "u2")), 10);
  assertEquals((await fresh)?.uid, "u2");

  const started = performance.now(); // monotonic: a wall-clock step cannot shorten it
  assertEquals(await cache.waitFor("ns", "never", undefined, 30), undefined);
  assert(performance.now() - started >= 29);

  const ac = new AbortController();
  const aborted = cache.waitFor("ns", "never", undefined, 5000, ac.signal);
  ac.abort();
  assertEquals(await aborted, undefined);

  const closed = cache.waitFor("ns", "never", "u9", 5000);
  cache.close();
  assertEquals(await closed, undefined);
});

Deno.test("pod cache: keeps readiness gates, hostNetwork and chainsaw's condition; update listeners hear every change", () => {
  const raw = makePod({ namespace: "ns", name: "g", uid: "ug", nodeName: "node-a" });
  raw.spec.readinessGates = [{ conditionType: APPLIED_CONDITION }];
  raw.spec.hostNetwork = true;
  raw.status.conditions = [
    { type: "Ready", status: "False", message: "x".repeat(1000) },
    {
      type: APPLIED_CONDITION,
      status: "True",
      reason: "Applied",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  ];
  const slim = slimPod(PodSchema.parse(raw));
  assertEquals(slim.readinessGates, [APPLIED_CONDITION]);
  assertEquals(slim.hostNetwork, true);
  assertEquals(slim.conditions, {
    [APPLIED_CONDITION]: {
      type: APPLIED_CONDITION,
      status: "True",
      reason: "Applied",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  });
  const cache = new PodCache();
  const seen: Array<[string, string | undefined]> = [];
  cache.onUpdate((p, old) => seen.push([p.resourceVersion, old?.resourceVersion]));
  cache.apply("ADDED", pod("a", "u1"));
  cache.apply("MODIFIED", pod("a", "u1", { [ANNOTATION]: "x" }, { resourceVersion: "2" }));
  cache.replace([pod("a", "u1", { [ANNOTATION]: "x" }, { resourceVersion: "3" })]);
  assertEquals(seen, [["1", undefined], ["2", "1"], ["3", "2"]]);
});
