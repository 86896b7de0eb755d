import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { MetricsRegistry, sampleValue } from "./metrics_registry.ts";
import { registerProcessMetrics } from "./process_metrics.ts";

Deno.test("process metrics: memory read at each scrape, the start time once", () => {
  const reg = new MetricsRegistry();
  let rss = 1000;
  registerProcessMetrics(reg, () => ({ rss, heapTotal: 300, heapUsed: 200 }), 1_700_000_000.5);
  let text = reg.render();
  assertEquals(sampleValue(text, "process_resident_memory_bytes"), 1000);
  assertEquals(sampleValue(text, "chainsaw_heap_used_bytes"), 200);
  assertEquals(sampleValue(text, "chainsaw_heap_total_bytes"), 300);
  assertEquals(sampleValue(text, "process_start_time_seconds"), 1_700_000_000.5);
  rss = 2000;
  text = reg.render();
  assertEquals(sampleValue(text, "process_resident_memory_bytes"), 2000);
});

Deno.test("process metrics: the defaults read this process", () => {
  const reg = new MetricsRegistry();
  registerProcessMetrics(reg);
  const text = reg.render();
  assert((sampleValue(text, "process_resident_memory_bytes") ?? 0) > 1_000_000, text);
  assert((sampleValue(text, "chainsaw_heap_used_bytes") ?? 0) > 0, text);
  const start = sampleValue(text, "process_start_time_seconds") ?? 0;
  assert(start > 1_600_000_000 && start <= Date.now() / 1000, `start ${start}`);
});
