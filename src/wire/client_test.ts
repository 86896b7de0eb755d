import * as fc from "fast-check";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { junk } from "../../tests/support/strict_parity.ts";
import { AddAnswerSchema } from "./add.ts";
import { daemonRequest, exchange, parseHttpResponse, plainAddAnswer, requestAdd } from "./client.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parseHttpResponse reads content-length and chunked bodies", () => {
  const fixed = parseHttpResponse(bytes('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"uid":"u"}trailing'));
  assertEquals([fixed.status, fixed.ok, fixed.json()], [200, true, { uid: "u" }]);
  const chunked = parseHttpResponse(
    bytes("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnot \r\n5\r\nfound\r\n0\r\n\r\n"),
  );
  assertEquals([chunked.status, chunked.ok, chunked.text()], [404, false, "not found"]);
  assertThrows(() => parseHttpResponse(bytes("HTTP/1.1 200 OK\r\n")), Error, "incomplete");
  assertThrows(() => parseHttpResponse(bytes("garbage\r\n\r\n")), Error, "status line");
});

Deno.test("daemonRequest talks to a real Deno.serve on a unix socket; absent socket is undefined", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/d.sock`;
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    const body = req.method === "POST" ? await req.text() : "";
    return Response.json({ method: req.method, url: new URL(req.url).pathname, body });
  });
  try {
    const got = await daemonRequest(
      path,
      "/v1/x?y=1",
      { method: "POST", body: "hello" },
      2000,
      (r) => r.json(),
    );
    assertEquals(got, { method: "POST", url: "/v1/x", body: "hello" });
    assertEquals(await daemonRequest(`${dir}/none.sock`, "/", {}, 500, (r) => r.json()), undefined);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requestAdd: unreachable and 4xx are declined, a valid answer ran, silence, 5xx and an oversized answer are lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/d.sock`;
  let mode = "ran";
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    await req.text();
    if (mode === "ran") return Response.json({ ran: true, error: { code: 100, msg: "failed" } });
    if (mode === "declined") return Response.json({ ran: false, reason: "proc netns" });
    if (mode === "404") return new Response("no such path", { status: 404 });
    if (mode === "500") return new Response("boom", { status: 500 });
    if (mode === "503") return new Response("too many requests", { status: 503 });
    if (mode === "garbage") return new Response("{", { status: 200 });
    if (mode === "huge") return Response.json({ ran: false, reason: "x".repeat(2 << 20) });
    await new Promise((r) => setTimeout(r, 400));
    return Response.json({ ran: true });
  });
  const req = {
    env: { containerId: "c", netns: "/var/run/netns/x", ifname: "net1", args: "" },
    network: "n",
    cniVersion: "1.0.0",
    conf: {},
    pod: { namespace: "ns", name: "p", uid: "" },
    podInterfaces: ["net1"],
  };
  try {
    assertEquals(await requestAdd(`${dir}/none.sock`, req, 500), {
      state: "declined",
      reason: "the daemon is not running",
      daemonUp: false,
    });
    assertEquals(await requestAdd(path, req, 2000), {
      state: "ran",
      answer: { ran: true, error: { code: 100, msg: "failed" } },
    });
    mode = "declined";
    assertEquals((await requestAdd(path, req, 2000)).state, "declined");
    mode = "404";
    assertEquals(await requestAdd(path, req, 2000), {
      state: "declined",
      reason: "the daemon answered 404: no such path",
      daemonUp: true,
    });
    mode = "503";
    assertEquals((await requestAdd(path, req, 2000)).state, "declined", "a 503 is said before anything runs");
    for (const m of ["500", "garbage", "slow"]) {
      mode = m;
      assertEquals((await requestAdd(path, req, 100)).state, "lost", m);
    }
    // Past the client's 1 MiB cap the answer is not read: whatever it says, the daemon took the ADD.
    mode = "huge";
    assertEquals(await requestAdd(path, req, 2000), { state: "lost", reason: "answer too large" });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plainAddAnswer accepts only what AddAnswerSchema accepts, with the same decoded answer", () => {
  const str = fc.oneof(fc.string(), fc.constant("x".repeat(4097)), fc.constant("x".repeat(4096)));
  const answer = fc.oneof(
    fc.record({ ran: fc.constant(false), reason: fc.oneof(str, junk), more: junk }, {
      requiredKeys: ["ran"],
    }),
    fc.record({
      ran: fc.constant(true),
      error: fc.option(
        fc.record({
          code: fc.oneof(fc.integer(), fc.constantFrom(1.5, 2 ** 60), junk),
          msg: fc.oneof(fc.string(), junk),
          details: fc.oneof(fc.string(), junk),
          more: junk,
        }, { requiredKeys: [] }),
        { nil: undefined },
      ),
      more: junk,
    }, { requiredKeys: ["ran"] }),
    fc.record({ ran: junk, reason: junk, error: junk }, { requiredKeys: [] }),
    junk,
  ).map((v) => JSON.parse(JSON.stringify(v ?? null)));
  /** Answers the plain check takes, by construction: a bounded reason, or an integer code with string texts. */
  const plainAnswer = fc.oneof(
    fc.record({ ran: fc.constant(false), reason: fc.string({ maxLength: 4096 }), more: junk }, {
      requiredKeys: ["ran", "reason"],
    }),
    fc.record({
      ran: fc.constant(true),
      error: fc.option(
        fc.record({
          code: fc.integer(),
          msg: fc.string(),
          details: fc.option(fc.string(), { nil: undefined }),
          more: junk,
        }, { requiredKeys: ["code", "msg"] }),
        { nil: undefined },
      ),
      more: junk,
    }, { requiredKeys: ["ran"] }),
  ).map((v) => JSON.parse(JSON.stringify(v)));
  const runs = 3000;
  let accepted = 0;
  const check = (body: unknown) => {
    const plain = plainAddAnswer(body);
    const r = AddAnswerSchema.safeParse(body);
    if (plain) {
      accepted++;
      assert(r.success, JSON.stringify(body));
      assertEquals(plain, r.data);
    }
    return plain !== undefined;
  };
  assertProperty(
    fc.property(answer, plainAnswer, (body, plainBody) => {
      check(body);
      // The plain path is reached every run: an answer it takes by construction.
      assert(check(plainBody), `plainAddAnswer refused ${JSON.stringify(plainBody)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});

Deno.test("exchange: a daemon that never answers is cut at the deadline (AbortSignal.timeout)", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c); // accepts, reads nothing, never answers
  })();
  try {
    const started = performance.now();
    const x = await exchange(path, "/v1/add", { method: "POST", body: "{}" }, 150);
    const took = performance.now() - started;
    assertEquals(x, { state: "lost", reason: "no answer within 150 ms" });
    // The reason says the deadline ended it (the listener never answers); a timer never fires early.
    assert(took >= 140, `took ${took} ms`);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await Deno.remove(dir, { recursive: true });
  }
});
