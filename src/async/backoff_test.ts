import { assertEquals } from "../../tests/support/assert.ts";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay: full jitter under a doubling ceiling, floored at the base", () => {
  const o = { baseMs: 100, maxMs: 30_000 };
  assertEquals(backoffDelay(0, o, () => 0), 100);
  assertEquals(backoffDelay(0, o, () => 0.999), 100);
  assertEquals(backoffDelay(3, o, () => 0.5), 400);
  assertEquals(backoffDelay(20, o, () => 0.5), 15_000);
  assertEquals(backoffDelay(1000, o, () => 0.999999), 29_999);
});

Deno.test("backoffDelay: without jitter the ceiling itself, doubling from the base to the cap", () => {
  const o = { baseMs: 500, maxMs: 8000 };
  assertEquals([0, 1, 2, 3, 4, 5, 60].map((a) => backoffDelay(a, o)), [
    500,
    1000,
    2000,
    4000,
    8000,
    8000,
    8000,
  ]);
  // the accept loop's bounds (5 ms doubling to 1 s)
  assertEquals([0, 1, 7, 8, 9].map((a) => backoffDelay(a, { baseMs: 5, maxMs: 1000 })), [
    5,
    10,
    640,
    1000,
    1000,
  ]);
  assertEquals(backoffDelay(-1, o), 500, "a negative attempt is the first");
});
