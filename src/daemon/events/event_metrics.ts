/**
 * The metric of the Event recorder, on the daemon's registry: `chainsaw_events_total{result}`, copied from the
 * recorder's counters before every scrape.
 * @module
 */
import { followCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { EventCounters } from "./event_recorder.ts";

/**
 * Registers the family and its collector.
 *
 * @param registry the daemon's registry
 * @param recorder the recorder's counters
 */
export function registerEventMetrics(registry: MetricsRegistry, recorder: Readonly<EventCounters>): void {
  const posted = registry.counter(
    "chainsaw_events_total",
    "Kubernetes Events about executions, by result (created: a new Event; counted: a repeat raised the count " +
      "of an existing one; failed: not recorded, the pod is unaffected).",
    ["result"],
  );
  registry.addCollector(() => {
    followCounter(posted, recorder.posted - recorder.patched, { result: "created" });
    followCounter(posted, recorder.patched, { result: "counted" });
    followCounter(posted, recorder.failed, { result: "failed" });
  });
}
