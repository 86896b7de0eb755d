/**
 * Exponential back-off, written once for every retry loop of chainsaw: the pod watch (with full jitter), the pod
 * condition writer and the HTTP server's accept loop (without). The ceiling doubles per consecutive failure from
 * `baseMs` up to `maxMs`; with a random source the delay is drawn below it ("full jitter", so that many nodes
 * failing together do not retry together), floored at `baseMs` so that a retry loop is never tight.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 *
 * backoffDelay(0, { baseMs: 500, maxMs: 8000 }); // 500
 * backoffDelay(3, { baseMs: 500, maxMs: 8000 }); // 4000
 * backoffDelay(9, { baseMs: 500, maxMs: 8000 }); // 8000
 * backoffDelay(3, { baseMs: 500, maxMs: 8000 }, Math.random); // 500 ≤ delay < 4000
 * ```
 * @module
 */

/** Back-off bounds: the ceiling doubles per consecutive failure from `baseMs` up to `maxMs`. */
export interface BackoffBounds {
  /** First ceiling and the floor of every delay, in milliseconds. */
  baseMs: number;
  /** Largest ceiling, in milliseconds. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0-based: the retry after the first failure is 0).
 *
 * @param attempt consecutive failures so far, minus one
 * @param bounds the first and the largest ceiling
 * @param random uniform in [0, 1) for full jitter; without it the delay is the ceiling itself
 * @returns `min(maxMs, baseMs * 2^attempt)`, or with `random` `max(baseMs, floor(random() * that))`
 */
export function backoffDelay(attempt: number, bounds: BackoffBounds, random?: () => number): number {
  const ceiling = Math.min(bounds.maxMs, bounds.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return random ? Math.max(bounds.baseMs, Math.floor(random() * ceiling)) : ceiling;
}
