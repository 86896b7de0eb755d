/**
 * A counting semaphore: at most `n` holders at a time, the others wait in arrival order. The daemon bounds its
 * concurrent re-applies and pod-condition writes with it.
 *
 * @example
 * ```ts
 * const slots = new Slots(4);
 * await slots.acquire();
 * try {
 *   // at most 4 of these run at once
 * } finally {
 *   slots.release();
 * }
 * ```
 * @module
 */

/** At most `n` concurrent holders. */
export class Slots {
  readonly #waiting: Array<() => void> = [];
  #free: number;

  /** @param n how many may hold a slot at once */
  constructor(n: number) {
    this.#free = n;
  }

  /** Resolves once a slot is held. */
  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives the slot to the next waiter, or back. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
