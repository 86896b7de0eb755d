// Unit tests of the dumps' parsing and the restore planners (no netns needed; the real-netns tests are
// tests/netns_snapshot_test.ts; the model, diff and spec builders are tested in src/netns/).
import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { DumpError } from "../netns/model.ts";
import { dumps, ETH, LO, snap, V4 } from "../netns/testdata/dumps.ts";
import { parseDocuments } from "./_snapshot_dump.ts";
import { planAddresses, planLinks, planRoutes, planRules } from "./_snapshot_plan.ts";

Deno.test("parseDocuments splits ip -j -batch output into one document per line", () => {
  assertEquals(parseDocuments('[{"a":1}]\n[]\n\n', 2), [[{ a: 1 }], []]);
  // Control characters `ip -j` leaves raw inside strings (an ESC in an interface name, \x01 in an alias).
  assertEquals(parseDocuments('[{"ifname":"e\x1b[2Jx","ifalias":"a\\nb\x01"}]\n', 1), [[{
    ifname: "e\x1b[2Jx",
    ifalias: "a\nb\x01",
  }]]);
  assertThrows(() => parseDocuments("[]\n", 2), DumpError, "expected 2 JSON documents, got 1");
  const e = assertThrows(() => parseDocuments("[]\n[{\n", 2), DumpError, "document 2 is not JSON");
  assert(e.cause instanceof SyntaxError, "keeps the parse error as cause");
});

Deno.test("planLinks: rename needs the link down, admin state comes last, deleted links are problems", () => {
  const renamed = snap({
    links: [LO, { ...ETH, ifname: "net1", mtu: 1400, flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"] }],
  });
  assertEquals(planLinks(snap(), renamed).commands, [
    ["link", "set", "dev", "net1", "down"],
    ["link", "set", "dev", "net1", "name", "eth0"],
    ["link", "set", "dev", "eth0", "mtu", "1500"],
    ["link", "set", "dev", "eth0", "up"],
  ]);
  const down = snap({ links: [LO, { ...ETH, flags: ["BROADCAST", "MULTICAST"], ifalias: "x" }] });
  assertEquals(planLinks(snap(), down).commands, [
    ["link", "set", "dev", "eth0", "alias", ""],
    ["link", "set", "dev", "eth0", "up"],
  ]);
  assertEquals(planLinks(down, snap()).commands, [
    ["link", "set", "dev", "eth0", "down"],
    ["link", "set", "dev", "eth0", "alias", "x"],
  ]);
  const gone = planLinks(snap(), snap({ links: [LO] }));
  assertEquals(gone.problems, ["link eth0 (ifindex 2) was deleted and cannot be recreated"]);
});

Deno.test("planLinks deletes one end of a veth pair created inside the netns", () => {
  const pair = snap({
    links: [LO, ETH, { ifindex: 5, ifname: "a", link_index: 6, flags: [] }, {
      ifindex: 6,
      ifname: "b",
      link_index: 5,
      flags: [],
    }],
  });
  assertEquals(planLinks(snap(), pair).commands, [["link", "del", "dev", "a"]]);
});

Deno.test("planAddresses keeps IPv4 order: a new primary in the middle means re-adding what follows", () => {
  const [p, s] = (dumps().addr4 as Array<{ addr_info: object[] }>)[0].addr_info;
  const x = { ...V4, local: "198.51.100.1", prefixlen: 24 };
  const current = snap({ addr4: [{ ...ETH, addr_info: [p, x, s] }] });
  assertEquals(planAddresses(snap(), current).commands, [
    ["-4", "addr", "del", "192.0.2.2/24", "dev", "eth0"],
    ["-4", "addr", "del", "198.51.100.1/24", "dev", "eth0"],
    ["-4", "addr", "add", "192.0.2.2/24", "dev", "eth0", "scope", "global", "label", "eth0"],
  ]);
});

Deno.test("planRoutes deletes extras first and adds routes without a gateway before routes with one", () => {
  const current = snap({
    route4: [{ type: "unicast", dst: "10.99.0.0/24", dev: "eth0", protocol: "boot", flags: [] }],
  });
  assertEquals(planRoutes(snap(), current).commands.map((c) => c.slice(0, 5).join(" ")), [
    "-4 route del unicast 10.99.0.0/24",
    "-4 route add unicast 192.0.2.0/24",
    "-4 route add unicast default",
  ]);
});

Deno.test("planRules restores the order of rules of one priority", () => {
  const r = (table: string) => ({ priority: 100, src: "all", table });
  const want = snap({ rule4: [r("1"), r("2")] });
  const have = snap({ rule4: [r("2")] });
  assertEquals(planRules(want, have).commands.map((c) => c.join(" ")), [
    "-4 rule del priority 100 from all table 2",
    "-4 rule add priority 100 from all table 1",
    "-4 rule add priority 100 from all table 2",
  ]);
});
