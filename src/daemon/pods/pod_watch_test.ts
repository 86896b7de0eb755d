/** The node pod watch against the fake API server (real watch streams) and a scripted client. */
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { type FakeApiServer, makePod, startFakeApiServer } from "../../../tests/support/fake_apiserver.ts";
import { KubeApiError, KubeClient, type RequestOptions } from "../../kube/client.ts";
import { parseKubeconfig } from "../../kube/kubeconfig.ts";
import { PodCache } from "./pod_cache.ts";
import { decodeWatchLine, PodWatcher, type PodWatcherOptions } from "./pod_watch.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import { ndjsonLines } from "../../bytes.ts";
import { abortableSleep } from "../../async/abortable_sleep.ts";

async function eventually(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A sleep the test can hold: while paused, back-off sleeps wait for `resume()` (or the watcher's stop). */
function controlledSleep() {
  let paused = false;
  let release: (() => void) | undefined;
  const delays: number[] = [];
  let waiting = 0;
  const sleep = async (ms: number, signal: AbortSignal) => {
    delays.push(ms);
    if (!paused) return await abortableSleep(1, signal);
    waiting++;
    await new Promise<void>((resolve) => {
      release = resolve;
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    waiting--;
  };
  return {
    sleep,
    delays,
    pause: () => void (paused = true),
    resume: () => {
      paused = false;
      release?.();
    },
    waiting: () => waiting,
  };
}

interface Setup {
  api: FakeApiServer;
  client: KubeClient;
  cache: PodCache;
  watcher: PodWatcher;
  logs: string[];
}

async function withWatcher(
  opts: Partial<PodWatcherOptions>,
  fn: (s: Setup) => Promise<void>,
  init?: (api: FakeApiServer) => void,
): Promise<void> {
  const api = await startFakeApiServer({
    pods: [
      makePod({
        namespace: "default",
        name: "a1",
        uid: "uid-a1",
        nodeName: "node-a",
        annotations: { x: "1" },
      }),
      makePod({ namespace: "kube-system", name: "a2", uid: "uid-a2", nodeName: "node-a" }),
      makePod({ namespace: "default", name: "b1", uid: "uid-b1", nodeName: "node-b" }),
    ],
  });
  init?.(api);
  const client = new KubeClient(await parseKubeconfig(api.kubeconfig(), "/k"), 2000);
  const cache = new PodCache();
  const logs: string[] = [];
  const watcher = new PodWatcher({
    client,
    nodeName: "node-a",
    onList: (pods) => cache.replace(pods),
    onEvent: (type, pod) => cache.apply(type, pod),
    log: (m) => logs.push(m),
    backoff: { baseMs: 5, maxMs: 50 },
    ...opts,
  });
  try {
    await fn({ api, client, cache, watcher, logs });
  } finally {
    await watcher.stop();
    cache.close();
    client.close();
    await api.close();
  }
}

const podGets = (api: FakeApiServer) =>
  api.requests.filter((r) => r.method === "GET" && /\/pods\/[^/]+$/.test(r.path));
const watchRequests = (api: FakeApiServer) => api.requests.filter((r) => r.query.watch === "1");
const listRequests = (api: FakeApiServer) =>
  api.requests.filter((r) => r.path === "/api/v1/pods" && r.query.watch === undefined);

Deno.test("pod watch: paged list of the node's pods, then the cache follows ADDED, MODIFIED, DELETED", async () => {
  await withWatcher({ pageSize: 1 }, async ({ api, cache, watcher }) => {
    assertEquals(watcher.synced(), false);
    watcher.start();
    assertEquals(await watcher.waitSynced(5000), true);
    assertEquals(cache.size, 2);
    assertEquals(cache.get("default", "a1")?.uid, "uid-a1");
    assertEquals(cache.get("default", "b1"), undefined);
    const lists = listRequests(api);
    assertEquals(lists.length, 2); // two pages of one
    assertEquals(lists[0].query.fieldSelector, "spec.nodeName=node-a");
    assertEquals(lists[0].query.limit, "1");
    assert(lists[1].query.continue);

    await api.waitForWatches(1);
    const w = watchRequests(api)[0];
    assertEquals(w.query.allowWatchBookmarks, "true");
    assertEquals(w.query.fieldSelector, "spec.nodeName=node-a");
    assertEquals(w.query.resourceVersion, watcher.resourceVersion);
    assert(Number(w.query.timeoutSeconds) >= 300);

    api.setPod(makePod({ namespace: "default", name: "a3", uid: "uid-a3", nodeName: "node-a" }));
    api.setPod(makePod({ namespace: "default", name: "b2", nodeName: "node-b" }));
    await eventually(() => cache.get("default", "a3") !== undefined, "ADDED a3");
    api.setPod(
      makePod({
        namespace: "default",
        name: "a1",
        uid: "uid-a1",
        nodeName: "node-a",
        annotations: { [ANNOTATION]: "ip r" },
      }),
    );
    await eventually(() => cache.get("default", "a1")?.annotations[ANNOTATION] === "ip r", "MODIFIED a1");
    api.deletePod("kube-system", "a2");
    await eventually(() => cache.get("kube-system", "a2") === undefined, "DELETED a2");
    assertEquals(cache.size, 2);
    assertEquals(cache.get("default", "b2"), undefined);
    assertEquals(watcher.counters.lists, 1);
    assertEquals(watcher.counters.watches, 1);
    assertEquals(watcher.counters.events, 3);
    assertEquals(watcher.resourceVersion, String(api.resourceVersion()));
    assertEquals(podGets(api).length, 0);
  });
});

Deno.test("pod watch: bookmarks advance the resourceVersion and a cleanly ended watch resumes from it", async () => {
  await withWatcher({}, async ({ api, cache, watcher }) => {
    watcher.start();
    await watcher.waitSynced(5000);
    await api.waitForWatches(1);
    api.setPod(makePod({ namespace: "default", name: "b9", nodeName: "node-b" })); // not ours: no event
    api.bookmark();
    await eventually(() => watcher.counters.bookmarks === 1, "bookmark");
    const rv = String(api.resourceVersion());
    assertEquals(watcher.resourceVersion, rv);
    api.dropWatches();
    await eventually(() => watchRequests(api).length === 2 && api.watchCount() === 1, "second watch");
    assertEquals(watchRequests(api)[1].query.resourceVersion, rv);
    api.setPod(makePod({ namespace: "default", name: "a4", nodeName: "node-a" }));
    await eventually(() => cache.get("default", "a4") !== undefined, "a4 after resume");
    assertEquals(watcher.counters.lists, 1);
    assertEquals(watcher.counters.errors, 0);
    assertEquals(podGets(api).length, 0);
  });
});

Deno.test("pod watch: an abruptly dropped watch is resumed and a pod created during the outage is found", async () => {
  const s = controlledSleep();
  await withWatcher({ sleep: s.sleep }, async ({ api, cache, watcher }) => {
    watcher.start();
    await watcher.waitSynced(5000);
    await api.waitForWatches(1);
    const rv = watcher.resourceVersion;
    s.pause();
    api.dropWatches({ abrupt: true });
    await eventually(() => s.waiting() === 1, "back-off after the drop");
    assertEquals(watcher.counters.errors, 1);
    api.setPod(makePod({ namespace: "ns2", name: "outage", uid: "uid-outage", nodeName: "node-a" }));
    assertEquals(cache.get("ns2", "outage"), undefined);
    s.resume();
    assertEquals((await cache.waitFor("ns2", "outage", "uid-outage", 5000))?.uid, "uid-outage");
    assertEquals(watchRequests(api)[1].query.resourceVersion, rv); // resumed, not re-listed
    assertEquals(watcher.counters.lists, 1);
    assertEquals(watcher.synced(), true);
    assertEquals(podGets(api).length, 0);
  });
});

Deno.test("pod watch: 410 Expired after a compaction leads to a re-list that also drops pods deleted meanwhile", async () => {
  const s = controlledSleep();
  await withWatcher({ sleep: s.sleep }, async ({ api, cache, watcher }) => {
    const deleted: string[] = [];
    cache.onDelete((p) => deleted.push(p.name));
    watcher.start();
    await watcher.waitSynced(5000);
    await api.waitForWatches(1);
    s.pause();
    api.dropWatches({ abrupt: true });
    await eventually(() => s.waiting() === 1, "back-off after the drop");
    api.deletePod("default", "a1");
    api.setPod(makePod({ namespace: "default", name: "a5", uid: "uid-a5", nodeName: "node-a" }));
    api.compact();
    s.resume();
    await eventually(() => watcher.counters.relists410 === 1 && watcher.counters.lists === 2, "re-list");
    await eventually(() => api.watchCount() === 1, "watch after re-list");
    assertEquals(cache.get("default", "a1"), undefined);
    assertEquals(cache.get("default", "a5")?.uid, "uid-a5");
    assertEquals(deleted, ["a1"]);
    assertEquals(watcher.resourceVersion, String(api.resourceVersion()));
    assertEquals(podGets(api).length, 0);
  });
});

Deno.test("pod watch: failed LISTs back off with growing jittered delays, then sync; not ready before", async () => {
  const s = controlledSleep();
  await withWatcher(
    { sleep: s.sleep, random: () => 0.99, backoff: { baseMs: 100, maxMs: 1000 } },
    async ({ api, cache, watcher, logs }) => {
      s.pause();
      watcher.start();
      await eventually(() => s.waiting() === 1, "first back-off");
      assertEquals(watcher.synced(), false);
      assertEquals(await watcher.waitSynced(20), false);
      s.resume();
      assertEquals(await watcher.waitSynced(5000), true);
      assertEquals(cache.size, 2);
      assertEquals(watcher.counters.errors, 3);
      assertEquals(s.delays, [100, 198, 396]);
      assert(logs.some((l) => l.includes("500")), logs.join("\n"));
      assertEquals(listRequests(api).length, 4);
    },
    (api) => api.failNext(500, 3),
  );
});

Deno.test("pod watch: stop() during a back-off and during a watch leaves nothing open", async () => {
  await withWatcher({ backoff: { baseMs: 60_000, maxMs: 60_000 } }, async ({ api, watcher }) => {
    api.failNext(503);
    watcher.start();
    await eventually(() => watcher.counters.errors === 1, "failed list");
    await watcher.stop();
    assertEquals(watcher.running, false);
    assertEquals(watcher.synced(), false);
    watcher.start();
    await watcher.waitSynced(5000);
    await api.waitForWatches(1);
    await watcher.stop();
    await eventually(() => api.watchCount() === 0, "watch closed on the server");
  });
});

// ------------------------------------------------------------------------------------------------------------
// A scripted client: exact control over chunking, ERROR events and immediate stream ends.

type Script = (path: string, opts: RequestOptions) => Response | Promise<Response>;

function scriptedClient(script: Script) {
  const calls: string[] = [];
  return {
    calls,
    client: {
      fetch: (path: string, opts: RequestOptions = {}) => {
        calls.push(path);
        return Promise.resolve(script(path, opts));
      },
    },
  };
}

function streamOf(chunks: string[], opts: { hang?: AbortSignal } = {}): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (i < chunks.length) return ctrl.enqueue(enc.encode(chunks[i++]));
      if (!opts.hang) return ctrl.close();
      return new Promise<void>((resolve) => {
        opts.hang!.addEventListener("abort", () => {
          ctrl.error(new DOMException("aborted", "AbortError"));
          resolve();
        }, { once: true });
      });
    },
  });
}

const list = (rv: string, items: unknown[] = []) =>
  Response.json({ kind: "PodList", metadata: { resourceVersion: rv }, items });

const podJson = (name: string, rv: string, annotations?: Record<string, string>) =>
  JSON.stringify({
    type: "ADDED",
    object: { metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion: rv, annotations } },
  });

Deno.test("pod watch: NDJSON split anywhere across chunks, bad lines skipped, ERROR 500 backs off and resumes", async () => {
  const { sleep, delays } = controlledSleep();
  let watches = 0;
  const events: string[] = [];
  const line1 = podJson("p1", "11", { [ANNOTATION]: "ip route add 10.0.0.0/8 dev CURRENT_INTERFACE — ü" });
  const line2 = JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } });
  const error = JSON.stringify({
    type: "ERROR",
    object: { kind: "Status", code: 500, reason: "InternalError" },
  });
  const bytes = new TextEncoder().encode(`${line1}\n{not json\n${line2}\r\n${error}\n`);
  const { client, calls } = scriptedClient((path, opts) => {
    if (!path.includes("watch=1")) return list("10");
    watches++;
    if (watches === 1) {
      // cut in 7-byte pieces, splitting the multi-byte characters too
      const pieces: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull: (c) => i < pieces.length ? c.enqueue(pieces[i++]) : c.close(),
        }),
      );
    }
    return new Response(streamOf([podJson("p2", "13") + "\n"], { hang: opts.signal }));
  });
  const watcher = new PodWatcher({
    client,
    nodeName: "n",
    onEvent: (t, p) => events.push(`${t} ${p.metadata.name} ${p.metadata.annotations?.[ANNOTATION] ?? ""}`),
    sleep,
    random: () => 0.5,
    backoff: { baseMs: 10, maxMs: 100 },
  });
  watcher.start();
  await eventually(() => events.length === 2, "two pod events");
  await watcher.stop();
  assertEquals(events, [
    "ADDED p1 ip route add 10.0.0.0/8 dev CURRENT_INTERFACE — ü",
    "ADDED p2 ",
  ]);
  assertEquals(watcher.counters.bookmarks, 1);
  assertEquals(watcher.counters.errors, 2); // the undecodable line and the ERROR event
  assertEquals(delays, [10]);
  assert(calls[2].includes("resourceVersion=12"), calls[2]); // resumed from the bookmark
  assertEquals(watcher.resourceVersion, "13");
});

Deno.test("pod watch: watches that end at once without events back off instead of looping", async () => {
  const { sleep, delays } = controlledSleep();
  const { client, calls } = scriptedClient((path) => path.includes("watch=1") ? new Response("") : list("5"));
  const watcher = new PodWatcher({
    client,
    nodeName: "n",
    sleep,
    random: () => 1,
    backoff: { baseMs: 10, maxMs: 40 },
  });
  watcher.start();
  await eventually(() => delays.length >= 4, "four back-offs");
  await watcher.stop();
  assertEquals(delays.slice(0, 4), [10, 20, 40, 40]);
  assertEquals(calls.filter((c) => !c.includes("watch=1")).length, 1);
});

Deno.test("pod watch: a watch answered with HTTP 410 re-lists at once; a malformed list backs off", async () => {
  let lists = 0;
  let watches = 0;
  const { sleep, delays } = controlledSleep();
  const { client } = scriptedClient((path, opts) => {
    if (!path.includes("watch=1")) {
      lists++;
      return lists === 2 ? Response.json({ items: "nope" }) : list(String(lists));
    }
    if (++watches === 1) throw new KubeApiError(410, "Gone", "gone");
    return new Response(streamOf([], { hang: opts.signal }));
  });
  const watcher = new PodWatcher({
    client,
    nodeName: "n",
    sleep,
    random: () => 0,
    backoff: { baseMs: 10, maxMs: 40 },
  });
  watcher.start();
  await eventually(() => watches === 2, "second watch");
  await watcher.stop();
  assertEquals(lists, 3);
  assertEquals(watcher.counters.relists410, 1);
  assertEquals(watcher.counters.lists, 2);
  assertEquals(watcher.counters.errors, 1);
  assertEquals(delays, [10]); // only the malformed list waited
});

Deno.test("ndjsonLines and decodeWatchLine", async () => {
  const lines: string[] = [];
  for await (const l of ndjsonLines(streamOf(['{"a":', '1}\n\n{"b"', ":2}\r\n", '{"c":3}']))) lines.push(l);
  assertEquals(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  assertEquals(decodeWatchLine("nope").kind, "invalid");
  assertEquals(decodeWatchLine('{"type":"WHAT","object":{}}').kind, "invalid");
  assertEquals(decodeWatchLine('{"type":"ADDED","object":{"metadata":{}}}').kind, "invalid");
  assertEquals(decodeWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}'), {
    kind: "bookmark",
    resourceVersion: "7",
  });
  assertEquals(decodeWatchLine('{"type":"ERROR","object":{"code":410,"reason":"Expired","message":"old"}}'), {
    kind: "error",
    code: 410,
    reason: "Expired",
    message: "old",
  });
  let threw = false;
  try {
    for await (const _ of ndjsonLines(streamOf(["x".repeat(50)]), 10)) { /* */ }
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test("pod watch: a throwing consumer is logged and does not break the stream", async () => {
  const logs: string[] = [];
  const names: string[] = [];
  const { client } = scriptedClient((path, opts) =>
    path.includes("watch=1")
      ? new Response(streamOf([podJson("p1", "2") + "\n" + podJson("p2", "3") + "\n"], { hang: opts.signal }))
      : list("1")
  );
  const watcher = new PodWatcher({
    client,
    nodeName: "n",
    log: (m) => logs.push(m),
    onList: () => {
      throw new Error("list consumer");
    },
    onEvent: (_t, p) => {
      names.push(p.metadata.name);
      if (p.metadata.name === "p1") throw new Error("event consumer");
    },
  });
  watcher.start();
  await eventually(() => names.length === 2, "both events");
  await watcher.stop();
  assertEquals(watcher.counters.errors, 0);
  assertEquals(watcher.counters.watches, 1);
  assertEquals(logs.filter((l) => l.includes("consumer failed")).length, 2);
});
