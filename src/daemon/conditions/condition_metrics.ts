/**
 * The pod condition writer's metrics, on the daemon's registry: the writer's counters are plain numbers, copied
 * into the registry before every scrape (as for Events).
 *
 * - `chainsaw_pod_condition_writes_total{result}`: `written` (a PATCH of the pod's status succeeded), `gone` (the
 *   pod was deleted or replaced: 404/409, not retried), `failed` (given up: a non-retryable error or the retries
 *   ran out; the pod is unaffected otherwise);
 * - `chainsaw_pod_condition_retries_total`: retries after transient API errors.
 * @module
 */
import { followCounter, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { ConditionCounters } from "./condition_writer.ts";

/**
 * Registers the families and their collector.
 *
 * @param registry the daemon's registry
 * @param counters the writer's counters
 * @example
 * ```ts
 * registerConditionMetrics(ctx.metrics.registry, writer.counters);
 * ```
 */
export function registerConditionMetrics(
  registry: MetricsRegistry,
  counters: Readonly<ConditionCounters>,
): void {
  const writes = registry.counter(
    "chainsaw_pod_condition_writes_total",
    "Writes of the pod condition chainsaw.cni.cncf.io/applied, by result (written; gone: the pod was deleted or " +
      "replaced; failed: given up after an API error, the pod is unaffected).",
    ["result"],
  );
  const retries = registry.counter(
    "chainsaw_pod_condition_retries_total",
    "Pod condition writes retried after a transient API error (unreachable, timeout, 429, 5xx).",
  );
  registry.addCollector(() => {
    followCounter(writes, counters.written, { result: "written" });
    followCounter(writes, counters.gone, { result: "gone" });
    followCounter(writes, counters.failed, { result: "failed" });
    followCounter(retries, counters.retries);
  });
}
