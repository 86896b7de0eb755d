import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { sampleDel, sampleReport } from "../../../tests/daemon_fixtures.ts";
import type { Report } from "../../report/report.ts";
import { createDaemonMetrics } from "../metrics/daemon_metrics.ts";
import { ReportRing } from "../reports/report_ring.ts";
import { podKey } from "../../wire/report.ts";
import { createSocketApi, NDJSON, postedJson } from "./socket_api.ts";
import { GcRequestSchema } from "../../wire/gc.ts";

function setup(maxReportBytes?: number) {
  const ring = new ReportRing(100);
  const metrics = createDaemonMetrics("test");
  const accepted: Report[] = [];
  const api = createSocketApi({
    ring,
    metrics,
    maxReportBytes,
    accept: (r) => {
      accepted.push(r);
      ring.push(podKey(r), JSON.stringify(r), r.traceId);
    },
  });
  const call = (method: string, path: string, body?: string) =>
    api.handler(new Request(`http://chainsaw${path}`, { method, body }));
  return { ring, metrics, accepted, api, call };
}

async function readLines(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<string[]> {
  let text = "";
  const dec = new TextDecoder();
  while (text.split("\n").length - 1 < n) {
    const { done, value } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  return text.split("\n").filter((l) => l !== "");
}

Deno.test("POST /v1/reports accepts a report and refuses malformed and oversized bodies, counting drops", async () => {
  const { call, accepted, metrics } = setup(4096);
  assertEquals((await call("POST", "/v1/reports", JSON.stringify(sampleReport()))).status, 204);
  assertEquals(accepted, [sampleReport()]);
  const bad = await call("POST", "/v1/reports", '{"v":1}');
  assertEquals(bad.status, 400);
  assertStringIncludes(await bad.text(), "invalid report");
  assertEquals((await call("POST", "/v1/reports", "not json")).status, 400);
  const big = await call(
    "POST",
    "/v1/reports",
    JSON.stringify(sampleReport({ detected: ["x".repeat(5000)] })),
  );
  assertEquals(big.status, 413);
  await big.body?.cancel();
  assertEquals(metrics.dropped.get({ reason: "malformed" }), 2);
  assertEquals(metrics.dropped.get({ reason: "too_large" }), 1);
  assertEquals(accepted.length, 1);
});

Deno.test("routing: healthz, methods, unknown paths", async () => {
  const { call } = setup();
  const h = await call("GET", "/healthz");
  assertEquals([h.status, await h.text()], [200, "ok\n"]);
  for (
    const [m, p, s] of [["GET", "/v1/reports", 405], ["POST", "/v1/logs", 405], [
      "GET",
      "/nope",
      404,
    ]] as const
  ) {
    const r = await call(m, p, m === "POST" ? "" : undefined);
    assertEquals(r.status, s, `${m} ${p}`);
    await r.body?.cancel();
  }
});

Deno.test("GET /v1/logs returns NDJSON, filtered by pod and limited, oldest first", async () => {
  const { call } = setup();
  const reports = [
    sampleReport({ containerId: "c1" }),
    sampleReport({ containerId: "c2", pod: { namespace: "other", name: "q", uid: "u" } }),
    sampleDel({ containerId: "c3" }),
  ];
  for (const r of reports) await call("POST", "/v1/reports", JSON.stringify(r));
  const all = await call("GET", "/v1/logs");
  assertEquals(all.headers.get("Content-Type"), NDJSON);
  assertEquals((await all.text()).trimEnd().split("\n").map((l) => JSON.parse(l).containerId), [
    "c1",
    "c2",
    "c3",
  ]);
  const mine = await call("GET", "/v1/logs?pod=default/p1&limit=1");
  assertEquals((await mine.text()).trimEnd().split("\n").map((l) => JSON.parse(l).containerId), ["c3"]);
  const none = await call("GET", "/v1/logs?limit=0");
  assertEquals(await none.text(), "");
  const bad = await call("GET", "/v1/logs?pod=x");
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("GET /v1/logs?follow=1 streams the backlog, then new matching reports; cancel unsubscribes", async () => {
  const { call, ring, metrics, api } = setup();
  await call("POST", "/v1/reports", JSON.stringify(sampleReport({ containerId: "old" })));
  const res = await call("GET", "/v1/logs?follow=1&pod=default/p1");
  assertEquals(metrics.followers.get(), 1);
  const reader = res.body!.getReader();
  assertEquals((await readLines(reader, 1)).map((l) => JSON.parse(l).containerId), ["old"]);
  await call(
    "POST",
    "/v1/reports",
    JSON.stringify(sampleReport({ containerId: "other", pod: { namespace: "x", name: "y", uid: "" } })),
  );
  await call("POST", "/v1/reports", JSON.stringify(sampleReport({ containerId: "new" })));
  assertEquals((await readLines(reader, 1)).map((l) => JSON.parse(l).containerId), ["new"]);
  await reader.cancel();
  assertEquals([ring.listenerCount, metrics.followers.get()], [0, 0]);

  // closeFollowers ends open streams (shutdown).
  const res2 = await call("GET", "/v1/logs?follow=1&limit=0");
  const r2 = res2.body!.getReader();
  api.closeFollowers();
  assert((await r2.read()).done);
  assertEquals(ring.listenerCount, 0);
});

Deno.test("added routes serve their prefix and below; built-in paths cannot be taken", async () => {
  const { call, api } = setup();
  api.addRoute("/v1/pods", (_req, url) => new Response(url.pathname));
  const r = await call("GET", "/v1/pods/default/p1?uid=u");
  assertEquals([r.status, await r.text()], [200, "/v1/pods/default/p1"]);
  const miss = await call("GET", "/v1/podsx");
  assertEquals(miss.status, 404);
  await miss.body?.cancel();
  for (const bad of ["/v1/reports", "/v1/logs", "/healthz", "v1/x", "/v1/x/"]) {
    let threw = false;
    try {
      api.addRoute(bad, () => new Response());
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("GET /v1/logs?trace=ID returns only that trace's reports (upper-case hex accepted); a bad id is 400", async () => {
  const { call } = setup();
  const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  for (
    const r of [
      sampleReport({ containerId: "c1", traceId: trace }),
      sampleReport({ containerId: "c2", traceId: "0af7651916cd43dd8448eb211c80319c" }),
      sampleReport({ containerId: "c3" }),
      sampleReport({ containerId: "c4", traceId: trace }),
    ]
  ) await call("POST", "/v1/reports", JSON.stringify(r));
  for (const t of [trace, trace.toUpperCase()]) {
    const got = await call("GET", `/v1/logs?trace=${t}`);
    assertEquals((await got.text()).trimEnd().split("\n").map((l) => JSON.parse(l).containerId), [
      "c1",
      "c4",
    ]);
  }
  const both = await call("GET", `/v1/logs?trace=${trace}&pod=other/q`);
  assertEquals(await both.text(), "");
  const bad = await call("GET", "/v1/logs?trace=xyz");
  assertEquals(bad.status, 400);
  assertStringIncludes(await bad.text(), "trace");
});

Deno.test("postedJson: the body decoded by the schema, or 405, 413 and 400 worded by the route", async () => {
  const req = (body: string | null, method = "POST") =>
    new Request("http://daemon/v1/x", { method, body, headers: { "Content-Type": "application/json" } });
  const ok = await postedJson(req('{"network":"n","valid":[]}'), 100, GcRequestSchema);
  assert(ok.ok);
  assertEquals(ok.data, { network: "n", valid: [] });
  const answer = async (r: Awaited<ReturnType<typeof postedJson>>) =>
    r.ok ? "decoded" : `${r.response.status} ${(await r.response.text()).trim()}`;
  assertEquals(await answer(await postedJson(req(null, "GET"), 100, GcRequestSchema)), "405 use POST");
  assertEquals(
    await answer(await postedJson(req("x".repeat(101)), 100, GcRequestSchema)),
    "413 body larger than 100 bytes",
  );
  assertEquals(await answer(await postedJson(req("{"), 100, GcRequestSchema)), "400 body is not JSON");
  const wrong = await answer(await postedJson(req('{"network":"n"}'), 100, GcRequestSchema));
  assertStringIncludes(wrong, "400 valid");
  const json = await postedJson(
    req("{"),
    100,
    GcRequestSchema,
    (status, error) => Response.json({ error }, { status }),
  );
  assert(!json.ok);
  assertEquals([json.response.status, await json.response.json()], [400, { error: "body is not JSON" }]);
});
