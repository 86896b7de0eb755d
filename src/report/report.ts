/**
 * The report: a typed record of one chainsaw invocation (plugin ADD/DEL or a daemon re-apply) that can be sent
 * anywhere — stderr, the daemon socket, the logs API, Kubernetes Events.
 * @module
 */
import type { CommandResult } from "../commands/runner.ts";

/** How an invocation ended. */
export type Verdict =
  /** Every command ran and succeeded. */
  | "applied"
  /** A command failed (non-zero exit or timeout). */
  | "failed"
  /** The list was rejected (policy, parse error); nothing ran. */
  | "rejected"
  /** Nothing to run: no pod identity, no annotation, or a verb that runs nothing. */
  | "nothing"
  /** The invocation failed before commands were considered (pod lookup, config). */
  | "error";

/** One invocation's record. */
export interface Report {
  /** Report schema version. */
  v: 1;
  /** ISO 8601 time the invocation started. */
  time: string;
  /** "ADD", "DEL", "CHECK", or "REAPPLY" (daemon). */
  verb: string;
  /** Node name, when known. */
  node?: string;
  pod?: { namespace: string; name: string; uid: string };
  containerId: string;
  netns: string;
  ifname: string;
  /** The network (chain) name. */
  network: string;
  /** Where the annotation came from: the runtime, the daemon's cache, the API server, or nowhere. */
  source?: "runtime" | "daemon" | "api" | "none";
  /** The raw annotation value the commands came from (absent when the pod has none). */
  annotation?: string;
  /** The pod's interfaces (from the previous result), for re-applying later with the same policy context. */
  podInterfaces?: string[];
  /**
   * ADD: the chain config's `policy` value (which narrows the node policy), so the daemon re-applies with the
   * same policy; absent when the chain sets none.
   */
  chainPolicy?: unknown;
  /** ADD: the chain config's `onError` mode, used again on re-apply. */
  onError?: "fail" | "continue";
  /** The annotation's command strings, as detected. */
  detected: string[];
  commands: CommandResult[];
  verdict: Verdict;
  /** For rejected/failed/error: the CNI error code and message. */
  error?: { code: number; msg: string };
  /** Total wall time of the invocation, in milliseconds. */
  durationMs: number;
}

const RULE = "===============";

/**
 * Formats a report the way the original chainsaw printed to its DaemonSet log (`Detected commands: [...]`,
 * `Running ip ... ===============`, the output), with the pod and verdict added.
 */
export function formatHuman(r: Report): string {
  const who = r.pod ? `${r.pod.namespace}/${r.pod.name}` : "(no pod)";
  const lines: string[] = [
    `${r.time} ${r.verb} ${who} container=${r.containerId} netns=${r.netns} ifname=${r.ifname} network=${r.network}`,
  ];
  if (r.detected.length > 0) lines.push(`Detected commands: [${r.detected.join(", ")}]`);
  for (const c of r.commands) {
    lines.push(`Running ip ${c.argv.join(" ")} ${RULE}`);
    if (c.stdout !== "") lines.push(c.stdout.replace(/\n$/, ""));
    if (c.stderr !== "") lines.push(c.stderr.replace(/\n$/, ""));
    const end = c.timedOut
      ? "timed out"
      : c.exitCode === null
      ? `killed by ${c.signal}`
      : `exit ${c.exitCode}`;
    lines.push(`(${end}, ${c.durationMs} ms${c.truncated ? ", output truncated" : ""})`);
  }
  lines.push(
    `Result: ${r.verdict}${r.error ? ` (code ${r.error.code}: ${r.error.msg})` : ""} in ${r.durationMs} ms`,
  );
  return lines.join("\n") + "\n";
}
