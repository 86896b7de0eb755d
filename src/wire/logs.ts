/**
 * The logs contract of the daemon socket, shared by the daemon (which serves it) and `chainsaw logs` (which reads
 * it): the route `GET /v1/logs` ({@link LOGS_PATH}), its query (`pod=namespace/name`, `trace=<32 hex digits>`:
 * only reports with that trace id, `limit=N`: most recent N, default 100, `follow=1`), and the answer: NDJSON of
 * reports (src/wire/report.ts), of which the last line of a stream the daemon ended early is a {@link FollowEnd}.
 * @module
 */
import { describeZodIssue } from "../text/zod_issue.ts";
import { ROUTES } from "./routes.ts";
import * as z from "zod/mini";

/** The route's path (`GET`). */
export const LOGS_PATH: string = ROUTES.logs.path;

/** The last line of a stream the daemon ended early (a JSON object; reports never have this key). */
export interface FollowEnd {
  chainsaw: "follow-ended";
  reason: "too-slow";
  message: string;
}

/**
 * Recognises a {@link FollowEnd} line.
 *
 * @param line one NDJSON line of `/v1/logs`
 * @returns the end record, or undefined for anything else (a report)
 * @example
 * ```ts
 * parseFollowEnd('{"chainsaw":"follow-ended","reason":"too-slow","message":"dropped"}')?.reason; // "too-slow"
 * parseFollowEnd('{"v":1,"verb":"ADD"}'); // undefined
 * ```
 */
export function parseFollowEnd(line: string): FollowEnd | undefined {
  if (!line.startsWith('{"chainsaw":')) return undefined;
  try {
    const v = JSON.parse(line) as Partial<FollowEnd>;
    return v.chainsaw === "follow-ended" && typeof v.message === "string" ? v as FollowEnd : undefined;
  } catch {
    return undefined;
  }
}

/** Reports returned when `limit` is not given. */
export const DEFAULT_LOGS_LIMIT = 100;
/** Largest accepted `limit`. */
export const MAX_LOGS_LIMIT = 1_000_000;

/** A decoded logs query. */
export interface LogsQuery {
  /** `namespace/name`, when filtering by pod. */
  pod?: string;
  /** A W3C trace id (32 lower-case hex digits), when filtering by trace. */
  trace?: string;
  /** How many of the most recent matching reports to return first (0: none). */
  limit: number;
  /** Keep the response open and stream new matching reports. */
  follow: boolean;
}

const POD = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

/** A W3C trace id; upper-case hex is accepted and lower-cased (ids are stored lower-case). */
export const TRACE_ID = /^[0-9a-fA-F]{32}$/;

const QuerySchema = z.object({
  pod: z.optional(z.string().check(z.regex(POD, "pod must be namespace/name"), z.maxLength(320))),
  trace: z.optional(z.string().check(z.regex(TRACE_ID, "trace must be a trace id (32 hex digits)"))),
  limit: z.optional(z.string().check(z.regex(/^\d{1,7}$/, "limit must be a whole number"))),
  follow: z.optional(z.enum(["1", "0", "true", "false"])),
});

/** Why a query was refused. */
export class LogsQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogsQueryError";
  }
}

/** Decodes the query string; throws {@link LogsQueryError} on bad values. Unknown parameters are ignored. */
export function parseLogsQuery(params: URLSearchParams): LogsQuery {
  const raw: Record<string, string> = {};
  for (const key of ["pod", "trace", "limit", "follow"]) {
    const v = params.get(key);
    if (v !== null) raw[key] = v;
  }
  const r = QuerySchema.safeParse(raw);
  if (!r.success) {
    throw new LogsQueryError(describeZodIssue(r.error));
  }
  const limit = r.data.limit === undefined ? DEFAULT_LOGS_LIMIT : Number(r.data.limit);
  if (limit > MAX_LOGS_LIMIT) throw new LogsQueryError(`limit: at most ${MAX_LOGS_LIMIT}`);
  const q: LogsQuery = { pod: r.data.pod, limit, follow: r.data.follow === "1" || r.data.follow === "true" };
  if (r.data.trace !== undefined) q.trace = r.data.trace.toLowerCase();
  return q;
}

/** Encodes a query as `pod=…&trace=…&limit=…&follow=1` (the inverse of {@link parseLogsQuery}). */
export function logsQueryString(q: Partial<LogsQuery>): string {
  const p = new URLSearchParams();
  if (q.pod !== undefined) p.set("pod", q.pod);
  if (q.trace !== undefined) p.set("trace", q.trace);
  if (q.limit !== undefined) p.set("limit", String(q.limit));
  if (q.follow) p.set("follow", "1");
  return p.toString();
}
