/**
 * A work queue that coalesces per key, like a Kubernetes controller's: work for a key that is already waiting or
 * running is merged into one more round, never queued twice, so a burst of changes to one pod costs at most the
 * round running now and one after it. Rounds of one key run one at a time, in order; at most `parallel` keys run
 * at once (the others wait in arrival order). The live re-apply and the pod condition writer both use it.
 *
 * @example
 * ```ts
 * import { KeyedQueue } from "./keyed_queue.ts";
 *
 * const queue = new KeyedQueue<string>({
 *   parallel: 4,
 *   run: async (key, change) => console.log(`sync ${key} (${change})`),
 * });
 * queue.add("default/p1", "edited");
 * queue.add("default/p1", "edited again"); // merged: one more round at most
 * await queue.idle();
 * ```
 * @module
 */
import { settledWithin } from "./abortable_sleep.ts";
import { Slots } from "./slots.ts";

/** Options of a {@link KeyedQueue}. */
export interface KeyedQueueOptions<T> {
  /** One round for `key`, with what was added since the previous round began; a rejection goes to `onError`. */
  run(key: string, work: T): Promise<void>;
  /** Merges work added while other work for the key waits (default: the newer replaces the older). */
  merge?(waiting: T, added: T): T;
  /** Told of a round that threw; the key's next round still runs (default: ignored). */
  onError?(key: string, error: unknown): void;
  /** Keys run at once (default 4). */
  parallel?: number;
  /** Once aborted, nothing is added and no new round begins (a round running finishes). */
  signal?: AbortSignal;
}

interface Entry<T> {
  /** Work added since the current round began, when any. */
  waiting: { work: T } | undefined;
}

/** The queue; see the module documentation. */
export class KeyedQueue<T> {
  readonly #o: KeyedQueueOptions<T>;
  readonly #entries = new Map<string, Entry<T>>();
  readonly #running = new Set<Promise<void>>();
  readonly #slots: Slots;

  /** @param opts the round, the merge and the bounds */
  constructor(opts: KeyedQueueOptions<T>) {
    this.#o = opts;
    this.#slots = new Slots(opts.parallel ?? 4);
  }

  get #stopped(): boolean {
    return this.#o.signal?.aborted ?? false;
  }

  /** Keys waiting or running. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether work for `key` is waiting or running.
   *
   * @param key the key
   */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Adds work for `key`: merged into the work already waiting for it, else a round is scheduled (after the one
   * running, if any).
   *
   * @param key what the work is about (a pod)
   * @param work what the round gets
   */
  add(key: string, work: T): void {
    if (this.#stopped) return;
    const entry = this.#entries.get(key);
    if (entry) {
      const merge = this.#o.merge ?? ((_: T, added: T) => added);
      entry.waiting = { work: entry.waiting ? merge(entry.waiting.work, work) : work };
      return;
    }
    const fresh: Entry<T> = { waiting: { work } };
    this.#entries.set(key, fresh);
    const loop = (async () => {
      await this.#slots.acquire();
      try {
        while (fresh.waiting && !this.#stopped) {
          const { work } = fresh.waiting;
          fresh.waiting = undefined;
          try {
            await this.#o.run(key, work);
          } catch (e) {
            this.#o.onError?.(key, e);
          }
        }
      } finally {
        this.#entries.delete(key);
        this.#slots.release();
      }
    })();
    this.#running.add(loop);
    void loop.finally(() => this.#running.delete(loop));
  }

  /**
   * Resolves once no key is waiting or running, or after `timeoutMs`.
   *
   * @param timeoutMs the most to wait, in milliseconds
   */
  async idle(timeoutMs: number = Infinity): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.#running.size > 0 && Date.now() < end) {
      await settledWithin(Promise.all([...this.#running]), end - Date.now());
    }
  }
}
