import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { streamingResponse } from "./conn.ts";
import { DEFAULT_CONN_LIMITS, serveHttp, type ServerEvents } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function counting(): { events: ServerEvents; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    events: {
      evicted: () => void seen.push("evicted"),
      paused: () => void seen.push("paused"),
      timeout: (p) => void seen.push(`timeout:${p}`),
      badRequest: (s) => void seen.push(`bad:${s}`),
    },
  };
}

async function readUntil(conn: Deno.Conn, done: (text: string) => boolean): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!done(text)) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (port: number, seen: string[]) => Promise<void>,
  extra: { maxConnections?: number; headerTimeoutMs?: number; bodyTimeoutMs?: number } = {},
): Promise<void> {
  const { events, seen } = counting();
  const server = serveHttp({
    listen: { hostname: "127.0.0.1", port: 0 },
    handler,
    maxConnections: extra.maxConnections ?? 8,
    evictGraceMs: 100,
    limits: {
      ...DEFAULT_CONN_LIMITS,
      headerTimeoutMs: extra.headerTimeoutMs ?? 5000,
      bodyTimeoutMs: extra.bodyTimeoutMs ?? DEFAULT_CONN_LIMITS.bodyTimeoutMs,
    },
    events,
  });
  try {
    await fn((server.addr as Deno.NetAddr).port, seen);
  } finally {
    await server.shutdown();
  }
}

Deno.test("keep-alive: two requests on one connection, pipelined; HEAD has no body; 204 no length", async () => {
  await withServer((req) => {
    const path = new URL(req.url).pathname;
    return path === "/none"
      ? new Response(null, { status: 204 })
      : new Response(`hello ${req.method} ${path}\n`);
  }, async (port) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(encoder.encode(
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      ));
      const text = await readUntil(c, () => false);
      assertEquals(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
      assertStringIncludes(text, "content-length: 13\r\n\r\nhello GET /a\n");
      assert(!text.includes("hello HEAD"), text);
      assertStringIncludes(text, "content-length: 14\r\n\r\nHTTP/1.1 204"); // HEAD: the GET's length
      assertStringIncludes(text, "HTTP/1.1 204 No Content\r\n");
      assert(!/204 No Content[^]*content-length/.test(text), text);
    } finally {
      c.close();
    }
  });
});

Deno.test("bodies: Content-Length read through the Request, Expect: 100-continue, an unread body is drained", async () => {
  await withServer(async (req) => {
    if (new URL(req.url).pathname === "/refuse") return new Response("too big\n", { status: 413 });
    return new Response(`got ${(await req.text()).length}\n`);
  }, async (port) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(
        encoder.encode("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
      );
      assertStringIncludes(
        await readUntil(c, (t) => t.includes("100 Continue\r\n\r\n")),
        "HTTP/1.1 100 Continue",
      );
      await c.write(encoder.encode("hello"));
      assertStringIncludes(await readUntil(c, (t) => t.includes("got 5\n")), "got 5\n");
      const body = "z".repeat(200_000);
      await c.write(
        encoder.encode(`POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
      );
      const writing = (async () => {
        const b = encoder.encode(body);
        for (let off = 0; off < b.length;) off += await c.write(b.subarray(off));
      })();
      const text = await readUntil(c, () => false);
      await writing;
      assertStringIncludes(text, "HTTP/1.1 413 Content Too Large");
      assertStringIncludes(text, "connection: close");
    } finally {
      c.close();
    }
  });
});

Deno.test("streaming responses go out chunked as produced; the connection closes after them", async () => {
  let push: ((s: string) => void) | undefined;
  let end: (() => void) | undefined;
  await withServer(() =>
    streamingResponse(
      new ReadableStream<Uint8Array>({
        start(ctl) {
          push = (s) => ctl.enqueue(encoder.encode(s));
          end = () => ctl.close();
        },
      }),
    ), async (port) => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await c.write(encoder.encode("GET /f HTTP/1.1\r\nHost: x\r\n\r\n"));
      while (!push) await new Promise((r) => setTimeout(r, 5));
      push("one\n");
      assertStringIncludes(await readUntil(c, (t) => t.includes("one\n")), "transfer-encoding: chunked");
      push("two\n");
      end!();
      const rest = await readUntil(c, () => false);
      assertStringIncludes(rest, "4\r\ntwo\n\r\n0\r\n\r\n");
    } finally {
      c.close();
    }
  });
});

/** Whether the server closed `conn` (end of stream or a reset) without answering. */
async function closedUnanswered(conn: Deno.Conn): Promise<boolean> {
  try {
    return await conn.read(new Uint8Array(64)) === null;
  } catch {
    return true;
  }
}

/** One `Connection: close` GET on a fresh connection: the whole answer. */
async function get(port: number, path: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(encoder.encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    return await readUntil(c, () => false);
  } finally {
    c.close();
  }
}

Deno.test("at the cap the connection longest without a complete request is evicted for a newcomer; malformed heads are 400; slowloris times out", async () => {
  await withServer(() => new Response("ok\n"), async (port, seen) => {
    // Two slowloris heads fill the cap; each newcomer evicts the oldest of them and is served.
    const first = await Deno.connect({ hostname: "127.0.0.1", port });
    await first.write(encoder.encode("GET /slow HTTP/1.1\r\nHost: x\r\n"));
    const second = await Deno.connect({ hostname: "127.0.0.1", port });
    await second.write(encoder.encode("GET /slow HTTP/1.1\r\nHost: x\r\n"));
    try {
      assertStringIncludes(await get(port, "/a"), "HTTP/1.1 200 OK");
      assert(await closedUnanswered(first), "the oldest waiter was evicted");
      assertEquals(seen.filter((e) => e === "evicted").length, 1);
      // The second, still waiting, is cut by the header timeout.
      assertEquals(await second.read(new Uint8Array(8)), null);
      assert(seen.includes("timeout:header"), seen.join());
    } finally {
      first.close();
      second.close();
    }
    const bad = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await bad.write(encoder.encode("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"));
      assertStringIncludes(await readUntil(bad, () => false), "HTTP/1.1 400 Bad Request");
      assert(seen.includes("bad:400"));
    } finally {
      bad.close();
    }
  }, { maxConnections: 2, headerTimeoutMs: 300 });
});

Deno.test("at the cap: idle keep-alive connections are evicted before a newer slowloris head; one that sent nothing keeps a grace", async () => {
  await withServer(() => new Response("ok\n"), async (port, seen) => {
    // A keep-alive client that was answered and now waits (the oldest wait), then a slowloris head.
    const kept = await Deno.connect({ hostname: "127.0.0.1", port });
    await kept.write(encoder.encode("GET /k HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertStringIncludes(await readUntil(kept, (t) => t.endsWith("ok\n")), "200 OK");
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(encoder.encode("GET /slow HTTP/1.1\r\n"));
    const slower = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      assertStringIncludes(await get(port, "/b"), "200 OK");
      assert(await closedUnanswered(kept), "the keep-alive connection was evicted");
      // The cap full again (the slowloris head and a newer one): the older goes.
      await slower.write(encoder.encode("GET /slower HTTP/1.1\r\n"));
      assertStringIncludes(await get(port, "/c"), "200 OK");
      assert(await closedUnanswered(slow), "then the older slowloris head");
      assertEquals(seen.filter((e) => e === "evicted").length, 2);
      // Connections that send nothing: the slowloris head goes first, then a newcomer waits out the silent
      // ones' grace and evicts the older.
      const silent = [await Deno.connect({ hostname: "127.0.0.1", port })];
      silent.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      try {
        assert(await closedUnanswered(slower), "the slowloris head went before the silent connections");
        assertStringIncludes(await get(port, "/d"), "200 OK");
        assert(await closedUnanswered(silent[0]), "the older silent connection was evicted");
        assertEquals(seen.filter((e) => e === "evicted").length, 4);
      } finally {
        for (const c of silent) c.close();
      }
    } finally {
      kept.close();
      slow.close();
      slower.close();
    }
  }, { maxConnections: 2 });
});

Deno.test("at the cap with every connection busy the server stops accepting: a burst of complete requests is answered in full, in order", async () => {
  let inFlight = 0;
  let most = 0;
  await withServer(async (req) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return new Response(`ok ${new URL(req.url).pathname}\n`);
  }, async (port, seen) => {
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => get(port, `/r${i}`)));
    for (const [i, a] of answers.entries()) assertStringIncludes(a, `ok /r${i}\n`);
    assert(most <= 3, `${most} requests at once over a cap of 3`);
    assert(seen.includes("paused"), seen.join());
    assert(!seen.includes("evicted"), seen.join());
  }, { maxConnections: 3 });
});

Deno.test("a pause at the cap is reported while it lasts, not only when it ends", async () => {
  let seen: string[] = [];
  let pausedWhileHeld = false;
  let holding = false;
  await withServer(async (req) => {
    if (new URL(req.url).pathname !== "/held") return new Response("ok\n");
    holding = true;
    // Held until the server reports the pause that this request causes (or 5 s: the test then fails).
    for (let i = 0; i < 500 && !seen.includes("paused"); i++) await new Promise((r) => setTimeout(r, 10));
    pausedWhileHeld = seen.includes("paused");
    return new Response("ok\n");
  }, async (port, events) => {
    seen = events;
    const first = get(port, "/held");
    // The second connection comes once the first one's request is being handled (it holds the only slot).
    for (let i = 0; i < 500 && !holding; i++) await new Promise((r) => setTimeout(r, 10));
    assert(holding, "the first request never reached the handler");
    const second = get(port, "/next");
    assertStringIncludes(await first, "200 OK");
    assert(pausedWhileHeld, "no pause reported while the only connection was busy");
    assertStringIncludes(await second, "200 OK");
  }, { maxConnections: 1 });
});

Deno.test("a refused head closes lingering: a client still writing a chunked body reads the 411", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const { events, seen } = counting();
  const server = serveHttp({
    listen: { path },
    handler: () => new Response("ok\n"),
    maxConnections: 4,
    limits: DEFAULT_CONN_LIMITS,
    events,
  });
  const c = await Deno.connect({ transport: "unix", path });
  try {
    // A client that writes its whole request, then reads: 512 KiB of chunks, more than the socket buffers.
    await c.write(encoder.encode("POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const chunk = encoder.encode(`4000\r\n${"z".repeat(0x4000)}\r\n`);
    for (let i = 0; i < 32; i++) {
      for (let off = 0; off < chunk.length;) off += await c.write(chunk.subarray(off));
    }
    await c.write(encoder.encode("0\r\n\r\n"));
    const text = await readUntil(c, () => false);
    assertStringIncludes(text, "HTTP/1.1 411 Length Required");
    assertStringIncludes(text, "connection: close");
    assert(seen.includes("bad:411"), seen.join());
  } finally {
    c.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a body that stops arriving before its Content-Length times out: the connection closes, the handler gets no body", async () => {
  let handled: string | undefined;
  await withServer(async (req) => {
    try {
      handled = `read ${(await req.text()).length}`;
    } catch {
      handled = "failed";
    }
    return new Response("ok\n");
  }, async (port, seen) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(encoder.encode("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"));
      // Without the body timeout the server would wait forever: give up after 2 s and fail below.
      const guard = setTimeout(() => conn.close(), 2000);
      const answer = await readUntil(conn, () => false).catch(() => "(gave up)");
      clearTimeout(guard);
      assertEquals(answer, "");
      assert(seen.includes("timeout:body"), seen.join());
      for (let i = 0; i < 100 && handled === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      assertEquals(handled, "failed");
    } finally {
      try {
        conn.close();
      } catch {
        // closed by the guard
      }
    }
  }, { bodyTimeoutMs: 100 });
});
