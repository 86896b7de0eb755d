import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { DEFAULT_LOGS_LIMIT, LogsQueryError, logsQueryString, parseLogsQuery } from "./logs.ts";

const q = (s: string) => parseLogsQuery(new URLSearchParams(s));

Deno.test("logs query defaults and values", () => {
  assertEquals(q(""), { pod: undefined, limit: DEFAULT_LOGS_LIMIT, follow: false });
  assertEquals(q("pod=kube-system/coredns-7db6d8ff4d-abcde&limit=5&follow=1"), {
    pod: "kube-system/coredns-7db6d8ff4d-abcde",
    limit: 5,
    follow: true,
  });
  assertEquals(q("follow=true&limit=0&other=x").follow, true);
  assertEquals(q("follow=0").follow, false);
});

Deno.test("bad logs queries are refused with the parameter named", () => {
  assertThrows(() => q("pod=nopod"), LogsQueryError, "pod");
  assertThrows(() => q("pod=a/b/c"), LogsQueryError, "pod");
  assertThrows(() => q("limit=-1"), LogsQueryError, "limit");
  assertThrows(() => q("limit=1e3"), LogsQueryError, "limit");
  assertThrows(() => q("limit=9999999"), LogsQueryError, "at most");
  assertThrows(() => q("follow=yes"), LogsQueryError, "follow");
});

Deno.test("logsQueryString is the inverse of parseLogsQuery", () => {
  const s = logsQueryString({ pod: "ns/p", limit: 7, follow: true });
  assertEquals(s, "pod=ns%2Fp&limit=7&follow=1");
  assertEquals(q(s), { pod: "ns/p", limit: 7, follow: true });
  assertEquals(logsQueryString({}), "");
});

Deno.test("logs query: trace=ID (32 hex digits, lower-cased), encoded and decoded", () => {
  const id = "4bf92f3577b34da6a3ce929d0e0e4736";
  assertEquals(q(`trace=${id.toUpperCase()}`).trace, id);
  assertEquals("trace" in q(""), false);
  for (const bad of ["xyz", id + "0", id.slice(1), "g".repeat(32)]) {
    assertThrows(() => q(`trace=${bad}`), LogsQueryError, "trace");
  }
  const s = logsQueryString({ pod: "ns/p", trace: id, limit: 1 });
  assertEquals(s, `pod=ns%2Fp&trace=${id}&limit=1`);
  assertEquals(q(s), { pod: "ns/p", trace: id, limit: 1, follow: false });
});
