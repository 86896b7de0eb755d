import { assert, assertEquals } from "../../tests/support/assert.ts";
import { KeyedQueue } from "./keyed_queue.ts";

/** A round the test releases by hand. */
function gate() {
  const waiting: Array<() => void> = [];
  return {
    wait: () => new Promise<void>((r) => waiting.push(r)),
    open: () => waiting.shift()?.(),
    get held() {
      return waiting.length;
    },
  };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1000) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 1));
  }
}

Deno.test("KeyedQueue: adds while a round runs coalesce into one more round with the merged work", async () => {
  const g = gate();
  const rounds: string[] = [];
  const q = new KeyedQueue<string[]>({
    run: async (key, work) => {
      rounds.push(`${key}:${work.join("+")}`);
      await g.wait();
    },
    merge: (a, b) => [...a, ...b],
  });
  q.add("p", ["1"]);
  await until(() => g.held === 1);
  q.add("p", ["2"]);
  q.add("p", ["3"]);
  q.add("p", ["4"]);
  g.open();
  await until(() => g.held === 1 && rounds.length === 2);
  g.open();
  await q.idle();
  assertEquals(rounds, ["p:1", "p:2+3+4"]);
  assertEquals(q.size, 0);
});

Deno.test("KeyedQueue: at most `parallel` keys run at once; a throwing round goes to onError", async () => {
  const g = gate();
  let running = 0;
  let most = 0;
  const errors: string[] = [];
  const q = new KeyedQueue<number>({
    parallel: 2,
    run: async (key) => {
      most = Math.max(most, ++running);
      await g.wait();
      running--;
      if (key === "k3") throw new Error("boom");
    },
    onError: (key, e) => errors.push(`${key}: ${(e as Error).message}`),
  });
  for (let i = 0; i < 5; i++) q.add(`k${i}`, i);
  for (let i = 0; i < 5; i++) {
    await until(() => g.held > 0);
    g.open();
  }
  await q.idle();
  assertEquals(most, 2);
  assertEquals(errors, ["k3: boom"]);
});

Deno.test("KeyedQueue: once the signal aborts nothing is added and no new round begins; idle is bounded", async () => {
  const g = gate();
  const stop = new AbortController();
  const rounds: number[] = [];
  const q = new KeyedQueue<number>({
    run: async (_key, n) => {
      rounds.push(n);
      await g.wait();
    },
    signal: stop.signal,
  });
  q.add("p", 1);
  await until(() => g.held === 1);
  q.add("p", 2);
  await q.idle(5); // bounded: returns with the round still held
  assertEquals(q.size, 1);
  assertEquals([q.has("p"), q.has("other")], [true, false]);
  stop.abort();
  q.add("other", 3);
  g.open();
  await q.idle();
  assertEquals(rounds, [1], "the waiting round never began");
  assert(q.size === 0 && !q.has("p"));
});
