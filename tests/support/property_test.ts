import * as fc from "fast-check";
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "./assert.ts";
import {
  assertProperty,
  assertReached,
  DEFAULT_PROPERTY_SEED,
  PROPERTY_SEED_ENV,
  propertySeed,
  sampleOf,
} from "./property.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Runs `fn` with CHAINSAW_PROPERTY_SEED set to `value` (unset for undefined), then restores it. */
async function withSeedEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const old = Deno.env.get(PROPERTY_SEED_ENV);
  if (value === undefined) Deno.env.delete(PROPERTY_SEED_ENV);
  else Deno.env.set(PROPERTY_SEED_ENV, value);
  try {
    return await fn();
  } finally {
    if (old === undefined) Deno.env.delete(PROPERTY_SEED_ENV);
    else Deno.env.set(PROPERTY_SEED_ENV, old);
  }
}

Deno.test("propertySeed: the fixed default, CHAINSAW_PROPERTY_SEED when set, an error naming it when malformed", async () => {
  assertEquals(await withSeedEnv(undefined, propertySeed), DEFAULT_PROPERTY_SEED);
  assertEquals(await withSeedEnv("", propertySeed), DEFAULT_PROPERTY_SEED);
  assertEquals(await withSeedEnv("-42", propertySeed), -42);
  assertEquals(await withSeedEnv(" 7 ", propertySeed), 7);
  for (const bad of ["x", "1.5", "1e3", String(2 ** 32)]) {
    await withSeedEnv(bad, () => assertThrows(propertySeed, Error, PROPERTY_SEED_ENV));
  }
});

Deno.test("the same seed draws the same values; another seed others", async () => {
  const draw = () => sampleOf(fc.integer(), 20);
  assertEquals(await withSeedEnv("5", draw), await withSeedEnv("5", draw));
  assert(JSON.stringify(await withSeedEnv("5", draw)) !== JSON.stringify(await withSeedEnv("6", draw)));
});

Deno.test("a failing property names its seed and the re-run line (sync and async)", async () => {
  await withSeedEnv("1234", async () => {
    const e = assertThrows(() => assertProperty(fc.property(fc.nat(), (n) => n < 10)));
    assertStringIncludes(e.message, "Counterexample");
    assertStringIncludes(
      e.message,
      "property seed 1234 (re-run it: CHAINSAW_PROPERTY_SEED=1234 npx -y deno@2.9.6 test --allow-all " +
        "tests/support/property_test.ts)",
    );
    const a = await assertRejects(() =>
      assertProperty(fc.asyncProperty(fc.nat(), (n) => Promise.resolve(n < 10)))
    );
    assertStringIncludes(a.message, "CHAINSAW_PROPERTY_SEED=1234");
  });
  const e = assertThrows(() => assertReached(3, 10, "the plain path"), Error, "only 3 times");
  assertStringIncludes(e.message, `${PROPERTY_SEED_ENV}=`);
  assertStringIncludes(e.message, "tests/support/property_test.ts");
});

Deno.test("every property test and sample goes through tests/support/property.ts (seeded); no Math.random", () => {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "bin") walk(path);
      else if (e.isFile && e.name.endsWith(".ts") && path !== "tests/support/property.ts") {
        Deno.readTextFileSync(`${ROOT}/${path}`).split("\n").forEach((line, i) => {
          if (/\bfc\.(assert|check|sample|statistics)\(|Math\.random\(/.test(line)) {
            found.push(`${path}:${i + 1}`);
          }
        });
      }
    }
  };
  for (const dir of ["src", "tests", "scripts", "bench"]) walk(dir);
  // The pod watch's jitter defaults to Math.random and is injectable; its tests inject it.
  assertEquals(found.filter((f) => !f.startsWith("src/") || f.includes("_test.ts")), []);
});
