/**
 * Helpers for the property tests that hold a plugin's plain check against the zod schema it mirrors: what a
 * decoder did (its result, or its CniError's code, message and details), and values that are rarely valid.
 * @module
 */
import * as fc from "fast-check";
import { CniError } from "../../src/cni/errors.ts";

/** What a decoder did: its result, or the CniError it threw. */
export type Outcome = { ok: unknown } | { code: number; msg: string; details: string };

/** Runs `fn`: its result, or the CniError it threw (anything else is rethrown). */
export async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: await fn() };
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { code: e.code, msg: e.message, details: e.details };
  }
}

/** Any JSON-ish value: strings, integers, doubles, booleans, null, JSON values. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
);
