import { assert, assertEquals } from "../../tests/support/assert.ts";
import { abortableSleep, settledWithin } from "./abortable_sleep.ts";

Deno.test("abortableSleep: an abort ends the wait at once, an aborted signal does not wait at all", async () => {
  const stop = new AbortController();
  const slept = abortableSleep(60_000, stop.signal);
  stop.abort();
  await slept; // a leaked 60 s timer would fail the test's sanitizer
  await abortableSleep(60_000, stop.signal);
  await abortableSleep(1);
});

Deno.test("settledWithin: true once the promise settles (even rejected), false when the time runs out", async () => {
  assertEquals(await settledWithin(Promise.resolve(1), 60_000), true);
  assertEquals(await settledWithin(Promise.reject(new Error("x")), 60_000), true);
  let resolve!: () => void;
  const never = new Promise<void>((r) => resolve = r);
  assertEquals(await settledWithin(never, 1), false);
  resolve();
  assert(await settledWithin(never, 60_000));
});
