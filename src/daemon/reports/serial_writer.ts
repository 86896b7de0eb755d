/**
 * Ordered, whole-record writes to a stream (the daemon's stdout and stderr): each record is encoded once and
 * written completely before the next starts, so concurrent reports never interleave in `kubectl logs`.
 * @module
 */

import { type ByteSink, writeAll } from "../../bytes.ts";

export type { ByteSink };

const encoder = new TextEncoder();

/** Queues records and writes them one at a time, in order. */
export class SerialWriter {
  readonly #sink: ByteSink;
  readonly #onError: (e: unknown) => void;
  #tail: Promise<void> = Promise.resolve();
  #failed = false;
  #pending = 0;

  /** `onError` hears about the first failed write (e.g. a closed pipe); later records are discarded. */
  constructor(sink: ByteSink, onError: (e: unknown) => void = () => {}) {
    this.#sink = sink;
    this.#onError = onError;
  }

  /** Records queued and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** Queues one record; resolves when it has been written (or discarded). Never rejects. */
  write(record: string): Promise<void> {
    const data = encoder.encode(record);
    this.#pending++;
    this.#tail = this.#tail.then(async () => {
      try {
        if (!this.#failed) await writeAll(this.#sink, data);
      } catch (e) {
        this.#failed = true;
        this.#onError(e);
      } finally {
        this.#pending--;
      }
    });
    return this.#tail;
  }

  /** Resolves when everything queued so far has been written. */
  flush(): Promise<void> {
    return this.#tail;
  }
}
