import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { followStream, tooSlowLine } from "./follow_stream.ts";
import { parseFollowEnd } from "../../wire/logs.ts";
import { ReportRing } from "./report_ring.ts";

const decoder = new TextDecoder();

async function readLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string | undefined> {
  const { done, value } = await reader.read();
  return done ? undefined : decoder.decode(value);
}

Deno.test("a follower gets the backlog, then new matching reports, one per read", async () => {
  const ring = new ReportRing(10);
  const old = ring.push("ns/a", '{"n":0}');
  let ended = 0;
  const f = followStream({
    ring,
    filter: { pod: "ns/a" },
    backlog: [old],
    maxBytes: 1024,
    onEnd: () => ended++,
  });
  const reader = f.body.getReader();
  assertEquals(await readLine(reader), '{"n":0}\n');
  ring.push("ns/b", '{"n":1}');
  const next = readLine(reader);
  ring.push("ns/a", '{"n":2}');
  assertEquals(await next, '{"n":2}\n');
  f.close();
  assertEquals(await readLine(reader), undefined);
  assertEquals([ended, ring.listenerCount], [1, 0]);
});

Deno.test("a follower more than its budget behind is dropped: what waited is released, one final line", async () => {
  const ring = new ReportRing(1000);
  let drops = 0;
  const f = followStream({ ring, filter: {}, backlog: [], maxBytes: 100, onDrop: () => drops++ });
  const line = JSON.stringify({ pad: "x".repeat(40) }); // 51 bytes with its newline
  ring.push(undefined, line);
  assertEquals([drops, ring.listenerCount], [0, 1]);
  ring.push(undefined, line); // 102 bytes waiting: over 100
  assertEquals([drops, ring.listenerCount], [1, 0]);
  ring.push(undefined, line); // no longer queued
  const reader = f.body.getReader();
  const last = await readLine(reader);
  assertEquals(last, tooSlowLine(100) + "\n");
  assertEquals(parseFollowEnd(last!.trimEnd())?.reason, "too-slow");
  assertEquals(await readLine(reader), undefined);
});

Deno.test("the backlog does not count against the budget; one report larger than it still goes through", async () => {
  const ring = new ReportRing(1000);
  const big = ring.push(undefined, "y".repeat(500));
  let drops = 0;
  const f = followStream({ ring, filter: {}, backlog: [big, big], maxBytes: 100, onDrop: () => drops++ });
  ring.push(undefined, "z".repeat(300));
  assertEquals(drops, 0);
  const reader = f.body.getReader();
  for (const n of [500, 500, 300]) assertEquals((await readLine(reader))!.length, n + 1);
  await reader.cancel();
  assertEquals(ring.listenerCount, 0);
});

Deno.test("parseFollowEnd: only the end record", () => {
  assertEquals(parseFollowEnd('{"v":1,"verb":"ADD"}'), undefined);
  assertEquals(parseFollowEnd('{"chainsaw":"other","message":"x"}'), undefined);
  assertEquals(parseFollowEnd('{"chainsaw":'), undefined);
  assert(parseFollowEnd(tooSlowLine(5))?.message.includes("5 bytes"));
});
