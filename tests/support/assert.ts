/**
 * std-style assertions on `node:assert/strict` (jsr:@std/assert is unreachable from this build machine).
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts truthiness. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Asserts that `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  nodeAssert.match(text, re, msg);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  if (!text.includes(part)) {
    nodeAssert.fail(msg ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** Asserts that `fn` throws (an instance of `cls`, with `includes` in its message) and returns the error. */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    if (cls && !(e instanceof cls)) nodeAssert.fail(`expected ${cls.name}, got ${e}`);
    if (includes && !(e as Error).message.includes(includes)) {
      nodeAssert.fail(`expected message to include ${JSON.stringify(includes)}: ${(e as Error).message}`);
    }
    return e as Error;
  }
  nodeAssert.fail("expected function to throw");
}

/** Async variant of {@link assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (cls && !(e instanceof cls)) nodeAssert.fail(`expected ${cls.name}, got ${e}`);
    if (includes && !(e as Error).message.includes(includes)) {
      nodeAssert.fail(`expected message to include ${JSON.stringify(includes)}: ${(e as Error).message}`);
    }
    return e as Error;
  }
  nodeAssert.fail("expected promise to reject");
}
