/**
 * The drift checker's metrics:
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `chainsaw_drift_total` | counter | `action` | drifts found: `reported` (a new or changed set of differences, `drift: "report"`) or `healed` (the drifted objects set back to chainsaw's values, `drift: "heal"`) |
 * | `chainsaw_drifted_attachments` | gauge | | attachments drifted now (report mode); alert on it staying above 0 |
 * | `chainsaw_drift_checks_total` | counter | `result` | checks: `holds`, `drifted`, `raced` (a sync ran meanwhile: thrown away), `error` (the netns could not be observed) |
 * @module
 */
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { CheckResult } from "./drift_checker.ts";

/** The drift feature's metric handles. */
export interface DriftMetrics {
  /** A drift reported or healed. */
  drift(action: "reported" | "healed"): void;
  /** One check ended. */
  check(result: CheckResult): void;
}

/**
 * Registers the metrics.
 *
 * @param registry the daemon's registry
 * @param drifted the number of attachments drifted now
 * @returns the handles
 */
export function createDriftMetrics(registry: MetricsRegistry, drifted: () => number): DriftMetrics {
  const total = registry.counter(
    "chainsaw_drift_total",
    "Drifts found in attachments' effects, by action (reported, healed).",
    ["action"],
  );
  const now = registry.gauge(
    "chainsaw_drifted_attachments",
    "Attachments whose effect does not hold now (drift: report).",
  );
  const checks = registry.counter(
    "chainsaw_drift_checks_total",
    "Drift checks, by result (holds, drifted, raced, error).",
    ["result"],
  );
  // Both actions and the usual results exist from the start (a rate over a series that appears late misses it).
  total.inc({ action: "reported" }, 0);
  total.inc({ action: "healed" }, 0);
  registry.addCollector(() => now.set(drifted()));
  return {
    drift: (action) => total.inc({ action }),
    check: (result) => {
      if (result !== "unowned") checks.inc({ result });
    },
  };
}
