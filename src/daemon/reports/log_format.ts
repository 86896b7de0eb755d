/**
 * What the daemon prints: each report on stdout (the seed's human format, or one JSON object per line) and its
 * own messages on stderr (`chainsaw daemon: …`, or JSON lines with `level` and `msg`).
 *
 * Both formats are safe to read whatever a pod put in its annotation, names or command output: the human one
 * neutralises every such string ({@link visible}: controls, line breaks and bidi controls escaped visibly), the
 * JSON one is exact JSON on one line with no raw control or bidi character ({@link visibleJson}).
 * @module
 */
import { formatHuman, type Report } from "../../report/report.ts";
import { visible, visibleJson, visibleWord } from "../../text/visible.ts";

/** The `--log-format` values. */
export const LOG_FORMATS = ["human", "json"] as const;

/** A log format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * One report as one stdout record (ends with a newline).
 *
 * @param r The report.
 * @param format `human` (several lines, see {@link formatHuman}) or `json` (one line).
 * @returns The record.
 * @example
 * ```ts
 * import { formatReportRecord } from "./log_format.ts";
 * declare const report: import("../../report/report.ts").Report;
 * formatReportRecord(report, "json"); // '{"v":1,…}\n'
 * ```
 */
export function formatReportRecord(r: Report, format: LogFormat): string {
  return format === "json" ? visibleJson(r) + "\n" : formatHuman(r);
}

/** Severity of a daemon message. */
export type Level = "info" | "warn" | "error";

/**
 * One daemon message as one stderr record (ends with a newline, and has no other).
 *
 * @param format `human`: `TIME chainsaw daemon: [LEVEL: ]MSG key=value…`, the message and values neutralised
 *   (keys and values without blanks);
 *   `json`: `{"time","level","msg",…fields}`.
 * @param level Severity.
 * @param msg The message; it may quote pod-controlled text.
 * @param fields Extra key/value pairs.
 * @param now The time printed.
 * @returns The record.
 * @example
 * ```ts
 * import { formatMessage } from "./log_format.ts";
 * formatMessage("human", "warn", "pod a\nb", {}, new Date(0));
 * // '1970-01-01T00:00:00.000Z chainsaw daemon: warn: pod a\\nb\n'
 * ```
 */
export function formatMessage(
  format: LogFormat,
  level: Level,
  msg: string,
  fields: Record<string, unknown> = {},
  now: Date = new Date(),
): string {
  if (format === "json") return visibleJson({ time: now.toISOString(), level, msg, ...fields }) + "\n";
  const extra = Object.entries(fields).map(([k, v]) =>
    ` ${visibleWord(k)}=${visibleWord(typeof v === "string" ? v : String(JSON.stringify(v)))}`
  );
  return `${now.toISOString()} chainsaw daemon: ${level === "info" ? "" : `${level}: `}${visible(msg)}${
    extra.join("")
  }\n`;
}
