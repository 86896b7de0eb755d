// observeAttachment never enters a /proc netns path (a PID may name another process by now).
import { assertRejects } from "../../../tests/support/assert.ts";
import type { Attachment } from "../attachments/attachment_store.ts";
import { observeAttachment } from "./observe.ts";

Deno.test("observeAttachment: a /proc netns path is refused without running anything", async () => {
  const a: Attachment = {
    containerId: "c1",
    netns: "/proc/4242/ns/net",
    ifname: "eth0",
    network: "n",
    podUid: "u1",
    namespace: "default",
    name: "p1",
    // An `ip` path outside the allowed list would throw a different error: nothing is resolved or run first.
    ipPath: "/nowhere/ip",
  };
  await assertRejects(() => observeAttachment(a), Error, "is a /proc path: not entered");
});
