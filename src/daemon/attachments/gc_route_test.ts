import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import type { Attachment } from "./attachment_store.ts";
import { createGcRoute, gcLogLine, LOGGED_NAMES, MAX_GC_BODY_BYTES, staleAttachments } from "./gc_route.ts";

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
  assertEquals(staleAttachments(all, { network: "net-b", valid: [] }).map((a) => a.containerId), ["c"]);
  // a valid entry of another network's container does not keep this network's attachment
  assertEquals(
    staleAttachments(all, { network: "net-b", valid: [{ containerId: "c", ifname: "net2" }] }).length,
    1,
  );
});

Deno.test("gcLogLine: the network, the counts, and the first few forgotten attachments", () => {
  const req = { network: "net-a", valid: [{ containerId: "a", ifname: "net1" }] };
  assertEquals(gcLogLine(req, []), "GC of network net-a: 1 valid attachment(s), forgot 0");
  assertEquals(gcLogLine(req, [att("b")]), "GC of network net-a: 1 valid attachment(s), forgot 1 (b/net1)");
  const many = Array.from({ length: LOGGED_NAMES + 3 }, (_, i) => att(`c${i}`));
  const line = gcLogLine(req, many);
  assertStringIncludes(line, `forgot ${LOGGED_NAMES + 3} (c0/net1,`);
  assertStringIncludes(line, `c${LOGGED_NAMES - 1}/net1, 3 more)`);
});

Deno.test("GC route: removes, logs one line and reports the count; 400/404/405/413", async () => {
  let all = [att("a"), att("b"), att("x", "net1", "net-b")];
  const logs: string[] = [];
  let removals = 0;
  const route = createGcRoute({
    all: () => all,
    remove: (stale) => {
      removals++;
      all = all.filter((a) => !stale.includes(a));
      return Promise.resolve();
    },
    log: (m) => logs.push(m),
  });
  const request = (body: string, method = "POST", path = "/v1/gc") => {
    const url = new URL(`http://chainsaw${path}`);
    return route(new Request(url, { method, body: method === "GET" ? undefined : body }), url);
  };
  const res = await request(
    JSON.stringify({ network: "net-a", valid: [{ containerId: "a", ifname: "net1" }] }),
  );
  assertEquals([res.status, await res.json()], [200, { removed: 1 }]);
  assertEquals(all.map((a) => a.containerId), ["a", "x"]);
  assertEquals(logs, ["GC of network net-a: 1 valid attachment(s), forgot 1 (b/net1)"]);
  const again = await request(
    JSON.stringify({ network: "net-a", valid: [{ containerId: "a", ifname: "net1" }] }),
  );
  assertEquals([again.status, await again.json(), removals, logs.length], [200, { removed: 0 }, 1, 2]);

  const status = async (r: Response | Promise<Response>) => {
    const got = await r;
    await got.body?.cancel();
    return got.status;
  };
  assertEquals(await status(request("{")), 400);
  assertEquals(await status(request(JSON.stringify({ network: "", valid: [] }))), 400);
  assertEquals(await status(request(JSON.stringify({ network: "net-a" }))), 400);
  assertEquals(
    await status(request(JSON.stringify({ network: "net-a", valid: [{ containerID: "a" }] }))),
    400,
  );
  assertEquals(await status(request("", "GET")), 405);
  assertEquals(await status(request("{}", "POST", "/v1/gc/x")), 404);
  assertEquals(await status(request("x".repeat(MAX_GC_BODY_BYTES + 1))), 413);
  assertEquals(all.map((a) => a.containerId), ["a", "x"], "refused requests forget nothing");
});
