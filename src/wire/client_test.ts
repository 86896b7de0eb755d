import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { daemonRequest, parseHttpResponse } from "./daemon_socket.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parseHttpResponse reads content-length and chunked bodies", async () => {
  const fixed = parseHttpResponse(bytes('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"uid":"u"}trailing'));
  assertEquals([fixed.status, fixed.ok, await fixed.json()], [200, true, { uid: "u" }]);
  const chunked = parseHttpResponse(
    bytes("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnot \r\n5\r\nfound\r\n0\r\n\r\n"),
  );
  assertEquals([chunked.status, chunked.ok, await chunked.text()], [404, false, "not found"]);
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
