import { assertEquals } from "../../tests/support/assert.ts";
import { Slots } from "./slots.ts";

Deno.test("Slots: at most n holders, waiters served in order", async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  await slots.acquire();
  await slots.acquire();
  const c = slots.acquire().then(() => order.push("c"));
  const d = slots.acquire().then(() => order.push("d"));
  await Promise.resolve();
  assertEquals(order, []);
  slots.release();
  await c;
  assertEquals(order, ["c"]);
  slots.release();
  await d;
  assertEquals(order, ["c", "d"]);
  slots.release();
  slots.release();
  await slots.acquire();
  await slots.acquire();
});
