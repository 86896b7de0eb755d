/**
 * What every phase of one benchmark run shares.
 * @module
 */
import type { Cleanup } from "../tests/support/netns.ts";
import type { BenchOptions } from "./options.ts";

/** One benchmark run: its options, log, clean-up stack and start. */
export interface Bench {
  opts: BenchOptions;
  /** Progress on stderr (`bench: ...`). */
  log(s: string): void;
  /** Everything a phase creates is deferred here; it all goes at the end, also on failure or Ctrl-C. */
  cleanup: Cleanup;
  /** `performance.now()` at the start. */
  t0: number;
}
