import { assertEquals } from "../../tests/support/assert.ts";
import type { Attachment } from "./attachments.ts";
import { createGcRoute, staleAttachments } from "./gc_route.ts";

const att = (containerId: string, ifname = "net1", network = "net-a"): Attachment => ({
  containerId,
  netns: `/var/run/netns/${containerId}`,
  ifname,
  network,
  podUid: "u",
  namespace: "default",
  name: "p",
});

Deno.test("staleAttachments: this network's attachments missing from the valid list", () => {
  const all = [att("a"), att("a", "net2"), att("b"), att("c", "net1", "net-b")];
  const stale = staleAttachments(all, { network: "net-a", valid: [{ containerId: "a", ifname: "net1" }] });
  assertEquals(stale.map((a) => `${a.containerId}/${a.ifname}`), ["a/net2", "b/net1"]);
  assertEquals(staleAttachments(all, { network: "net-c", valid: [] }), []);
});

Deno.test("GC route: removes and reports the count; 400 for a bad body", async () => {
  let all = [att("a"), att("b")];
  const logs: string[] = [];
  const route = createGcRoute({
    all: () => all,
    remove: (stale) => {
      all = all.filter((a) => !stale.includes(a));
      return Promise.resolve();
    },
    log: (m) => logs.push(m),
  });
  const post = (body: string) => {
    const url = new URL("http://chainsaw/v1/gc");
    return route(new Request(url, { method: "POST", body }), url);
  };
  const res = await post(JSON.stringify({ network: "net-a", valid: [{ containerId: "a", ifname: "net1" }] }));
  assertEquals([res.status, await res.json()], [200, { removed: 1 }]);
  assertEquals(all.map((a) => a.containerId), ["a"]);
  assertEquals(logs.length, 1);
  assertEquals((await post("{")).status, 400);
  assertEquals((await post(JSON.stringify({ network: "", valid: [] }))).status, 400);
});
