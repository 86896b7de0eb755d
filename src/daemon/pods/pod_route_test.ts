import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import type { Pod } from "../../kube/client.ts";
import { PodCache } from "./pod_cache.ts";
import { createPodRoute, MAX_WAIT_MS, parseLookup, type PodLookup } from "./pod_route.ts";

function pod(name: string, uid: string, annotations: Record<string, string> = {}): Pod {
  return {
    metadata: {
      namespace: "default",
      name,
      uid,
      resourceVersion: "1",
      annotations: { other: "x", ...annotations },
    },
    status: { phase: "Running" },
  };
}

function setup(synced = true) {
  const cache = new PodCache();
  const counts: string[] = [];
  let isSynced = synced;
  const route = createPodRoute({ cache, synced: () => isSynced, count: (r) => void counts.push(r) });
  const get = async (path: string, method = "GET") => {
    const url = new URL(`http://chainsaw${path}`);
    const res = await route(new Request(url, { method }), url);
    return { status: res.status, text: await res.text() };
  };
  return { cache, counts, get, sync: () => void (isSynced = true) };
}

Deno.test("parseLookup: namespace, name, uid and a capped waitMs; malformed paths and waits", () => {
  const ok = parseLookup(new URL("http://x/v1/pods/kube-system/p%2D1?uid=u1&waitMs=99999"));
  assertEquals(ok, { namespace: "kube-system", name: "p-1", uid: "u1", waitMs: MAX_WAIT_MS } as PodLookup);
  assertEquals((parseLookup(new URL("http://x/v1/pods/ns/p")) as PodLookup).waitMs, 0);
  for (
    const bad of [
      "/v1/pods/ns",
      "/v1/pods/ns/p/x",
      "/v1/pods//p",
      "/v1/pods/ns/%zz",
      "/v1/pods/ns/p?waitMs=-1",
    ]
  ) {
    assertEquals(typeof parseLookup(new URL(`http://x${bad}`)), "string", bad);
  }
});

Deno.test("pod route: a cached pod is a hit with only chainsaw's annotation; unknown is a miss", async () => {
  const t = setup();
  t.cache.replace([pod("p1", "u1", { [ANNOTATION]: '["ip route"]' })]);
  const hit = await t.get("/v1/pods/default/p1?uid=u1&waitMs=1000");
  assertEquals([hit.status, JSON.parse(hit.text)], [200, {
    uid: "u1",
    annotations: { [ANNOTATION]: '["ip route"]' },
  }]);
  assertEquals((await t.get("/v1/pods/default/p1")).status, 200);
  const miss = await t.get("/v1/pods/default/nope?waitMs=0");
  assertEquals(miss.status, 404);
  assertEquals((await t.get("/v1/pods/default/p1", "POST")).status, 405);
  assertEquals((await t.get("/v1/pods/default")).status, 400);
  assertEquals(t.counts, ["hit", "hit", "miss"]);
});

Deno.test("pod route: waits for a fresh pod (or its new UID) that the watch delivers meanwhile", async () => {
  const t = setup();
  t.cache.replace([pod("p1", "old")]);
  // The answers come before the waits expire (the longest wait there is): the watch's delivery wakes them.
  const started = performance.now();
  const pending = t.get(`/v1/pods/default/p1?uid=new&waitMs=${MAX_WAIT_MS}`);
  const fresh = t.get(`/v1/pods/default/p2?uid=u2&waitMs=${MAX_WAIT_MS}`);
  setTimeout(() => {
    t.cache.apply("MODIFIED", pod("p1", "new", { [ANNOTATION]: "ip route" }));
    t.cache.apply("ADDED", pod("p2", "u2"));
  }, 50);
  const [a, b] = await Promise.all([pending, fresh]);
  assertEquals([a.status, JSON.parse(a.text).uid, b.status], [200, "new", 200]);
  assertEquals(performance.now() - started < MAX_WAIT_MS, true);
  const stale = await t.get("/v1/pods/default/p1?uid=other&waitMs=50");
  assertEquals(stale.status, 404, "a pod with another UID is not answered: the plugin asks the API server");
});

Deno.test("pod route: 503 until the cache has completed its first list", async () => {
  const t = setup(false);
  const r = await t.get("/v1/pods/default/p1?waitMs=1000");
  assertEquals(r.status, 503);
  assertStringIncludes(r.text, "not synced");
  t.sync();
  assertEquals((await t.get("/v1/pods/default/p1")).status, 404);
  assertEquals(t.counts, ["unsynced", "miss"]);
});
