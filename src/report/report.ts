/**
 * The report: a typed record of one execution (an ADD, run by the daemon or the plugin, or a daemon re-apply)
 * that can be sent anywhere — stderr, the daemon socket, the logs API, Kubernetes Events. It is for
 * observability only: attachment registration and forgetting are their own messages (src/wire/attachment.ts).
 * @module
 */
import { visible, visibleLines, visibleWord } from "../text/visible.ts";

/** What one command did. */
export interface CommandResult {
  /** The command as written in the annotation. */
  command: string;
  /** Arguments given to `ip`. */
  argv: string[];
  /** Exit code; null when killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** True when chainsaw killed it at the timeout. */
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was longer than the cap. */
  truncated: boolean;
  /**
   * Declarative mode: not run again, because the previous value ran this same command and what it set is still
   * in place (an identical `add` is not a "File exists" error).
   */
  kept?: boolean;
}

/** What a run in declarative mode did to what chainsaw owns in the netns (one line per object). */
export interface EffectRecord {
  /** Objects chainsaw owns after the run (its effect's size). */
  owned: number;
  /** Objects of the previous value put back to their baseline value. */
  takenBack: string[];
  /** Objects of the previous value someone changed since chainsaw set them: left as they are, not owned. */
  leftAlone: string[];
}

/** How an invocation ended. */
export type Verdict =
  /** Every command ran and succeeded. */
  | "applied"
  /** A command failed (non-zero exit or timeout). */
  | "failed"
  /** The list was rejected (policy, parse error); nothing ran. */
  | "rejected"
  /** Nothing to run: no annotation, or none for this attachment's network. */
  | "nothing"
  /** The invocation failed before commands were considered (pod lookup, config). */
  | "error";

/** What `onError: "rollback"` did after a failed list. */
export type RollbackRecord =
  | {
    /** The netns equals its snapshot from before the list again. */
    restored: true;
    /** Wall time of the restore, in milliseconds. */
    durationMs: number;
  }
  | {
    /** Restoring failed: the netns still differs from before the list. */
    restored: false;
    durationMs: number;
    /** Why, one line each: failed restore commands, what cannot be restored, what still differs. */
    failures: string[];
  };

/** One invocation's record. */
export interface Report {
  /** Report schema version. */
  v: 1;
  /** ISO 8601 time the invocation started. */
  time: string;
  /** "ADD" or "REAPPLY" (daemon); the socket takes any short verb (metrics count unknown ones as "other"). */
  verb: string;
  /** Node name, when known. */
  node?: string;
  pod?: { namespace: string; name: string; uid: string };
  containerId: string;
  netns: string;
  ifname: string;
  /** The network (chain config) name. */
  network: string;
  /** The NetworkAttachmentDefinition (`namespace/name`) Multus set the attachment up for, when it did. */
  nad?: string;
  /** Where the annotation came from: the runtime, the daemon's cache, the API server, or nowhere. */
  source?: "runtime" | "daemon" | "api" | "none";
  /** The raw annotation value the commands came from (absent when the pod has none). */
  annotation?: string;
  /** The W3C trace id of the runtime's span that asked for this ADD (`TRACEPARENT`), when it passed one. */
  traceId?: string;
  /** The object-form key that picked the commands (interface, NAD, chain name or `*`); absent for a list. */
  key?: string;
  /** Keys of the annotation that name none of the pod's attachments (they do nothing), one sentence each. */
  warnings?: string[];
  /** The annotation's command strings, as detected. */
  detected: string[];
  commands: CommandResult[];
  verdict: Verdict;
  /** For rejected/failed/error: the CNI error code and message. */
  error?: { code: number; msg: string };
  /** With `onError: "rollback"`, when a command failed: whether the netns was restored. */
  rollback?: RollbackRecord;
  /** Declarative mode: what was taken back and left alone, and how much chainsaw owns now. */
  effect?: EffectRecord;
  /** Total wall time of the invocation, in milliseconds. */
  durationMs: number;
}

const RULE = "===============";

/** Put before every line of a command's output, so no output line can look like a record's own line. */
export const OUTPUT_INDENT = "    ";

/**
 * Formats a report the way the original chainsaw printed to its DaemonSet log (`Detected commands: [...]`,
 * `Running ip ... ===============`, the output), with the pod and verdict added.
 *
 * The header names the NAD (`nad=namespace/name`) after the chain's `network=` when the attachment came from a
 * Multus selection (the key that picked the commands is in the JSON form only), and ends with `trace=<trace id>`
 * when the runtime passed a valid `TRACEPARENT` (ADD only; a re-apply has
 * no trace), so the record can be joined to the runtime's trace.
 *
 * Every string that came from the pod, the runtime or the report's sender is neutralised with
 * {@link visible} (controls, line breaks, bidi controls escaped; the header's values with {@link visibleWord},
 * blanks escaped too), so a record is always exactly the lines written here: it starts with the time at the
 * margin, and each line of command output keeps its own line but is indented by {@link OUTPUT_INDENT}.
 *
 * @param r The report.
 * @returns The record, ending with a newline.
 * @example
 * ```ts
 * import { formatHuman } from "./report.ts";
 * declare const report: import("./report.ts").Report;
 * await Deno.stderr.write(new TextEncoder().encode(formatHuman(report)));
 * ```
 */
export function formatHuman(r: Report): string {
  const v = visible;
  const w = visibleWord;
  const who = r.pod ? `${w(r.pod.namespace)}/${w(r.pod.name)}` : "(no pod)";
  const lines: string[] = [
    `${w(r.time)} ${w(r.verb)} ${who} container=${w(r.containerId)} netns=${w(r.netns)} ifname=${
      w(r.ifname)
    } network=${w(r.network)}${r.nad === undefined ? "" : ` nad=${w(r.nad)}`}${
      r.traceId === undefined ? "" : ` trace=${w(r.traceId)}`
    }`,
  ];
  for (const warning of r.warnings ?? []) lines.push(`Warning: ${v(warning)}`);
  if (r.detected.length > 0) lines.push(`Detected commands: [${r.detected.map(v).join(", ")}]`);
  for (const c of r.commands) {
    lines.push(`${c.kept ? "Kept" : "Running"} ip ${c.argv.map(v).join(" ")} ${RULE}`);
    if (c.stdout !== "") lines.push(visibleLines(c.stdout, OUTPUT_INDENT));
    if (c.stderr !== "") lines.push(visibleLines(c.stderr, OUTPUT_INDENT));
    const end = c.timedOut
      ? "timed out"
      : c.exitCode === null
      ? `killed by ${v(String(c.signal))}`
      : `exit ${c.exitCode}`;
    lines.push(
      c.kept
        ? "(kept: the previous value set this and it is still in place; not run again)"
        : `(${end}, ${c.durationMs} ms${c.truncated ? ", output truncated" : ""})`,
    );
  }
  if (r.rollback?.restored === true) {
    lines.push(`Rollback: restored, the netns is as before the list (${r.rollback.durationMs} ms)`);
  } else if (r.rollback) {
    lines.push(
      `Rollback: FAILED, the netns is NOT as before the list (${r.rollback.durationMs} ms): ${
        r.rollback.failures.map(v).join("; ") || "unknown"
      }`,
    );
  }
  if (r.effect) {
    for (const t of r.effect.takenBack) lines.push(`Taken back: ${v(t)}`);
    for (const t of r.effect.leftAlone) lines.push(`Left alone: changed since chainsaw set it: ${v(t)}`);
    lines.push(`Owned: ${r.effect.owned} object${r.effect.owned === 1 ? "" : "s"}`);
  }
  lines.push(
    `Result: ${v(r.verdict)}${
      r.error ? ` (code ${r.error.code}: ${v(r.error.msg)})` : ""
    } in ${r.durationMs} ms`,
  );
  return lines.join("\n") + "\n";
}
