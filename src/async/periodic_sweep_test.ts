import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { PeriodicSweep, type SkipReason, type SweepClock } from "./periodic_sweep.ts";

/** A clock whose time moves only when the test says so; due sleeps resolve in time order. */
class FakeClock implements SweepClock {
  t = 0;
  #timers: { at: number; resolve: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = { at: this.t + ms, resolve };
      this.#timers.push(timer);
      signal.addEventListener("abort", () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing each due timer at its own time and letting its work run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.t = next.at;
      next.resolve();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every ready promise run (one macrotask turn; no time passes on the fake clock). */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** A visit the test finishes by hand. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => open = r);
  return { p, open };
}

Deno.test("periodic sweep: each key once per interval, spread evenly, the key set read each round", async () => {
  const clock = new FakeClock();
  let keys = ["a", "b", "c", "d"];
  const visits: [number, string][] = [];
  const sweep = new PeriodicSweep({
    intervalMs: 60_000,
    keys: () => keys,
    visit: (key) => {
      visits.push([clock.now(), key]);
      return Promise.resolve();
    },
    clock,
  });
  sweep.start();
  await clock.advance(59_999);
  assertEquals(visits, [[0, "a"], [15_000, "b"], [30_000, "c"], [45_000, "d"]]);
  keys = ["a", "e"];
  await clock.advance(60_000);
  assertEquals(visits.slice(4), [[60_000, "a"], [90_000, "e"]]);
  assertEquals(sweep.rounds, 2);
  keys = [];
  await clock.advance(120_000); // an empty round still lasts one interval
  assertEquals(visits.length, 6);
  assertEquals(sweep.rounds, 4);
  await sweep.stop();
});

Deno.test("periodic sweep: at most `parallel` visits at once; a slow visit delays the next, never overlaps itself", async () => {
  const clock = new FakeClock();
  const gates = new Map<string, ReturnType<typeof gate>>();
  const started: [number, string][] = [];
  const skipped: [string, SkipReason][] = [];
  let inFlight = 0;
  let most = 0;
  const sweep = new PeriodicSweep({
    intervalMs: 1000,
    keys: () => ["a", "b", "c", "d"],
    visit: async (key) => {
      started.push([clock.now(), key]);
      inFlight++;
      most = Math.max(most, inFlight);
      const g = gate();
      gates.set(key, g);
      await g.p;
      inFlight--;
    },
    parallel: 2,
    onSkip: (key, why) => skipped.push([key, why]),
    clock,
  });
  sweep.start();
  await clock.advance(999);
  // a (t=0) and b (t=250) hold both slots: c waits for one instead of starting at 500.
  assertEquals(started, [[0, "a"], [250, "b"]]);
  gates.get("a")!.open();
  await settle(); // still t=999
  assertEquals(started.slice(2), [[999, "c"]], "c began as soon as a slot was free");
  gates.get("c")!.open();
  await settle();
  assertEquals(started.slice(3), [[999, "d"]], "d was overdue: it begins at once");
  gates.get("d")!.open();
  await clock.advance(1); // t=1000: the next round, on time
  assertEquals(started.slice(4), [[1000, "a"]]);
  gates.get("a")!.open();
  await clock.advance(250); // b's turn: its visit of the first round still runs
  assertEquals(skipped, [["b", "running"]], "b's previous visit still runs: skipped, not doubled");
  assertEquals(started.length, 5);
  assertEquals(most, 2);
  gates.get("b")!.open();
  for (const g of gates.values()) g.open();
  const stopped = sweep.stop();
  await clock.advance(10_000);
  await stopped;
});

Deno.test("periodic sweep: a busy key is skipped for the round and visited in the next", async () => {
  const clock = new FakeClock();
  const busy = new Set(["b"]);
  const visits: string[] = [];
  const skipped: string[] = [];
  const sweep = new PeriodicSweep({
    intervalMs: 100,
    keys: () => ["a", "b"],
    visit: (key) => {
      visits.push(key);
      return Promise.resolve();
    },
    busy: (key) => busy.has(key),
    onSkip: (key, why) => skipped.push(`${key}:${why}`),
    clock,
  });
  sweep.start();
  await clock.advance(99);
  assertEquals([visits, skipped], [["a"], ["b:busy"]]);
  busy.clear();
  await clock.advance(100);
  assertEquals(visits, ["a", "a", "b"]);
  await sweep.stop();
});

Deno.test("periodic sweep: a throwing visit is reported and the sweep goes on; stop waits for visits in flight", async () => {
  const clock = new FakeClock();
  const errors: string[] = [];
  const g = gate();
  let finished = false;
  const sweep = new PeriodicSweep({
    intervalMs: 100,
    keys: () => ["bad", "slow"],
    visit: async (key) => {
      if (key === "bad") throw new Error("boom");
      await g.p;
      finished = true;
    },
    onError: (key, e) => errors.push(`${key}: ${(e as Error).message}`),
    clock,
  });
  sweep.start();
  await clock.advance(50);
  assertEquals(errors, ["bad: boom"]);
  const stopped = sweep.stop();
  let done = false;
  void stopped.then(() => done = true);
  await settle();
  assert(!done, "stop waits for the visit in flight");
  g.open();
  await stopped;
  assert(finished);
  assertThrows(() => new PeriodicSweep({ intervalMs: 0, keys: () => [], visit: () => Promise.resolve() }));
});
