import { assertEquals } from "../../../tests/support/assert.ts";
import { SerialWriter } from "./serial_writer.ts";

Deno.test("records are written whole and in order even when the sink takes a few bytes at a time", async () => {
  const got: string[] = [];
  const dec = new TextDecoder();
  const sink = {
    async write(p: Uint8Array) {
      await new Promise((r) => setTimeout(r, got.length % 3)); // uneven, the same every run
      const n = Math.min(p.length, 3);
      got.push(dec.decode(p.subarray(0, n)));
      return n;
    },
  };
  const w = new SerialWriter(sink);
  const records = Array.from({ length: 20 }, (_, i) => `record ${i}: ${"x".repeat(i)}\n`);
  await Promise.all(records.map((r) => w.write(r)));
  assertEquals(got.join(""), records.join(""));
  assertEquals(w.pending, 0);
});

Deno.test("a failing sink is reported once and later records are discarded", async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const w = new SerialWriter({
    write() {
      calls++;
      return Promise.reject(new Error("broken pipe"));
    },
  }, (e) => errors.push(e));
  await w.write("a\n");
  await w.write("b\n");
  await w.flush();
  assertEquals([errors.length, calls], [1, 1]);
});
