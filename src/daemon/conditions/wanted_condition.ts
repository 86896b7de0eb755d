/**
 * The pod condition `chainsaw.cni.cncf.io/applied`, computed from what chainsaw did in each of the pod's
 * attachments on this node. Pure: no I/O, no clock (the caller passes `now`).
 *
 * | status  | reason           | when                                                                                 |
 * | ------- | ---------------- | ------------------------------------------------------------------------------------ |
 * | `True`  | `Applied`        | every attachment's last ADD or re-apply ran its commands and all succeeded           |
 * | `True`  | `NoCommands`     | the pod has no chainsaw annotation, or none of it is for this pod's networks here    |
 * | `False` | `Failed`         | a command failed or timed out (or the invocation failed before running any)          |
 * | `False` | `Rejected`       | the list was rejected (policy, malformed annotation): nothing ran                     |
 * | `False` | `RolledBack`     | a command failed and the netns was restored to its state before the list (rollback)   |
 * | `False` | `RollbackFailed` | a command failed and restoring the netns failed too                                  |
 * | `False` | `Drifted`        | a drift check found what chainsaw set changed since (chain key `drift`: `report`)    |
 *
 * With several attachments the worst one decides (RollbackFailed, Failed, RolledBack, Drifted, Rejected; ties: the first
 * interface by name), and the message names its interface and first failing command. Messages are one line of
 * neutralised text ({@link conditionText}), at most {@link MAX_CONDITION_MESSAGE} characters.
 * @module
 */
import { APPLIED_CONDITION, type PodCondition } from "../../kube/pod_status.ts";
import type { Report } from "../../report/report.ts";
import { visible } from "../../text/visible.ts";

export { APPLIED_CONDITION };

/**
 * The reasons chainsaw writes. docs/reapply.md's condition table lists each (`tests/docs_truth_test.ts`).
 */
export const CONDITION_REASONS = [
  "Applied",
  "NoCommands",
  "Failed",
  "Rejected",
  "RolledBack",
  "RollbackFailed",
  "Drifted",
] as const;

/** One of {@link CONDITION_REASONS}. */
export type ConditionReason = (typeof CONDITION_REASONS)[number];

/** How one attachment's last execution ended. */
export type OutcomeResult =
  | "applied"
  | "nothing"
  | "failed"
  | "rejected"
  | "rolledBack"
  | "rollbackFailed"
  | "drifted";

/** What the condition is computed from: one attachment's last ADD or re-apply. */
export interface AttachmentOutcome {
  containerId: string;
  ifname: string;
  network: string;
  result: OutcomeResult;
  /** How many commands ran. */
  commands: number;
  /** For the failing results: the first failing command and why, or the error (one line, unbounded). */
  detail?: string;
}

/** The condition chainsaw wants on the pod (without the transition time). */
export interface WantedCondition {
  status: "True" | "False";
  reason: ConditionReason;
  message: string;
}

/** Longest condition message written. */
export const MAX_CONDITION_MESSAGE = 256;

/** Longest excerpt of a failing command's stderr in the message. */
const STDERR_EXCERPT = 120;

/**
 * One line of visible text: runs of whitespace (line breaks, tabs) become one space, then every other character
 * a terminal or log reader would act on is escaped visibly ({@link visible}: ESC as `\x1b`, bidi controls as
 * `\u202e`, …); the result is cut at `max` characters with `…`.
 *
 * @param text any text (a command, a tool's stderr)
 * @param max the longest result
 * @returns the neutralised text
 * @example
 * ```ts
 * conditionText("exit 2:\nRTNETLINK\u001b[31m answers", 256); // "exit 2: RTNETLINK\\x1b[31m answers"
 * ```
 */
export function conditionText(text: string, max: number = MAX_CONDITION_MESSAGE): string {
  return cut(visible(flatten(text)), max);
}

function flatten(text: string): string {
  return text.replace(/[\s\u0085]+/g, " ").trim();
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, Math.max(0, max - 1)) + "…";
}

function withoutPodPrefix(msg: string): string {
  return msg.replace(/^pod [^\s:]+\/[^\s:]+: /, "");
}

/**
 * The outcome of an execution report (an `ADD` from the plugin or a `REAPPLY` from the daemon), or undefined for
 * a report that is not an execution of a pod's attachment (DEL, no pod).
 *
 * @param report an accepted report
 * @returns the attachment's outcome
 * @example
 * ```ts
 * outcomeOfReport(addReport)?.result; // "applied", "failed", …
 * ```
 */
export function outcomeOfReport(report: Report): AttachmentOutcome | undefined {
  if (!report.pod || (report.verb !== "ADD" && report.verb !== "REAPPLY")) return undefined;
  const base = {
    containerId: report.containerId,
    ifname: report.ifname,
    network: report.network,
    commands: report.commands.length,
  };
  const error = report.error ? withoutPodPrefix(report.error.msg) : undefined;
  switch (report.verdict) {
    case "applied":
      return { ...base, result: "applied" };
    case "nothing":
      return { ...base, result: "nothing" };
    case "rejected":
      return { ...base, result: "rejected", detail: error ?? `rejected: ${report.detected.join("; ")}` };
    case "failed": {
      const result: OutcomeResult = report.rollback?.restored === true
        ? "rolledBack"
        : report.rollback
        ? "rollbackFailed"
        : "failed";
      const bad = report.commands.find((c) => c.timedOut || c.exitCode !== 0);
      if (!bad) return { ...base, result, detail: error ?? "failed" };
      const why = bad.timedOut
        ? "timed out"
        : bad.exitCode === null
        ? `killed by ${bad.signal}`
        : `exit ${bad.exitCode}`;
      const stderr = cut(flatten(bad.stderr || bad.stdout), STDERR_EXCERPT); // neutralised with the message
      return {
        ...base,
        result,
        detail: `"${bad.command}" failed: ${why}${stderr ? `: ${stderr}` : ""}`,
      };
    }
    default:
      return { ...base, result: "failed", detail: error ?? "the invocation failed" };
  }
}

const SEVERITY: Record<OutcomeResult, number> = {
  rollbackFailed: 5,
  failed: 4,
  rolledBack: 3,
  drifted: 2,
  rejected: 1,
  applied: 0,
  nothing: 0,
};

const REASON: Record<OutcomeResult, ConditionReason> = {
  rollbackFailed: "RollbackFailed",
  failed: "Failed",
  rolledBack: "RolledBack",
  rejected: "Rejected",
  drifted: "Drifted",
  applied: "Applied",
  nothing: "NoCommands",
};

/**
 * An attachment's outcome with its drift (a drift check's first difference, or undefined): an applied outcome
 * whose effect drifted becomes `drifted`; a failing one stays as it is (it says more).
 *
 * @param outcome the attachment's last execution
 * @param drift the first difference a drift check found, if it is drifted now
 * @returns the outcome the condition is computed from
 * @example
 * ```ts
 * withDrift(applied, "route v4 main 192.0.3.0/24: gone").result; // "drifted"
 * ```
 */
export function withDrift(outcome: AttachmentOutcome, drift: string | undefined): AttachmentOutcome {
  if (drift === undefined || SEVERITY[outcome.result] > SEVERITY.drifted) return outcome;
  return { ...outcome, result: "drifted", detail: drift };
}

const byIfname = (a: AttachmentOutcome, b: AttachmentOutcome) =>
  a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0;

/**
 * The condition for a pod, or undefined when there is nothing to say yet (annotated, but no outcome known).
 *
 * @param outcomes the last outcome of each of the pod's attachments on this node
 * @param annotated whether the pod carries the chainsaw annotation now (without it: `True`/`NoCommands`)
 * @returns the wanted condition
 * @example
 * ```ts
 * wantedCondition([{ containerId: "c", ifname: "net1", network: "n", result: "applied", commands: 2 }], true);
 * // { status: "True", reason: "Applied", message: "2 commands applied on net1" }
 * ```
 */
export function wantedCondition(
  outcomes: readonly AttachmentOutcome[],
  annotated: boolean,
): WantedCondition | undefined {
  if (!annotated) {
    return { status: "True", reason: "NoCommands", message: "the pod has no chainsaw annotation" };
  }
  if (outcomes.length === 0) return undefined;
  const sorted = [...outcomes].sort(byIfname);
  const worst = sorted.reduce((w, o) => SEVERITY[o.result] > SEVERITY[w.result] ? o : w, sorted[0]);
  if (SEVERITY[worst.result] > 0) {
    const others = sorted.filter((o) => o !== worst && SEVERITY[o.result] > 0).length;
    const more = others > 0 ? ` (and ${others} more attachment${others === 1 ? "" : "s"})` : "";
    const head = worst.result === "rolledBack"
      ? `${worst.ifname}: rolled back: `
      : worst.result === "rollbackFailed"
      ? `${worst.ifname}: rollback failed: `
      : worst.result === "drifted"
      ? `${worst.ifname}: drifted: `
      : `${worst.ifname}: `;
    return {
      status: "False",
      reason: REASON[worst.result],
      message: conditionText(`${head}${worst.detail ?? worst.result}${more}`),
    };
  }
  const ran = sorted.filter((o) => o.result === "applied");
  if (ran.length === 0) {
    return {
      status: "True",
      reason: "NoCommands",
      message: "no chainsaw commands for this pod's networks on this node",
    };
  }
  const n = ran.reduce((sum, o) => sum + o.commands, 0);
  return {
    status: "True",
    reason: "Applied",
    message: conditionText(
      `${n} command${n === 1 ? "" : "s"} applied on ${ran.map((o) => o.ifname).join(", ")}`,
    ),
  };
}

/** Kubernetes timestamps: RFC 3339, seconds precision. */
export function conditionTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The condition to write, or undefined when `current` already says what `wanted` says (no PATCH).
 * `lastTransitionTime` is kept while the status stays the same and set to `now` when it changes.
 *
 * @param current the pod's condition of chainsaw's type as last seen (undefined: none)
 * @param wanted what it should say
 * @param now the clock
 * @returns the whole condition to write, or undefined
 * @example
 * ```ts
 * nextCondition(undefined, { status: "True", reason: "Applied", message: "1 command applied on eth0" }, new Date());
 * // { type: APPLIED_CONDITION, status: "True", reason: "Applied", message: …, lastTransitionTime: "…Z" }
 * ```
 */
export function nextCondition(
  current: PodCondition | undefined,
  wanted: WantedCondition,
  now: Date,
): PodCondition | undefined {
  if (
    current && current.status === wanted.status && (current.reason ?? "") === wanted.reason &&
    (current.message ?? "") === wanted.message
  ) return undefined;
  const keep = current && current.status === wanted.status && current.lastTransitionTime;
  return {
    type: APPLIED_CONDITION,
    status: wanted.status,
    reason: wanted.reason,
    message: wanted.message,
    lastTransitionTime: keep ? current.lastTransitionTime : conditionTime(now),
  };
}
