// Unit tests of the snapshot model, diff, spec builders and planners (no netns needed; the real-netns tests are
// tests/netns_snapshot_test.ts).
import { assert, assertEquals, assertMatch, assertThrows } from "../../tests/support/assert.ts";
import { DumpError, parseDocuments, type RawDumps } from "./_snapshot_dump.ts";
import { buildSnapshot, canonical, type Entry, type NetnsSnapshot } from "./_snapshot_model.ts";
import { planAddresses, planLinks, planRoutes, planRules } from "./_snapshot_plan.ts";
import { addressSpec, neighbourSpec, routeSpec, ruleSpec } from "./_snapshot_spec.ts";
import { diffSnapshots } from "./netns_snapshot.ts";

const LO = {
  ifindex: 1,
  ifname: "lo",
  flags: ["LOOPBACK", "UP", "LOWER_UP"],
  mtu: 65536,
  qdisc: "noqueue",
  operstate: "UNKNOWN",
  txqlen: 1000,
  address: "00:00:00:00:00:00",
};
const ETH = {
  ifindex: 2,
  ifname: "eth0",
  flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
  mtu: 1500,
  qdisc: "noqueue",
  operstate: "UP",
  linkmode: "DEFAULT",
  txqlen: 1000,
  address: "02:00:00:00:00:01",
  promiscuity: 0,
  stats64: { rx: { bytes: 5 } },
  linkinfo: { info_kind: "bridge", info_data: { hello_timer: 1.5, stp_state: 0 } },
};
const V4 = {
  family: "inet",
  scope: "global",
  label: "eth0",
  valid_life_time: 4294967295,
  preferred_life_time: 4294967295,
};

function dumps(over: Partial<RawDumps> = {}): RawDumps {
  return {
    links: [LO, ETH],
    addr4: [{
      ...ETH,
      addr_info: [
        { ...V4, local: "192.0.2.1", prefixlen: 24 },
        { ...V4, local: "192.0.2.2", prefixlen: 24, secondary: true },
      ],
    }],
    route4: [
      { type: "unicast", dst: "default", gateway: "192.0.2.254", dev: "eth0", protocol: "boot", flags: [] },
      {
        type: "unicast",
        dst: "192.0.2.0/24",
        dev: "eth0",
        protocol: "kernel",
        scope: "link",
        prefsrc: "192.0.2.1",
        flags: ["linkdown"],
      },
    ],
    rule4: [
      { priority: 0, src: "all", table: "local", protocol: "kernel" },
      { priority: 32766, src: "all", table: "main", protocol: "kernel" },
    ],
    neigh4: [{ dst: "192.0.2.77", dev: "eth0", lladdr: "02:00:00:00:00:77", state: ["PERMANENT"] }],
    addr6: [{
      ...ETH,
      addr_info: [
        {
          family: "inet6",
          local: "2001:db8::1",
          prefixlen: 64,
          scope: "global",
          tentative: true,
          valid_life_time: 3600,
          preferred_life_time: 1800,
        },
      ],
    }],
    route6: [
      {
        type: "local",
        dst: "2001:db8::1",
        dev: "eth0",
        table: "local",
        protocol: "kernel",
        metric: 0,
        flags: [],
        pref: "medium",
      },
    ],
    rule6: [],
    neigh6: [],
    ...over,
  };
}

function snap(over: Partial<RawDumps> = {}): NetnsSnapshot {
  return buildSnapshot("/var/run/netns/t", dumps(over));
}

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

Deno.test("buildSnapshot drops kernel-managed fields and records families", () => {
  const s = snap();
  const eth = s.links[1];
  assertEquals(eth.flags, ["BROADCAST", "MULTICAST", "UP"]);
  for (const k of ["operstate", "qdisc", "promiscuity", "stats64", "linkmode"]) assert(!(k in eth), k);
  assertEquals(eth.linkinfo, { info_kind: "bridge", info_data: { stp_state: 0 } });
  assertEquals(s.addresses.map((a) => [a.family, a.dev, a.local, "valid_life_time" in a]), [
    [4, "eth0", "192.0.2.1", false],
    [4, "eth0", "192.0.2.2", false],
    [6, "eth0", "2001:db8::1", false],
  ]);
  assertEquals(s.addresses[2]._lifetimes, { valid: 3600, preferred: 1800 });
  assert(!("_lifetimes" in s.addresses[0]), "forever lifetimes are not kept");
  assertEquals(s.tentative, ["2001:db8::1"]);
  assertEquals(s.routes.map((r) => [r.family, r.dst, r.flags]), [
    [4, "default", []],
    [4, "192.0.2.0/24", []],
    [
      6,
      "2001:db8::1",
      [],
    ],
  ]);
  assertEquals(s.rules.map((r) => r.family), [4, 4]);
  assertThrows(() => snap({ route4: { not: "a list" } }), DumpError, "route show (v4)");
});

Deno.test("canonical ignores key order and _ fields", () => {
  assertEquals(canonical({ b: [1, { d: 2, c: 3 }], a: "x", _l: 9 }), '{"a":"x","b":[1,{"c":3,"d":2}]}');
  assertEquals(canonical({ a: 1, b: 2 }), canonical({ b: 2, a: 1 }));
});

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

Deno.test("routeSpec covers gateways, nexthops, metrics, types and v6 fields", () => {
  const e = (o: object): Entry => o as Entry;
  assertEquals(
    routeSpec(e({
      family: 4,
      type: "unicast",
      dst: "10.99.0.0/24",
      table: "100",
      protocol: "static",
      scope: "global",
      metric: 7,
      flags: [],
      metrics: [{ mtu: 1300, advmss: 1200 }],
      nexthops: [
        { gateway: "192.0.2.254", dev: "eth0", weight: 2, flags: [] },
        { gateway: "192.0.2.253", dev: "eth0", weight: 1, flags: ["onlink"] },
      ],
    })).join(" "),
    "unicast 10.99.0.0/24 table 100 proto static scope global metric 7 mtu 1300 advmss 1200 " +
      "nexthop via 192.0.2.254 dev eth0 weight 2 nexthop via 192.0.2.253 dev eth0 weight 1 onlink",
  );
  assertEquals(
    routeSpec(
      e({
        family: 6,
        dst: "2001:db8:a::/64",
        from: "2001:db8::/64",
        dev: "eth0",
        metric: 1024,
        pref: "high",
      }),
    )
      .join(" "),
    "unicast 2001:db8:a::/64 from 2001:db8::/64 metric 1024 dev eth0 pref high",
  );
  assertEquals(
    routeSpec(e({ dst: "10.99.0.0/24", via: { family: "inet6", host: "fe80::1" }, dev: "eth0" })).join(" "),
    "unicast 10.99.0.0/24 via inet6 fe80::1 dev eth0",
  );
});

Deno.test("ruleSpec covers selectors and actions", () => {
  const e = (o: object): Entry => o as Entry;
  assertEquals(
    ruleSpec(e({
      priority: 60,
      not: null,
      src: "192.0.2.0",
      srclen: 24,
      dst: "10.99.0.0",
      dstlen: 24,
      tos: "0x10",
      fwmark: "0x10",
      fwmask: "0xff",
      iif: "eth0",
      uid_start: 100,
      uid_end: 200,
      ipproto: "tcp",
      sport_start: 1000,
      sport_end: 2000,
      dport: 80,
      table: "100",
      suppress_prefixlen: 0,
      protocol: "unspec",
    })).join(" "),
    "priority 60 not from 192.0.2.0/24 to 10.99.0.0/24 tos 0x10 fwmark 0x10/0xff iif eth0 uidrange 100-200 " +
      "ipproto tcp sport 1000-2000 dport 80 table 100 suppress_prefixlength 0",
  );
  assertEquals(
    ruleSpec(e({ priority: 32766, src: "all", table: "main", protocol: "kernel" })).join(" "),
    "priority 32766 from all table main protocol kernel",
  );
  assertEquals(
    ruleSpec(e({ priority: 50, src: "all", goto: 32766 })).join(" "),
    "priority 50 from all goto 32766",
  );
});

Deno.test("addressSpec and neighbourSpec", () => {
  const e = (o: object): Entry => o as Entry;
  assertEquals(
    addressSpec(
      e({ family: 4, local: "192.0.2.1", address: "192.0.2.9", prefixlen: 32, dev: "eth0", label: "eth0" }),
    ),
    ["192.0.2.1", "peer", "192.0.2.9/32", "dev", "eth0", "label", "eth0"],
  );
  assertEquals(
    addressSpec(
      e({ family: 6, local: "2001:db8::1", prefixlen: 64, dev: "eth0", nodad: true, noprefixroute: true }),
    ),
    ["2001:db8::1/64", "dev", "eth0", "noprefixroute", "nodad"],
  );
  assertEquals(
    neighbourSpec(e({ dst: "192.0.2.7", dev: "eth0", lladdr: "02:00:00:00:00:07", router: null })),
    [
      "192.0.2.7",
      "lladdr",
      "02:00:00:00:00:07",
      "dev",
      "eth0",
      "nud",
      "permanent",
      "router",
    ],
  );
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
