import { assertEquals, assertRejects, assertThrows } from "../../../tests/support/assert.ts";
import { checkSocketPath, prepareSocketPath, socketDir, SocketPathError } from "./socket_path.ts";

Deno.test("the socket must sit in a directory of its own", () => {
  checkSocketPath("/run/chainsaw/chainsaw.sock");
  checkSocketPath("/run/chainsaw/test-1/x/chainsaw.sock");
  for (
    const bad of ["/run/x.sock", "/tmp/x.sock", "/x.sock", "rel/x.sock", "/var/run/x.sock", "/run/chainsaw/"]
  ) {
    assertThrows(() => checkSocketPath(bad), SocketPathError, undefined);
  }
  assertEquals(socketDir("/run/chainsaw/chainsaw.sock"), "/run/chainsaw");
});

Deno.test("prepareSocketPath makes the directory 0700, removes a stale socket, refuses other files", async () => {
  const base = await Deno.makeTempDir({ prefix: "cs-sock-" });
  try {
    const dir = `${base}/run/chainsaw`;
    const path = `${dir}/chainsaw.sock`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    await Deno.chmod(dir, 0o755);
    const l = Deno.listen({ transport: "unix", path });
    l.close();
    await prepareSocketPath(path);
    assertEquals((await Deno.stat(dir)).mode! & 0o777, 0o700);
    await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    await Deno.writeTextFile(path, "not a socket");
    await assertRejects(() => prepareSocketPath(path), SocketPathError, "not a socket");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
