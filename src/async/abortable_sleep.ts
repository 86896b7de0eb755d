/**
 * A timer that an AbortSignal cuts short: the retry waits of the pod watch and the pod condition writer end at
 * once when the daemon shuts down.
 *
 * @example
 * ```ts
 * import { abortableSleep } from "./abortable_sleep.ts";
 *
 * const stop = new AbortController();
 * setTimeout(() => stop.abort(), 10);
 * await abortableSleep(60_000, stop.signal); // returns after about 10 ms
 * ```
 * @module
 */

/**
 * Sleeps `ms`, or less when `signal` aborts; never rejects and leaves no timer behind.
 *
 * @param ms how long to wait, in milliseconds
 * @param signal ends the wait early when aborted
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Waits for `p` to settle, or `ms` milliseconds, whichever comes first; never rejects and leaves no timer behind.
 *
 * @param p what to wait for (its rejection is ignored)
 * @param ms the most to wait, in milliseconds
 * @returns true when `p` settled in time
 */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = p.then(() => true, () => true);
  const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), Math.min(ms, 2 ** 31 - 1)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
