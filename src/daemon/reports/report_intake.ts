/**
 * What happens to an accepted report: it is kept in the ring (for `GET /v1/logs`), counted in the metrics, and
 * printed to stdout as one record, so `kubectl logs` on the DaemonSet pod shows it.
 * @module
 */
import type { Report } from "../../report/report.ts";
import { type DaemonMetrics, recordReport } from "../metrics/daemon_metrics.ts";
import { formatReportRecord, type LogFormat } from "./log_format.ts";
import type { ReportRing } from "./report_ring.ts";
import { podKey } from "../../wire/report.ts";
import { visibleJson } from "../../text/visible.ts";

/** Where accepted reports go. */
export interface IntakeDeps {
  ring: ReportRing;
  metrics: DaemonMetrics;
  /** Writes one whole record (the daemon's serialized stdout). */
  print(record: string): unknown;
  format: LogFormat;
  /** Called with each accepted report after it is stored (metrics, Events, the pod condition). */
  listeners?: ReadonlyArray<(report: Report) => void>;
  /** Hears a listener's exception (the report is still accepted). */
  onListenerError?: (e: unknown) => void;
}

/** Builds the accept function. */
export function createIntake(deps: IntakeDeps): (report: Report) => void {
  return (report: Report): void => {
    deps.ring.push(podKey(report), visibleJson(report), report.traceId);
    deps.metrics.ringReports.set(deps.ring.size);
    recordReport(deps.metrics, report);
    deps.print(formatReportRecord(report, deps.format));
    for (const listener of deps.listeners ?? []) {
      try {
        listener(report);
      } catch (e) {
        deps.onListenerError?.(e);
      }
    }
  };
}
