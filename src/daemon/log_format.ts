/**
 * What the daemon prints: each report on stdout (the seed's human format, or one JSON object per line) and its
 * own messages on stderr (`chainsaw daemon: …`, or JSON lines with `level` and `msg`).
 * @module
 */
import { formatHuman, type Report } from "../report/report.ts";

/** The `--log-format` values. */
export const LOG_FORMATS = ["human", "json"] as const;

/** A log format. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** One report as one stdout record (ends with a newline). */
export function formatReportRecord(r: Report, format: LogFormat): string {
  return format === "json" ? JSON.stringify(r) + "\n" : formatHuman(r);
}

/** Severity of a daemon message. */
export type Level = "info" | "warn" | "error";

/** One daemon message as one stderr record (ends with a newline). */
export function formatMessage(
  format: LogFormat,
  level: Level,
  msg: string,
  fields: Record<string, unknown> = {},
  now: Date = new Date(),
): string {
  if (format === "json") return JSON.stringify({ time: now.toISOString(), level, msg, ...fields }) + "\n";
  const extra = Object.entries(fields).map(([k, v]) =>
    ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
  );
  return `${now.toISOString()} chainsaw daemon: ${level === "info" ? "" : `${level}: `}${msg}${
    extra.join("")
  }\n`;
}
