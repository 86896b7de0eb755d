import { assertEquals } from "../../tests/support/assert.ts";
import { isProcNetns, netnsState } from "./netns_state.ts";

Deno.test("netnsState: present, gone (NotFound only), unknown for /proc paths and other errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await netnsState(dir), "present");
    assertEquals(await netnsState(`${dir}/missing`), "gone");
    assertEquals(await netnsState("/proc/1/ns/net"), "unknown");
    assertEquals(await netnsState(""), "unknown");
    const denied = () => Promise.reject(new Deno.errors.PermissionDenied("no"));
    assertEquals(await netnsState("/var/run/netns/x", denied), "unknown");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(
    ["/proc/12/ns/net", "/proc/self/ns/net", "/var/run/netns/cni-1", "/procs"].map(isProcNetns),
    [true, true, false, false],
  );
  // Every spelling of a /proc path, and paths a lexical check cannot place, count as /proc paths.
  assertEquals(
    ["//proc/self/ns/net", "/proc/./self/ns/net", "/var/run/netns/../../proc/1/ns/net", "proc/self/ns/net"]
      .map(
        isProcNetns,
      ),
    [true, true, true, true],
  );
  assertEquals(await netnsState("//proc/self/ns/net"), "unknown");
});
