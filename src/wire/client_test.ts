import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { daemonRequest, parseHttpResponse, requestAdd } from "./client.ts";

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

Deno.test("requestAdd: unreachable and 4xx are declined, a valid answer ran, silence and 5xx are lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/d.sock`;
  let mode = "ran";
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    await req.text();
    if (mode === "ran") return Response.json({ ran: true, error: { code: 100, msg: "failed" } });
    if (mode === "declined") return Response.json({ ran: false, reason: "proc netns" });
    if (mode === "404") return new Response("no such path", { status: 404 });
    if (mode === "500") return new Response("boom", { status: 500 });
    if (mode === "garbage") return new Response("{", { status: 200 });
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
    for (const m of ["500", "garbage", "slow"]) {
      mode = m;
      assertEquals((await requestAdd(path, req, 100)).state, "lost", m);
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
