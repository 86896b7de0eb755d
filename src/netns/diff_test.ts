// Unit tests of the snapshot diff (the real-netns tests are tests/netns_snapshot_test.ts).
import { assertEquals, assertMatch } from "../../tests/support/assert.ts";
import { diffSnapshots } from "./diff.ts";
import { dumps, ETH, LO, snap, V4 } from "./testdata/dumps.ts";

Deno.test("diffSnapshots: equal snapshots have no differences, counters and timers do not count", () => {
  assertEquals(diffSnapshots(snap(), snap()), []);
  const busy = snap({
    links: [LO, { ...ETH, operstate: "DOWN", flags: ["BROADCAST", "MULTICAST", "UP", "NO-CARRIER"] }],
  });
  assertEquals(diffSnapshots(snap(), busy), []);
});

Deno.test("diffSnapshots names what changed", () => {
  const changed = snap({
    links: [LO, { ...ETH, mtu: 1400 }],
    route4: [...(dumps().route4 as object[]), { type: "unreachable", dst: "10.99.0.0/24", table: "100" }],
    neigh4: [],
  });
  assertEquals(diffSnapshots(snap(), changed), [
    "~ link eth0 (ifindex 2): mtu 1500 → 1400",
    "+ route (v4): unreachable 10.99.0.0/24 table 100",
    "- neighbour (v4): 192.0.2.77 lladdr 02:00:00:00:00:77 dev eth0 nud permanent",
  ]);
});

Deno.test("diffSnapshots compares IPv4 addresses in order (primary first)", () => {
  const a = dumps().addr4 as Array<{ addr_info: object[] }>;
  const swapped = snap({
    addr4: [{
      ...ETH,
      addr_info: [{ ...V4, local: "192.0.2.2", prefixlen: 24 }, { ...V4, local: "192.0.2.1", prefixlen: 24 }],
    }],
  });
  const lines = diffSnapshots(snap(), swapped);
  assertMatch(lines.join("\n"), /^- address of eth0 \(v4\): 192\.0\.2\.2\/24 .*"secondary":true\}$/m);
  const reordered = snap({ addr4: [{ ...ETH, addr_info: [a[0].addr_info[1], a[0].addr_info[0]] }] });
  assertMatch(diffSnapshots(snap(), reordered).join("\n"), /^~ address of eth0 \(v4\) in another order/);
});

Deno.test("diffSnapshots ignores the kernel's local route of an address in DAD", () => {
  assertEquals(diffSnapshots(snap(), snap({ route6: [] })), []);
  const settled = snap({ addr6: [], route6: [] });
  assertEquals(diffSnapshots(snap(), settled), [
    "- address of eth0 (v6): 2001:db8::1/64 dev eth0 scope global valid_lft 3600 preferred_lft 1800",
  ]);
});
