import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { DaemonState } from "../daemon_state.ts";
import { createHealthHandler } from "./health_api.ts";
import { METRICS_CONTENT_TYPE, MetricsRegistry } from "../metrics/metrics_registry.ts";

Deno.test("readyz follows the state; healthz always answers; metrics render the registry", async () => {
  const state = new DaemonState();
  const registry = new MetricsRegistry();
  const c = registry.counter("t_total", "t");
  c.inc();
  let scrapes = 0;
  const h = createHealthHandler({ state, registry, beforeScrape: () => scrapes++ });
  const get = (p: string, method = "GET") => h(new Request(`http://x${p}`, { method }));

  assertEquals(get("/healthz").status, 200);
  const notReady = get("/readyz");
  assertEquals(notReady.status, 503);
  assertStringIncludes(await notReady.text(), "plugin not installed");
  state.installed = true;
  state.kubeconfigWritten = true;
  state.socketUp = true;
  assertEquals([get("/readyz").status, state.ready], [200, true]);
  assertEquals(state.drainSignal.aborted, false);
  state.startDraining();
  const draining = get("/readyz");
  assertEquals([draining.status, state.drainSignal.aborted], [503, true]);
  assertStringIncludes(await draining.text(), "shutting down");
  assertEquals(get("/healthz").status, 200);

  const m = get("/metrics");
  assertEquals(m.headers.get("Content-Type"), METRICS_CONTENT_TYPE);
  assertStringIncludes(await m.text(), "t_total 1");
  assertEquals(scrapes, 1);
  assertEquals(get("/nope").status, 404);
  assertEquals(get("/healthz", "POST").status, 405);
});

Deno.test("a feature's readiness condition holds readyz at 503 with its reason until it is met", async () => {
  const state = new DaemonState();
  state.installed = state.kubeconfigWritten = state.socketUp = true;
  let synced = false;
  state.addCondition("pod list not synced", () => synced);
  const h = createHealthHandler({ state, registry: new MetricsRegistry() });
  const r = h(new Request("http://x/readyz"));
  assertEquals(r.status, 503);
  assertStringIncludes(await r.text(), "pod list not synced");
  synced = true;
  assertEquals(h(new Request("http://x/readyz")).status, 200);
});
