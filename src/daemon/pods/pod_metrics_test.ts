import { assertEquals } from "../../../tests/support/assert.ts";
import { MetricsRegistry, sampleValue } from "../metrics/metrics_registry.ts";
import type { EventCounters } from "../events/event_recorder.ts";
import { registerEventMetrics } from "../events/event_metrics.ts";
import { createAttachmentMetrics } from "../attachments/attachment_metrics.ts";
import type { PodWatchCounters } from "./pod_watch.ts";
import { createPodMetrics } from "./pod_metrics.ts";

Deno.test("pod feature metrics: lookups, sources, prunes and writes; watch and event counters follow their sources", () => {
  const registry = new MetricsRegistry();
  const counters: PodWatchCounters = {
    lists: 1,
    watches: 2,
    relists410: 0,
    errors: 3,
    events: 5,
    bookmarks: 1,
  };
  const events: EventCounters = { posted: 4, patched: 1, failed: 2 };
  let synced = false;
  const m = createPodMetrics(registry, { counters, synced: () => synced, pods: () => 12 });
  const a = createAttachmentMetrics(registry, () => 7);
  registerEventMetrics(registry, events);
  m.lookups("hit");
  m.lookups("hit");
  m.lookups("miss");
  m.annotationSource("api");
  m.annotationSource("bogus");
  a.pruned("netns_gone", 2);
  a.stateWrite(true);
  const v = (name: string, labels: Record<string, string> = {}) =>
    sampleValue(registry.render(), name, labels);
  assertEquals(
    [v("chainsaw_pod_lookups_total", { result: "hit" }), v("chainsaw_pod_lookups_total", { result: "miss" })],
    [2, 1],
  );
  assertEquals(v("chainsaw_pod_annotation_sources_total", { source: "none" }), 1);
  assertEquals(v("chainsaw_attachments_pruned_total", { reason: "netns_gone" }), 2);
  assertEquals(v("chainsaw_state_writes_total", { result: "ok" }), 1);
  assertEquals([v("chainsaw_attachments"), v("chainsaw_pod_cache_pods"), v("chainsaw_pod_cache_synced")], [
    7,
    12,
    0,
  ]);
  counters.errors = 4;
  counters.relists410 = 1;
  synced = true;
  assertEquals(
    [
      v("chainsaw_pod_watch_errors_total"),
      v("chainsaw_pod_watch_relists_total"),
      v("chainsaw_pod_cache_synced"),
    ],
    [4, 1, 1],
  );
  assertEquals(v("chainsaw_pod_watch_events_total", { type: "bookmark" }), 1);
  assertEquals(
    ["created", "counted", "failed"].map((result) => v("chainsaw_events_total", { result })),
    [3, 1, 2],
  );
});

Deno.test("pod metrics: without the pod watch its families are not registered", () => {
  const registry = new MetricsRegistry();
  createPodMetrics(registry, undefined);
  const text = registry.render();
  assertEquals([text.includes("chainsaw_pod_watch"), text.includes("chainsaw_pod_lookups_total")], [
    false,
    true,
  ]);
});
