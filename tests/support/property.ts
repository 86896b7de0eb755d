/**
 * Seeded property tests: every `fc.assert` and `fc.sample` of the test suite goes through here, so a run is the
 * same run every time. The seed is {@linkcode DEFAULT_PROPERTY_SEED} unless `CHAINSAW_PROPERTY_SEED` says
 * otherwise, and a failure names the seed and how to re-run it:
 *
 * ```sh
 * CHAINSAW_PROPERTY_SEED=1234 npx -y deno@2.9.6 test --allow-all tests/policy_property_test.ts
 * ```
 *
 * A "the generator reached X" guard must hold by construction (a generator that always lands on X, checked in
 * every run), never by the luck of the draw; {@linkcode assertReached} words its failure with the seed.
 *
 * ```ts
 * import * as fc from "fast-check";
 * import { assertProperty } from "./support/property.ts";
 * assertProperty(fc.property(fc.nat(), (n) => n >= 0), { numRuns: 500 });
 * ```
 *
 * @module
 */
import * as fc from "fast-check";

/** The environment variable that overrides the seed: a 32-bit integer. */
export const PROPERTY_SEED_ENV = "CHAINSAW_PROPERTY_SEED";

/** The seed when {@linkcode PROPERTY_SEED_ENV} is not set. */
export const DEFAULT_PROPERTY_SEED = 20260515;

/**
 * The seed of this run: {@linkcode PROPERTY_SEED_ENV} when set (and readable), else
 * {@linkcode DEFAULT_PROPERTY_SEED}.
 *
 * @returns a 32-bit signed integer
 * @throws Error naming the variable when it is set to anything but a 32-bit integer
 */
export function propertySeed(): number {
  let text: string | undefined;
  try {
    text = Deno.env.get(PROPERTY_SEED_ENV);
  } catch {
    text = undefined; // no --allow-env: the default seed
  }
  if (text === undefined || text.trim() === "") return DEFAULT_PROPERTY_SEED;
  const seed = Number(text.trim());
  if (!/^-?\d+$/.test(text.trim()) || seed < -(2 ** 31) || seed >= 2 ** 32) {
    throw new Error(`${PROPERTY_SEED_ENV}=${JSON.stringify(text)}: expected a 32-bit integer`);
  }
  return seed | 0;
}

/**
 * What a failure says about the seed.
 *
 * @param seed the seed the failing run used
 * @param file the test file, relative to the repository root (default: the caller's, from the stack)
 * @returns `property seed N (re-run it: CHAINSAW_PROPERTY_SEED=N npx -y deno@2.9.6 test --allow-all FILE)`
 */
export function seedNote(seed: number = propertySeed(), file = callerFile()): string {
  return `property seed ${seed} (re-run it: ${PROPERTY_SEED_ENV}=${seed} npx -y deno@2.9.6 test --allow-all ` +
    `${file})`;
}

const REPO_ROOT = new URL("../..", import.meta.url).href;

/** The test file that called into this module (from the stack), relative to the repository root. */
function callerFile(): string {
  const frames = new Error().stack?.match(/file:\/\/[^\s)]+?(?=:\d+:\d+)/g) ?? [];
  const caller = frames.find((f) => f !== import.meta.url);
  return caller?.startsWith(REPO_ROOT) ? caller.slice(REPO_ROOT.length) : "<the test file>";
}

function withSeed(e: unknown, seed: number, file: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  return new Error(`${message}\n${seedNote(seed, file)}`, { cause: e });
}

/**
 * `fc.assert` with this run's seed; a failure's message ends with the seed and the re-run line.
 *
 * @param property a sync or async fast-check property
 * @param params fast-check parameters (numRuns, …); a `seed` here is ignored
 * @returns nothing, or a promise for an async property
 * @example
 * ```ts
 * await assertProperty(fc.asyncProperty(fc.string(), async (s) => { await check(s); }), { numRuns: 2000 });
 * ```
 */
export function assertProperty<Ts>(
  property: fc.IAsyncProperty<Ts>,
  params?: fc.Parameters<Ts>,
): Promise<void>;
export function assertProperty<Ts>(property: fc.IProperty<Ts>, params?: fc.Parameters<Ts>): void;
export function assertProperty<Ts>(
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  params: fc.Parameters<Ts> = {},
): void | Promise<void> {
  const seed = propertySeed();
  const file = callerFile();
  let out: unknown;
  try {
    out = fc.assert(property as fc.IProperty<Ts>, { ...params, seed });
  } catch (e) {
    throw withSeed(e, seed, file);
  }
  if (out instanceof Promise) {
    return out.then(() => {}, (e) => {
      throw withSeed(e, seed, file);
    });
  }
}

/**
 * `fc.sample` with this run's seed: the same values every run.
 *
 * @param arbitrary what to draw from
 * @param count how many values
 * @returns `count` values
 */
export function sampleOf<T>(arbitrary: fc.Arbitrary<T>, count: number): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed: propertySeed() });
}

/**
 * A "the generator reached X" guard: `reached` must be at least `atLeast`. Build the generator so this holds by
 * construction (e.g. every run also checks one value that must land on X); the message names the seed.
 *
 * @param reached how many runs landed on X
 * @param atLeast the floor
 * @param what X, for the message
 * @throws Error when `reached < atLeast`
 */
export function assertReached(reached: number, atLeast: number, what: string): void {
  if (reached < atLeast) {
    throw new Error(
      `the generator reached ${what} only ${reached} times (at least ${atLeast} wanted); ${seedNote()}`,
    );
  }
}
