/**
 * The bounded in-memory ring of recent reports behind `GET /v1/logs`: at most `maxCount` reports and about
 * `maxBytes` of JSON (the oldest go first), plus subscribers for `?follow=1`. Each report is stored once, as its
 * JSON line, so serving it costs no re-encoding.
 * @module
 */

/** A stored report. */
export interface RingEntry {
  /** Position in the daemon's life, from 1. */
  readonly seq: number;
  /** `namespace/name`, or undefined when the report has no pod. */
  readonly pod: string | undefined;
  /** The report as one JSON line (no trailing newline). */
  readonly json: string;
  /** The report's trace id, when it has one. */
  readonly traceId?: string;
}

/** Which reports a reader wants. */
export interface RingFilter {
  /** Only this pod (`namespace/name`). */
  pod?: string;
  /** Only reports with this trace id. */
  trace?: string;
}

/** A follower's callback; returns false when it wants no more (it is then removed). */
export type RingListener = (entry: RingEntry) => boolean;

/** Whether `entry` passes `filter`. */
export function matches(entry: RingEntry, filter: RingFilter): boolean {
  return (filter.pod === undefined || entry.pod === filter.pod) &&
    (filter.trace === undefined || entry.traceId === filter.trace);
}

/** The ring. */
export class ReportRing {
  readonly maxCount: number;
  readonly maxBytes: number;
  #entries: RingEntry[] = [];
  #bytes = 0;
  #seq = 0;
  readonly #listeners = new Map<RingListener, RingFilter>();

  constructor(maxCount: number, maxBytes: number = Infinity) {
    if (!(maxCount >= 1)) throw new RangeError("ring size must be at least 1");
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /** Number of reports held. */
  get size(): number {
    return this.#entries.length;
  }

  /** Approximate bytes held (JSON length). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of follow subscriptions. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Stores a report's JSON line, evicting the oldest as needed, and hands it to matching followers. */
  push(pod: string | undefined, json: string, traceId?: string): RingEntry {
    const entry: RingEntry = traceId === undefined
      ? { seq: ++this.#seq, pod, json }
      : { seq: ++this.#seq, pod, json, traceId };
    this.#entries.push(entry);
    this.#bytes += json.length;
    while (
      this.#entries.length > this.maxCount || (this.#bytes > this.maxBytes && this.#entries.length > 1)
    ) {
      this.#bytes -= this.#entries.shift()!.json.length;
    }
    for (const [listener, filter] of [...this.#listeners]) {
      if (matches(entry, filter) && !listener(entry)) this.#listeners.delete(listener);
    }
    return entry;
  }

  /** The last `limit` matching reports, oldest first. */
  recent(filter: RingFilter, limit: number): RingEntry[] {
    if (limit <= 0) return [];
    const out: RingEntry[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < limit; i--) {
      if (matches(this.#entries[i], filter)) out.push(this.#entries[i]);
    }
    return out.reverse();
  }

  /** Subscribes to new reports; returns the unsubscribe function. */
  subscribe(filter: RingFilter, listener: RingListener): () => void {
    this.#listeners.set(listener, filter);
    return () => void this.#listeners.delete(listener);
  }
}
