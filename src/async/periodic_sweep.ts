/**
 * A periodic sweep over a changing set of keys: every `intervalMs` each key is visited once, the visits spread
 * evenly over the interval (key i of n at `i × interval / n` into the round) instead of in one burst, at most
 * `parallel` at once, never two of one key at once, and a key whose `busy` says so (its pod's sync is running) is
 * skipped for the round. The daemon's drift checker runs on it. Time comes from a {@link SweepClock}, so tests
 * drive it with a fake clock and no real waits.
 *
 * @example
 * ```ts
 * import { PeriodicSweep } from "./periodic_sweep.ts";
 *
 * const sweep = new PeriodicSweep({
 *   intervalMs: 60_000,
 *   keys: () => ["default/p1 eth0", "default/p2 eth0"],
 *   visit: async (key) => console.log(`check ${key}`),
 *   busy: (key) => false,
 *   parallel: 2,
 * });
 * sweep.start();
 * // at shutdown:
 * await sweep.stop();
 * ```
 * @module
 */
import { abortableSleep } from "./abortable_sleep.ts";
import { Slots } from "./slots.ts";

/** Where a sweep's time comes from. */
export interface SweepClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Waits `ms` or until `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and a timer. */
export const REAL_CLOCK: SweepClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => abortableSleep(ms, signal),
};

/** Why a key was not visited when its turn came. */
export type SkipReason = "busy" | "running";

/** Options of a {@link PeriodicSweep}. */
export interface PeriodicSweepOptions {
  /** One round's length, in milliseconds (> 0). */
  intervalMs: number;
  /** The keys to visit, read at the start of each round (their order is the visiting order). */
  keys(): readonly string[];
  /** Visits one key; a rejection goes to `onError`. */
  visit(key: string, signal: AbortSignal): Promise<void>;
  /** True when `key` must not be visited now (e.g. its pod's sync is running): it is skipped this round. */
  busy?(key: string): boolean;
  /** Visits at once (default 2). */
  parallel?: number;
  /** The clock (default {@link REAL_CLOCK}). */
  clock?: SweepClock;
  /** Told of a visit that threw. */
  onError?(key: string, error: unknown): void;
  /** Told of a key skipped when its turn came (`busy`, or its previous visit still `running`). */
  onSkip?(key: string, reason: SkipReason): void;
}

/** The sweep; see the module documentation. */
export class PeriodicSweep {
  readonly #o: PeriodicSweepOptions;
  readonly #clock: SweepClock;
  readonly #slots: Slots;
  readonly #stop = new AbortController();
  readonly #running = new Set<string>();
  readonly #visits = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #rounds = 0;

  /** @param opts the interval, the keys, the visit and the bounds */
  constructor(opts: PeriodicSweepOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0 (got ${opts.intervalMs})`);
    this.#o = opts;
    this.#clock = opts.clock ?? REAL_CLOCK;
    this.#slots = new Slots(Math.max(1, opts.parallel ?? 2));
  }

  /** Rounds begun so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** Starts the rounds (the first begins now); a second call does nothing. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ends the rounds: no new visit begins; resolves once the visits in flight have finished. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await Promise.all([...this.#visits]);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const interval = this.#o.intervalMs;
    while (!signal.aborted) {
      this.#rounds++;
      const start = this.#clock.now();
      const keys = [...this.#o.keys()];
      for (let i = 0; i < keys.length && !signal.aborted; i++) {
        const wait = start + (i * interval) / keys.length - this.#clock.now();
        if (wait > 0) await this.#clock.sleep(wait, signal);
        if (signal.aborted) break;
        await this.#slots.acquire();
        if (signal.aborted) {
          this.#slots.release();
          break;
        }
        this.#launch(keys[i], signal);
      }
      const rest = start + interval - this.#clock.now();
      if (rest > 0 && !signal.aborted) await this.#clock.sleep(rest, signal);
    }
  }

  /** Visits `key` in the slot the caller holds (or releases it when the key is skipped). */
  #launch(key: string, signal: AbortSignal): void {
    const skip: SkipReason | undefined = this.#running.has(key)
      ? "running"
      : this.#o.busy?.(key)
      ? "busy"
      : undefined;
    if (skip) {
      this.#slots.release();
      this.#o.onSkip?.(key, skip);
      return;
    }
    this.#running.add(key);
    const visit = (async () => {
      try {
        await this.#o.visit(key, signal);
      } catch (e) {
        this.#o.onError?.(key, e);
      } finally {
        this.#running.delete(key);
        this.#slots.release();
      }
    })();
    this.#visits.add(visit);
    void visit.finally(() => this.#visits.delete(visit));
  }
}
