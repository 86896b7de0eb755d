import { assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { ReportRing } from "./report_ring.ts";

Deno.test("the ring keeps the last maxCount reports and returns the most recent oldest-first", () => {
  const ring = new ReportRing(3);
  for (let i = 1; i <= 5; i++) ring.push(i % 2 ? "ns/a" : "ns/b", `{"i":${i}}`);
  assertEquals(ring.size, 3);
  assertEquals(ring.recent({}, 10).map((e) => e.json), ['{"i":3}', '{"i":4}', '{"i":5}']);
  assertEquals(ring.recent({}, 2).map((e) => e.seq), [4, 5]);
  assertEquals(ring.recent({ pod: "ns/a" }, 10).map((e) => e.json), ['{"i":3}', '{"i":5}']);
  assertEquals(ring.recent({ pod: "ns/zzz" }, 10), []);
  assertEquals(ring.recent({}, 0), []);
  assertThrows(() => new ReportRing(0), RangeError);
});

Deno.test("the ring also bounds its bytes but always keeps the newest report", () => {
  const ring = new ReportRing(100, 10);
  ring.push(undefined, "12345");
  ring.push(undefined, "67890");
  assertEquals([ring.size, ring.bytes], [2, 10]);
  ring.push(undefined, "abc");
  assertEquals(ring.recent({}, 10).map((e) => e.json), ["67890", "abc"]);
  ring.push(undefined, "x".repeat(50));
  assertEquals([ring.size, ring.bytes], [1, 50]);
});

Deno.test("followers get new matching reports until they unsubscribe or decline", () => {
  const ring = new ReportRing(10);
  const seen: string[] = [];
  const unsubscribe = ring.subscribe({ pod: "ns/a" }, (e) => {
    seen.push(e.json);
    return true;
  });
  let declined = 0;
  ring.subscribe({}, () => {
    declined++;
    return false;
  });
  ring.push("ns/a", "1");
  ring.push("ns/b", "2");
  ring.push("ns/a", "3");
  assertEquals(seen, ["1", "3"]);
  assertEquals(declined, 1);
  assertEquals(ring.listenerCount, 1);
  unsubscribe();
  ring.push("ns/a", "4");
  assertEquals(seen, ["1", "3"]);
  assertEquals(ring.listenerCount, 0);
});

Deno.test("the ring filters by trace id, for the backlog and for followers", () => {
  const ring = new ReportRing(10);
  const id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ring.push("ns/a", '{"n":1}', id);
  ring.push("ns/a", '{"n":2}');
  ring.push("ns/b", '{"n":3}', id);
  assertEquals(ring.recent({ trace: id }, 10).map((e) => e.json), ['{"n":1}', '{"n":3}']);
  assertEquals(ring.recent({ trace: id, pod: "ns/b" }, 10).map((e) => e.json), ['{"n":3}']);
  const seen: string[] = [];
  ring.subscribe({ trace: id }, (e) => (seen.push(e.json), true));
  ring.push("ns/a", '{"n":4}');
  ring.push("ns/a", '{"n":5}', id);
  assertEquals(seen, ['{"n":5}']);
});
