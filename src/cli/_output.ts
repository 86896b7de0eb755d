/**
 * Where a subcommand's output goes: its lines for stdout and its messages for stderr, replaceable in tests.
 * @module
 */
import { writeAll } from "../bytes.ts";

/** A subcommand's output. */
export interface CommandOutput {
  /** Writes to stdout. */
  out(text: string): Promise<void>;
  /** Writes to stderr. */
  err(text: string): Promise<void>;
}

/** The process's stdout and stderr. */
export function stdio(): CommandOutput {
  return { out: (t) => writeAll(Deno.stdout, t), err: (t) => writeAll(Deno.stderr, t) };
}
