/**
 * The daemon's metrics (served on the health port's `/metrics`) and how a report updates them. Label values are
 * bounded sets: verbs outside the known ones count as "other", results are the report's verdicts, so nothing a pod
 * controls (names, annotations, command output) ever becomes a label.
 * @module
 */
import type { Report, Verdict } from "../../report/report.ts";
import type { CommandResult } from "../../exec/runner.ts";
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from "./metrics_registry.ts";
import { registerProcessMetrics } from "./process_metrics.ts";

/** Verbs that keep their name as a label value. */
export const KNOWN_VERBS: readonly string[] = ["ADD", "DEL", "CHECK", "REAPPLY"];

/** The verbs of the reports the daemon receives: their series are served from the start. */
const REPORTED_VERBS = ["ADD", "REAPPLY"] as const;

/** Every verdict, as `chainsaw_invocations_total`'s `result`. */
export const VERDICTS = [
  "applied",
  "failed",
  "rejected",
  "nothing",
  "error",
] as const satisfies readonly Verdict[];
// Compile-time guard: a verdict added to Verdict must be added here.
const _everyVerdict = (v: Verdict): (typeof VERDICTS)[number] => v;
void _everyVerdict;

/** A command's outcome, as `chainsaw_commands_total`'s `result`. */
export const COMMAND_RESULTS = ["ok", "failed", "timeout", "killed"] as const;

/** The daemon's two listeners, as the `listener` label of the `chainsaw_http_*` families. */
export const LISTENERS = ["health", "socket"] as const;

/** The timeouts of `chainsaw_http_timeouts_total`'s `phase`. */
const TIMEOUT_PHASES = ["idle", "header", "body", "write"] as const;

/** The daemon's metric handles; the registry is exposed so the pod features add their own families. */
export interface DaemonMetrics {
  readonly registry: MetricsRegistry;
  /** `chainsaw_invocations_total{verb,result}`: reports received, by verb and verdict. */
  readonly invocations: Counter;
  /** `chainsaw_commands_total{result}`: commands run, by outcome (ok, failed, timeout, killed). */
  readonly commands: Counter;
  /** `chainsaw_invocation_duration_seconds{verb}`: the reports' wall time. */
  readonly duration: Histogram;
  /** `chainsaw_reports_dropped_total{reason}`: report bodies refused (malformed, too_large). */
  readonly dropped: Counter;
  /** `chainsaw_log_followers`: open `GET /v1/logs?follow=1` streams. */
  readonly followers: Gauge;
  /** `chainsaw_log_followers_dropped_total{reason}`: follow streams ended for falling behind (too_slow). */
  readonly followersDropped: Counter;
  /** `chainsaw_http_connections{listener}`: connections being served (health, socket). */
  readonly httpConnections: Gauge;
  /** `chainsaw_http_connections_evicted_total{listener}`: at the cap, connections waiting for a request closed for a newcomer. */
  readonly httpEvicted: Counter;
  /** `chainsaw_http_accept_paused_seconds_total{listener}`: time at the cap with every connection busy, not accepting. */
  readonly httpAcceptPaused: Counter;
  /** `chainsaw_http_accept_errors_total{listener}`: failed accepts (e.g. EMFILE), each followed by a back-off. */
  readonly httpAcceptErrors: Counter;
  /** `chainsaw_http_timeouts_total{listener,phase}`: connections closed by a timeout (idle, header, body, write). */
  readonly httpTimeouts: Counter;
  /** `chainsaw_http_bad_requests_total{listener}`: malformed request heads refused (400, 411, 417, 431, 505). */
  readonly httpBadRequests: Counter;
  /** `chainsaw_log_ring_reports`: reports held in the ring. */
  readonly ringReports: Gauge;
  /** `chainsaw_kubeconfig_syncs_total{result}`: plugin kubeconfig checks (written, unchanged, error). */
  readonly kubeconfigSyncs: Counter;
  /** `chainsaw_ready`: 1 while /readyz answers 200. */
  readonly ready: Gauge;
  /** `chainsaw_rollbacks_total{result}`: `onError: "rollback"` restores after a failed list (restored, failed). */
  readonly rollbacks: Counter;
}

/** Registers the daemon's metrics on a new (or the given) registry. */
export function createDaemonMetrics(
  version: string,
  registry: MetricsRegistry = new MetricsRegistry(),
): DaemonMetrics {
  registry.gauge("chainsaw_build_info", "chainsaw build information; the value is always 1.", ["version"])
    .set(1, { version });
  const m: DaemonMetrics = {
    registry,
    invocations: registry.counter(
      "chainsaw_invocations_total",
      "Executions reported to the daemon (its own ADDs and re-applies, plugins' ADDs), by verb and result " +
        "(the report's verdict).",
      ["verb", "result"],
    ),
    commands: registry.counter(
      "chainsaw_commands_total",
      "ip commands run in pod network namespaces, by result (ok, failed, timeout, killed).",
      ["result"],
    ),
    duration: registry.histogram(
      "chainsaw_invocation_duration_seconds",
      "Wall time of reported executions, in seconds.",
      ["verb"],
    ),
    dropped: registry.counter(
      "chainsaw_reports_dropped_total",
      "Reports refused on the socket, by reason (malformed, too_large).",
      ["reason"],
    ),
    followers: registry.gauge("chainsaw_log_followers", "Open log follow streams on the socket."),
    followersDropped: registry.counter(
      "chainsaw_log_followers_dropped_total",
      "Log follow streams the daemon ended because the reader fell too far behind (reason too_slow).",
      ["reason"],
    ),
    httpConnections: registry.gauge(
      "chainsaw_http_connections",
      "Connections being served, by listener (health: the TCP health port, socket: the daemon socket).",
      ["listener"],
    ),
    httpEvicted: registry.counter(
      "chainsaw_http_connections_evicted_total",
      "Connections closed at the listener's cap to make room for a new one: the one that had gone longest " +
        "without a complete request (idle, or part of a head sent), by listener.",
      ["listener"],
    ),
    httpAcceptPaused: registry.counter(
      "chainsaw_http_accept_paused_seconds_total",
      "Seconds a listener spent at its cap with every connection busy, not accepting (new connections wait " +
        "in the kernel's backlog), by listener.",
      ["listener"],
    ),
    httpAcceptErrors: registry.counter(
      "chainsaw_http_accept_errors_total",
      "Failed accepts (such as too many open files), by listener; the listener backs off and keeps serving.",
      ["listener"],
    ),
    httpTimeouts: registry.counter(
      "chainsaw_http_timeouts_total",
      "Connections closed by a timeout, by listener and phase (idle, header, body, write).",
      ["listener", "phase"],
    ),
    httpBadRequests: registry.counter(
      "chainsaw_http_bad_requests_total",
      "Malformed requests refused before any handler ran, by listener.",
      ["listener"],
    ),
    ringReports: registry.gauge(
      "chainsaw_log_ring_reports",
      "Recent reports held in memory for the logs API.",
    ),
    kubeconfigSyncs: registry.counter(
      "chainsaw_kubeconfig_syncs_total",
      "Checks of the plugin kubeconfig against the service account, by result (written, unchanged, error).",
      ["result"],
    ),
    ready: registry.gauge(
      "chainsaw_ready",
      "1 when the daemon is ready (installed, socket up, not draining).",
    ),
    rollbacks: registry.counter(
      "chainsaw_rollbacks_total",
      "Rollbacks of a pod netns after a failed command list (onError rollback), by result (restored, failed).",
      ["result"],
    ),
  };
  // The series alerts watch are served at 0 from the start: a counter that appears at 1 shows Prometheus no
  // increase, so the first failure after a start would go unseen.
  for (const verb of REPORTED_VERBS) for (const result of VERDICTS) m.invocations.inc({ verb, result }, 0);
  for (const result of COMMAND_RESULTS) m.commands.inc({ result }, 0);
  for (const result of ["restored", "failed"]) m.rollbacks.inc({ result }, 0);
  for (const reason of ["malformed", "too_large"]) m.dropped.inc({ reason }, 0);
  for (const listener of LISTENERS) {
    m.httpConnections.inc({ listener }, 0);
    for (const c of [m.httpEvicted, m.httpAcceptPaused, m.httpAcceptErrors, m.httpBadRequests]) {
      c.inc({ listener }, 0);
    }
    for (const phase of TIMEOUT_PHASES) m.httpTimeouts.inc({ listener, phase }, 0);
  }
  registerProcessMetrics(registry);
  return m;
}

/** The label value for a verb. */
export function verbLabel(verb: string): string {
  return KNOWN_VERBS.includes(verb) ? verb : "other";
}

/** The outcome of one command, as a label value. */
export function commandResult(c: CommandResult): (typeof COMMAND_RESULTS)[number] {
  if (c.timedOut) return "timeout";
  if (c.exitCode === null) return "killed";
  return c.exitCode === 0 ? "ok" : "failed";
}

/** Counts one report. */
export function recordReport(m: DaemonMetrics, r: Report): void {
  const verb = verbLabel(r.verb);
  m.invocations.inc({ verb, result: r.verdict });
  for (const c of r.commands) m.commands.inc({ result: commandResult(c) });
  m.duration.observe(Math.max(0, r.durationMs) / 1000, { verb });
  if (r.rollback) m.rollbacks.inc({ result: r.rollback.restored ? "restored" : "failed" });
}
