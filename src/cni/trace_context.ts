/**
 * W3C Trace Context from the runtime: newer libcni passes the caller's span to plugins as the `TRACEPARENT` and
 * `TRACESTATE` environment variables (the W3C `traceparent` / `tracestate` headers). chainsaw reads them so an
 * operator can join its report, log line and Event to the runtime's trace. An invalid value is ignored, never an
 * error: tracing must not break a pod.
 *
 * @example
 * ```ts
 * import { parseTraceContext } from "./trace_context.ts";
 * const t = parseTraceContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", undefined);
 * // t = { traceparent: "00-4bf9…-01", traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true }
 * ```
 * @module
 */

/** A valid trace context. */
export interface TraceContext {
  /** The `traceparent` value as received (lower-case hex). */
  traceparent: string;
  /** 32 hex digits. */
  traceId: string;
  /** The caller's span (parent-id), 16 hex digits. */
  spanId: string;
  /** The `sampled` flag. */
  sampled: boolean;
  /** The `tracestate` value when it is well-formed. */
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** A tracestate list member: `key=value` (W3C Trace Context level 1, section 3.3.1). */
const MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Parses `traceparent` and `tracestate` (W3C Trace Context level 1). Returns undefined for a missing or invalid
 * `traceparent` (version `ff`, wrong lengths, upper-case hex, all-zero ids, version 00 with extra fields); an
 * invalid `tracestate` is dropped while the `traceparent` is kept.
 *
 * @param traceparent the `TRACEPARENT` value
 * @param tracestate the `TRACESTATE` value
 * @returns the trace context, or undefined
 */
export function parseTraceContext(
  traceparent: string | undefined,
  tracestate: string | undefined,
): TraceContext | undefined {
  if (traceparent === undefined || traceparent.length > 512) return undefined;
  const value = traceparent.trim();
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const ctx: TraceContext = {
    traceparent: rest === undefined ? value : `${version}-${traceId}-${spanId}-${flags}`,
    traceId,
    spanId,
    sampled: (parseInt(flags, 16) & 1) === 1,
  };
  const state = validTracestate(tracestate);
  if (state !== undefined) ctx.tracestate = state;
  return ctx;
}

/** The `tracestate` value when well-formed (at most 32 members, 512 characters), else undefined. */
export function validTracestate(tracestate: string | undefined): string | undefined {
  if (tracestate === undefined || tracestate.length === 0 || tracestate.length > 512) return undefined;
  const members = tracestate.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (members.length === 0 || members.length > 32) return undefined;
  const keys = new Set<string>();
  for (const member of members) {
    if (!MEMBER.test(member)) return undefined;
    const key = member.slice(0, member.indexOf("="));
    if (keys.has(key)) return undefined;
    keys.add(key);
  }
  return members.join(",");
}

/**
 * The trace context of the environment (`TRACEPARENT`, `TRACESTATE`: both in the permission set's `--allow-env`).
 *
 * @param getenv reads one environment variable
 * @returns the trace context, or undefined when absent or invalid
 */
export function traceContextFromEnv(getenv: (name: string) => string | undefined): TraceContext | undefined {
  return parseTraceContext(getenv("TRACEPARENT"), getenv("TRACESTATE"));
}
