import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { headEnd, HttpHeadError, parseRequestHead } from "./head.ts";

function status(text: string): number {
  try {
    parseRequestHead(text);
  } catch (e) {
    if (e instanceof HttpHeadError) return e.status;
    throw e;
  }
  return 0;
}

Deno.test("heads: origin and absolute form, keep-alive, Content-Length, Expect", () => {
  const h = parseRequestHead("POST /v1/reports?x=1 HTTP/1.1\r\nHost: chainsaw\r\nContent-Length: 12");
  assertEquals([h.method, h.target, h.version, h.contentLength, h.keepAlive], [
    "POST",
    "/v1/reports?x=1",
    "1.1",
    12,
    true,
  ]);
  assertEquals(
    parseRequestHead("GET http://chainsaw/v1/logs?limit=1 HTTP/1.1\r\nHost: chainsaw").target,
    "/v1/logs?limit=1",
  );
  assertEquals(parseRequestHead("GET http://chainsaw HTTP/1.1\r\nHost: chainsaw").target, "/");
  assertEquals(parseRequestHead("GET / HTTP/1.1\r\nHost: x\r\nConnection: close").keepAlive, false);
  assertEquals(parseRequestHead("GET / HTTP/1.0").keepAlive, false);
  assertEquals(parseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive").keepAlive, true);
  assert(
    parseRequestHead("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3").expectContinue,
  );
});

Deno.test("heads: what is refused, with which status", () => {
  assertEquals(status("GET / HTTP/1.1"), 400); // no Host
  assertEquals(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b"), 400);
  assertEquals(status("GET  HTTP/1.1\r\nHost: a"), 400);
  assertEquals(status("GET * HTTP/1.1\r\nHost: a"), 400);
  assertEquals(status("GET / HTTP/2.0\r\nHost: a"), 505);
  assertEquals(status("GET / HTTP/1.1\nHost: a"), 400); // bare LF
  assertEquals(status("GET / HTTP/1.1\r\nHost: a\r\n folded"), 400);
  assertEquals(status("GET / HTTP/1.1\r\nHost: \x1b[2J"), 400);
  assertEquals(status("GET / HTTP/1.1\r\nHost: caf\u00e9"), 400);
  assertEquals(status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"), 411);
  assertEquals(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1"), 400);
  assertEquals(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2"), 400);
  assertEquals(status("POST / HTTP/1.1\r\nHost: a\r\nExpect: magic"), 417);
  assertEquals(status("GET / HTTP/1.1\r\nHost: a" + "\r\nX: y".repeat(101)), 431);
  assertThrows(() => parseRequestHead("nonsense"), HttpHeadError, "malformed request line");
});

Deno.test("headEnd finds the blank line, also when resumed mid-way", () => {
  const b = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nnext");
  assertEquals(headEnd(b, 0, b.length), 27);
  assertEquals(headEnd(b, 0, 26), -1);
  assertEquals(headEnd(b, 0, b.length, 25), 27);
});
