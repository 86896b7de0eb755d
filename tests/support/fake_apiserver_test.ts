import assert from "node:assert/strict";
import {
  type FakeApiServer,
  type KubeStatus,
  makePod,
  type ObjectMeta,
  type Pod,
  startFakeApiServer,
} from "./fake_apiserver.ts";

interface WatchEvent {
  type: string;
  object: { kind?: string; metadata: ObjectMeta; code?: number; reason?: string; message?: string };
}

async function withServer(fn: (api: FakeApiServer, client: Deno.HttpClient) => Promise<void>): Promise<void> {
  const api = await startFakeApiServer({
    pods: [
      makePod({
        namespace: "default",
        name: "p1",
        uid: "uid-1",
        annotations: { k: "v" },
        nodeName: "node-a",
      }),
      makePod({ namespace: "kube-system", name: "p2", nodeName: "node-b" }),
    ],
  });
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  try {
    await fn(api, client);
  } finally {
    client.close();
    await api.close();
  }
}

function get(
  api: FakeApiServer,
  client: Deno.HttpClient,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    client,
    ...init,
    headers: { authorization: `Bearer ${api.token}`, ...init.headers },
  });
}

/** Reads newline-delimited watch events until `count` arrived or the stream ended. */
async function readEvents(
  reader: ReadableStreamDefaultReader<string>,
  buffer: { text: string },
  count: number,
): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  while (out.length < count) {
    const nl = buffer.text.indexOf("\n");
    if (nl >= 0) {
      out.push(JSON.parse(buffer.text.slice(0, nl)));
      buffer.text = buffer.text.slice(nl + 1);
      continue;
    }
    const { value, done } = await reader.read();
    if (done) break;
    buffer.text += value;
  }
  return out;
}

Deno.test("fake apiserver: GET pod, 404, 401, 403, 500 with Status bodies", () =>
  withServer(async (api, client) => {
    const ok = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(ok.status, 200);
    const pod: Pod = await ok.json();
    assert.equal(pod.kind, "Pod");
    assert.equal(pod.metadata.uid, "uid-1");
    assert.deepEqual(pod.metadata.annotations, { k: "v" });
    assert.equal(pod.spec.nodeName, "node-a");
    assert.match(pod.metadata.resourceVersion ?? "", /^\d+$/);

    const missing = await get(api, client, "/api/v1/namespaces/default/pods/nope");
    assert.equal(missing.status, 404);
    const status: KubeStatus = await missing.json();
    assert.equal(status.kind, "Status");
    assert.equal(status.reason, "NotFound");
    assert.equal(status.message, 'pods "nope" not found');
    assert.equal(status.code, 404);

    const anon = await fetch(`${api.url}/api/v1/namespaces/default/pods/p1`, { client });
    assert.equal(anon.status, 401);
    assert.equal((await anon.json()).reason, "Unauthorized");
    const badToken = await get(api, client, "/api/v1/namespaces/default/pods/p1", {
      headers: { authorization: "Bearer wrong" },
    });
    assert.equal(badToken.status, 401);
    await badToken.body?.cancel();

    // Token rotation: a new token works once added, the old one fails once removed.
    api.tokens.add("rotated");
    api.tokens.delete(api.token);
    const rotated = await get(api, client, "/api/v1/namespaces/default/pods/p1", {
      headers: { authorization: "Bearer rotated" },
    });
    assert.equal(rotated.status, 200);
    await rotated.body?.cancel();
    const old = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(old.status, 401);
    await old.body?.cancel();
    api.tokens.add(api.token);

    api.forbid("/api/v1/namespaces/kube-system/");
    const forbidden = await get(api, client, "/api/v1/namespaces/kube-system/pods/p2");
    assert.equal(forbidden.status, 403);
    const fst: KubeStatus = await forbidden.json();
    assert.equal(fst.reason, "Forbidden");
    assert.match(fst.message, /pods "p2" is forbidden: User ".*" cannot get resource "pods" in API group ""/);
    api.unforbid("/api/v1/namespaces/kube-system/");

    api.failNext(500);
    api.failNext(503, 1, { retryAfterSeconds: 1 });
    const e500 = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(e500.status, 500);
    assert.equal((await e500.json()).reason, "InternalError");
    const e503 = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(e503.status, 503);
    assert.equal(e503.headers.get("retry-after"), "1");
    assert.equal((await e503.json()).reason, "ServiceUnavailable");
    const after = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(after.status, 200);
    await after.body?.cancel();

    api.delay(60);
    const t0 = performance.now();
    const slow = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.ok(performance.now() - t0 >= 50);
    await slow.body?.cancel();
    api.delay(0);

    const seen = api.requests.map((r) => `${r.method} ${r.path} ${r.auth} ${r.status}`);
    assert.equal(seen[0], "GET /api/v1/namespaces/default/pods/p1 bearer 200");
    assert.ok(seen.includes("GET /api/v1/namespaces/default/pods/p1 none 401"));
    assert.ok(seen.includes("GET /api/v1/namespaces/default/pods/p1 invalid 401"));
  }));

Deno.test("fake apiserver: client certificate authentication", () =>
  withServer(async (api) => {
    const client = Deno.createHttpClient({
      caCerts: [api.caPem],
      cert: api.clientCertPem,
      key: api.clientKeyPem,
    });
    try {
      const res = await fetch(`${api.url}/api/v1/namespaces/default/pods/p1`, { client });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const rec = api.requests.at(-1)!;
      assert.equal(rec.auth, "cert");
      assert.equal(rec.clientCN, "chainsaw-test");
      assert.match(api.kubeconfig({ auth: "cert" }), /client-certificate-data: /);
    } finally {
      client.close();
    }
  }));

Deno.test("fake apiserver: list with field selector, pagination and namespaces", () =>
  withServer(async (api, client) => {
    const res = await get(api, client, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a");
    assert.equal(res.status, 200);
    const list = await res.json();
    assert.equal(list.kind, "PodList");
    assert.equal(list.metadata.resourceVersion, String(api.resourceVersion()));
    assert.deepEqual(list.items.map((p: Pod) => p.metadata.name), ["p1"]);
    assert.equal(list.items[0].kind, undefined);

    const ns = await (await get(api, client, "/api/v1/namespaces/kube-system/pods")).json();
    assert.deepEqual(ns.items.map((p: Pod) => p.metadata.name), ["p2"]);

    const first = await (await get(api, client, "/api/v1/pods?limit=1")).json();
    assert.equal(first.items.length, 1);
    assert.ok(first.metadata.continue);
    const second = await (await get(api, client, `/api/v1/pods?limit=1&continue=${first.metadata.continue}`))
      .json();
    assert.equal(second.items.length, 1);
    assert.equal(second.metadata.continue, undefined);

    const bad = await get(api, client, "/api/v1/pods?fieldSelector=spec.bogus%3Dx");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /field label not supported/);
  }));

Deno.test("fake apiserver: watch stream with changes, bookmark, drop and 410", () =>
  withServer(async (api, client) => {
    const rv0 = api.resourceVersion();
    const res = await get(
      api,
      client,
      `/api/v1/pods?watch=1&resourceVersion=${rv0}&allowWatchBookmarks=true&fieldSelector=spec.nodeName%3Dnode-a`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const buf = { text: "" };
    await api.waitForWatches(1);

    api.setPod(makePod({ namespace: "default", name: "p3", nodeName: "node-a" }));
    api.setPod(makePod({ namespace: "default", name: "other", nodeName: "node-b" })); // filtered out
    const p1 = api.pods().find((p) => p.metadata.name === "p1")!;
    p1.metadata.annotations = { k: "v2" };
    api.setPod(p1);
    api.deletePod("default", "p3");
    api.bookmark();
    const events = await readEvents(reader, buf, 4);
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`), [
      "ADDED p3",
      "MODIFIED p1",
      "DELETED p3",
      "BOOKMARK ",
    ]);
    assert.equal(events[1].object.metadata.annotations?.k, "v2");
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.ok(rvs[0] > rv0 && rvs[1] > rvs[0] && rvs[2] > rvs[1]);
    assert.equal(rvs[3], api.resourceVersion());

    api.dropWatches();
    assert.deepEqual(await readEvents(reader, buf, 1), []);
    assert.equal(api.watchCount(), 0);

    // Resume from the last seen resourceVersion: replays what happened since.
    api.setPod(makePod({ namespace: "default", name: "p4", nodeName: "node-a" }));
    const resumed = await get(api, client, `/api/v1/pods?watch=1&resourceVersion=${rvs[2]}&timeoutSeconds=1`);
    const r2 = resumed.body!.pipeThrough(new TextDecoderStream()).getReader();
    const replay = await readEvents(r2, { text: "" }, 1);
    assert.deepEqual(replay.map((e) => `${e.type} ${e.object.metadata.name}`), ["ADDED p4"]);
    await r2.cancel();

    // After a compaction, an old resourceVersion gets an ERROR event carrying a 410 Status.
    api.compact();
    const gone = await get(api, client, `/api/v1/pods?watch=1&resourceVersion=${rv0}`);
    assert.equal(gone.status, 200);
    const r3 = gone.body!.pipeThrough(new TextDecoderStream()).getReader();
    const [err, ...rest] = await readEvents(r3, { text: "" }, 2);
    assert.equal(err.type, "ERROR");
    assert.equal(err.object.kind, "Status");
    assert.equal(err.object.code, 410);
    assert.equal(err.object.reason, "Expired");
    assert.match(err.object.message ?? "", /too old resource version/);
    assert.deepEqual(rest, []);

    // Without a resourceVersion, a watch starts with the current state as ADDED events.
    const fresh = await get(api, client, "/api/v1/namespaces/kube-system/pods?watch=true");
    const r4 = fresh.body!.pipeThrough(new TextDecoderStream()).getReader();
    const initial = await readEvents(r4, { text: "" }, 1);
    assert.deepEqual(initial.map((e) => `${e.type} ${e.object.metadata.name}`), ["ADDED p2"]);
    await r4.cancel();
  }));

Deno.test("fake apiserver: abrupt watch drop errors the client stream", () =>
  withServer(async (api, client) => {
    const res = await get(api, client, "/api/v1/pods?watch=1&resourceVersion=0");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await readEvents(reader, { text: "" }, 2);
    api.dropWatches({ abrupt: true });
    await assert.rejects(async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done) throw new Error("ended cleanly");
      }
    }, (e: Error) => e.message !== "ended cleanly");
  }));

Deno.test("fake apiserver: core/v1 and events.k8s.io/v1 Events: create, 409, patch", () =>
  withServer(async (api, client) => {
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "p1.abc", namespace: "default" },
      involvedObject: { kind: "Pod", namespace: "default", name: "p1", uid: "uid-1" },
      reason: "ChainsawAdd",
      message: "added",
      type: "Normal",
      count: 1,
    };
    const post = () =>
      get(api, client, "/api/v1/namespaces/default/events", {
        method: "POST",
        body: JSON.stringify(event),
        headers: { "content-type": "application/json" },
      });
    const created = await post();
    assert.equal(created.status, 201);
    assert.match((await created.json()).metadata.resourceVersion, /^\d+$/);
    const dup = await post();
    assert.equal(dup.status, 409);
    const dst: KubeStatus = await dup.json();
    assert.equal(dst.reason, "AlreadyExists");
    assert.equal(dst.message, 'events "p1.abc" already exists');

    const patched = await get(api, client, "/api/v1/namespaces/default/events/p1.abc", {
      method: "PATCH",
      body: JSON.stringify({ count: 2, message: "again" }),
      headers: { "content-type": "application/strategic-merge-patch+json" },
    });
    assert.equal(patched.status, 200);
    assert.equal((await patched.json()).count, 2);
    const missing = await get(api, client, "/api/v1/namespaces/default/events/nope", {
      method: "PATCH",
      body: JSON.stringify({ count: 2 }),
      headers: { "content-type": "application/merge-patch+json" },
    });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    const v1 = await get(api, client, "/apis/events.k8s.io/v1/namespaces/default/events", {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { generateName: "p1." },
        regarding: { kind: "Pod", namespace: "default", name: "p1" },
        reason: "ChainsawAdd",
        note: "added",
        type: "Normal",
        action: "Add",
        reportingController: "chainsaw",
        reportingInstance: "node-a",
        eventTime: new Date().toISOString(),
      }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(v1.status, 201);
    const v1body = await v1.json();
    assert.match(v1body.metadata.name, /^p1\.[a-z0-9]{5}$/);

    const events = api.events();
    assert.equal(events.length, 2);
    assert.equal(events[0].apiVersion, "v1");
    assert.equal(events[0].count, 2);
    assert.equal(events[0].message, "again");
    assert.equal(events[1].apiVersion, "events.k8s.io/v1");
    assert.equal(events[1].metadata.namespace, "default");
  }));

Deno.test("fake apiserver: status PATCH merges conditions by type, checks the UID, 404s a gone pod", () =>
  withServer(async (api, client) => {
    const path = "/api/v1/namespaces/default/pods/p1/status";
    const smp = (body: unknown) =>
      get(api, client, path, {
        method: "PATCH",
        headers: { "content-type": "application/strategic-merge-patch+json" },
        body: JSON.stringify(body),
      });
    // The kubelet's conditions are there first.
    const seeded = api.pods().find((p) => p.metadata.name === "p1")!;
    seeded.status.conditions = [
      { type: "Ready", status: "False", reason: "ReadinessGatesNotReady" },
      { type: "PodScheduled", status: "True" },
    ];
    seeded.spec.containers = [{ name: "app", image: "x" }];
    api.setPod(seeded);
    const watch = await get(api, client, `/api/v1/pods?watch=1&resourceVersion=${api.resourceVersion()}`);
    const reader = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
    const buffer = { text: "" };

    const cond = { type: "chainsaw.cni.cncf.io/applied", status: "True", reason: "Applied", message: "m1" };
    const before = api.resourceVersion();
    const r1 = await smp({
      metadata: { uid: "uid-1" },
      spec: { containers: [] }, // ignored by the status subresource
      status: { conditions: [cond] },
    });
    assert.equal(r1.status, 200);
    const p1: Pod = await r1.json();
    assert.equal(Number(p1.metadata.resourceVersion), before + 1);
    assert.deepEqual(p1.spec.containers, [{ name: "app", image: "x" }]);
    assert.deepEqual((p1.status.conditions as Array<{ type: string }>).map((c) => c.type), [
      "Ready",
      "PodScheduled",
      "chainsaw.cni.cncf.io/applied",
    ]);
    const [ev] = await readEvents(reader, buffer, 1);
    assert.equal(ev.type, "MODIFIED");
    assert.equal(ev.object.metadata.resourceVersion, p1.metadata.resourceVersion);

    // Same type again: its fields are updated in place, the other conditions stay; null deletes a field.
    const r2 = await smp({
      status: {
        "$setElementOrder/conditions": [{ type: "chainsaw.cni.cncf.io/applied" }],
        conditions: [{
          type: "chainsaw.cni.cncf.io/applied",
          status: "False",
          message: null,
          reason: "Failed",
        }],
      },
    });
    const p2: Pod = await r2.json();
    const conds = p2.status.conditions as Array<Record<string, string>>;
    assert.equal(conds.length, 3);
    assert.deepEqual(conds[2], { type: "chainsaw.cni.cncf.io/applied", status: "False", reason: "Failed" });
    assert.deepEqual(conds[0], { type: "Ready", status: "False", reason: "ReadinessGatesNotReady" });
    await reader.cancel();

    // A merge patch (RFC 7386) replaces the whole list.
    const r3 = await get(api, client, path, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ status: { conditions: [{ type: "X", status: "True" }] } }),
    });
    assert.deepEqual((await r3.json()).status.conditions, [{ type: "X", status: "True" }]);

    // The UID precondition: the name is another pod now.
    const stale = await smp({ metadata: { uid: "other" }, status: { conditions: [cond] } });
    assert.equal(stale.status, 409);
    assert.match((await stale.json()).message, /Precondition failed: UID in precondition: other/);
    const noKey = await smp({ status: { conditions: [{ status: "True" }] } });
    assert.equal(noKey.status, 500);
    await noKey.body?.cancel();
    const wrongType = await get(api, client, path, { method: "PATCH", body: "{}" });
    assert.equal(wrongType.status, 415);
    await wrongType.body?.cancel();

    // Injected failures can target the status PATCH only; GETs pass.
    api.failNext(503, 1, { method: "PATCH", path: /\/status$/ });
    const got = await get(api, client, "/api/v1/namespaces/default/pods/p1");
    assert.equal(got.status, 200);
    await got.body?.cancel();
    const failed = await smp({ status: { conditions: [cond] } });
    assert.equal(failed.status, 503);
    await failed.body?.cancel();

    api.deletePod("default", "p1");
    const gone = await smp({ status: { conditions: [cond] } });
    assert.equal(gone.status, 404);
    assert.equal((await gone.json()).message, 'pods "p1" not found');
    assert.equal(api.statusPatches().length, 8);
    assert.deepEqual(api.statusPatches().map((r) => r.status), [200, 200, 200, 409, 500, 415, 503, 404]);
  }));
