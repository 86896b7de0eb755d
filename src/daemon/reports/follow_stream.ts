/**
 * The body of a `GET /v1/logs?follow=1` stream with a byte budget. Reports wait for a follower as references to
 * the ring's own JSON lines (nothing is copied until the connection can take it: the stream is pulled, one line
 * per write), and a follower that falls more than `maxBytes` of new reports behind is dropped: what waited is
 * released, and the stream ends with one {@link FollowEnd} line saying why. So a `chainsaw logs -f` that stops
 * reading costs the daemon at most its budget (plus one report), never unbounded memory.
 * @module
 */
import type { FollowEnd } from "../../wire/logs.ts";
import type { ReportRing, RingEntry, RingFilter } from "./report_ring.ts";

/** Options of a follow stream. */
export interface FollowStreamOptions {
  ring: ReportRing;
  filter: RingFilter;
  /** Reports sent first (already in the ring: they do not count against the budget). */
  backlog: readonly RingEntry[];
  /** Most bytes of new reports waiting for this follower. */
  maxBytes: number;
  /** Called once when the follower is dropped for being too slow. */
  onDrop?: () => void;
  /** Called once when the stream is over (dropped, closed, or cancelled by the peer). */
  onEnd?: () => void;
}

/** A follow stream and its end. */
export interface FollowStream {
  readonly body: ReadableStream<Uint8Array>;
  /** Ends the stream after what is waiting (daemon shutdown). */
  close(): void;
}

const encoder = new TextEncoder();

/**
 * The final line of a dropped follower.
 *
 * @param maxBytes the budget it went over
 */
export function tooSlowLine(maxBytes: number): string {
  const end: FollowEnd = {
    chainsaw: "follow-ended",
    reason: "too-slow",
    message:
      `this follower fell more than ${maxBytes} bytes of reports behind (--follower-max-bytes) and was ` +
      "dropped; reports since then were not sent: reconnect to follow again",
  };
  return JSON.stringify(end);
}

/**
 * Subscribes to the ring and builds the stream.
 *
 * @param opts ring, filter, backlog, budget, callbacks
 * @example
 * ```ts
 * import { ReportRing } from "./report_ring.ts";
 * const ring = new ReportRing(10);
 * const f = followStream({ ring, filter: {}, backlog: [], maxBytes: 1 << 20 });
 * f.close();
 * ```
 */
export function followStream(opts: FollowStreamOptions): FollowStream {
  let queue: (RingEntry | undefined)[] = [...opts.backlog];
  let next = 0;
  /** Entries before this index of `queue` are the backlog. */
  let backlogEnd = queue.length;
  let liveBytes = 0;
  let state: "open" | "closing" | "dropped" | "over" = "open";
  let wake: (() => void) | undefined;

  const unsubscribe = opts.ring.subscribe(opts.filter, (e) => {
    if (state !== "open") return false;
    const size = e.json.length + 1;
    if (liveBytes > 0 && liveBytes + size > opts.maxBytes) {
      state = "dropped";
      queue = [];
      next = backlogEnd = liveBytes = 0;
      stop();
      opts.onDrop?.();
      wake?.();
      return false;
    }
    queue.push(e);
    liveBytes += size;
    wake?.();
    return true;
  });

  let stopped = false;
  function stop(): void {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    opts.onEnd?.();
  }

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (next < queue.length) {
          const e = queue[next]!;
          queue[next] = undefined;
          if (next >= backlogEnd) liveBytes -= e.json.length + 1;
          next++;
          if (next === queue.length) {
            queue = [];
            next = backlogEnd = 0;
          } else if (next > 1024 && next * 2 > queue.length) {
            queue = queue.slice(next);
            backlogEnd = Math.max(0, backlogEnd - next);
            next = 0;
          }
          controller.enqueue(encoder.encode(e.json + "\n"));
          return;
        }
        if (state === "dropped") {
          state = "over";
          controller.enqueue(encoder.encode(tooSlowLine(opts.maxBytes) + "\n"));
          controller.close();
          return;
        }
        if (state === "over") return; // cancelled by the peer
        if (state === "closing") {
          state = "over";
          stop();
          controller.close();
          return;
        }
        await new Promise<void>((r) => wake = r);
        wake = undefined;
      }
    },
    cancel() {
      state = "over";
      queue = [];
      stop();
      wake?.();
    },
  }, { highWaterMark: 0 });

  return {
    body,
    close() {
      if (state === "open") {
        state = "closing";
        stop();
        wake?.();
      }
    },
  };
}
