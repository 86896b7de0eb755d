// Unit tests of the one-process batch's pure parts: which commands may be batched, and how a dump without
// families splits into the snapshot's families. The batch itself runs in tests/declarative_exec_test.ts.
import { assert, assertEquals } from "../../tests/support/assert.ts";
import {
  batchable,
  DUMP_LINES,
  dumpAfter,
  dumpsFor,
  dumpsOf,
  fillFrom,
  isRead,
  withRulesOf,
} from "./_netns_batch.ts";
import { buildSnapshot } from "../netns/model.ts";

Deno.test("batchable: plain route/link/address/rule/neighbour commands, not global options, monitor, quotes or IPv6 rules", () => {
  for (
    const ok of [
      ["route", "add", "192.0.3.0/24", "dev", "eth0"],
      ["r", "replace", "2001:db8::/64", "via", "fe80::1", "dev", "eth0"],
      ["link", "set", "dev", "eth0", "mtu", "1400"],
      ["rule", "add", "from", "192.0.2.0/24", "table", "100"],
      ["neigh", "del", "192.0.2.9", "dev", "eth0"],
      ["route"],
    ]
  ) assert(batchable(ok), ok.join(" "));
  for (
    const no of [
      ["-6", "route", "add", "2001:db8::/64", "dev", "eth0"],
      ["-s", "link"],
      ["monitor", "route"],
      ["link", "set", "dev", "eth0", "alias", "a b"],
      ["link", "set", "dev", "eth0", "alias", "#x"],
      ["rule", "add", "from", "2001:db8::/64", "table", "100"],
      ["token", "set", "::1", "dev", "eth0"],
      ["tunnel", "show"],
      [],
    ]
  ) assert(!batchable(no), no.join(" "));
  assert(isRead(["route"]));
  assert(isRead(["route", "get", "192.0.2.1"]));
  assert(!isRead(["route", "add", "192.0.2.0/24", "dev", "eth0"]));
});

Deno.test("dumpsOf: a dump without families splits by address family, IPv6 routes by their pref", () => {
  const link = { ifindex: 2, ifname: "eth0", flags: ["UP"], mtu: 1500 };
  const dumps = dumpsOf([
    [link],
    [{
      ...link,
      addr_info: [
        { family: "inet", local: "192.0.2.5", prefixlen: 24 },
        { family: "inet6", local: "2001:db8::5", prefixlen: 64 },
      ],
    }],
    [
      { dst: "default", gateway: "192.0.2.1", dev: "eth0", table: "main" },
      { dst: "default", gateway: "fe80::1", dev: "eth0", table: "main", pref: "medium" },
      { dst: "default", dev: "eth0", table: "main", metric: 1024, pref: "medium" },
    ],
    [{ priority: 0, src: "all", table: "local" }],
    [{ dst: "192.0.2.9", dev: "eth0", lladdr: "02:00:00:00:00:09" }, { dst: "fe80::9", dev: "eth0" }],
  ]);
  const s = buildSnapshot("/var/run/netns/x", dumps);
  assertEquals(s.addresses.map((a) => [a.family, a.local]), [[4, "192.0.2.5"], [6, "2001:db8::5"]]);
  assertEquals(s.routes.map((r) => [r.family, r.gateway ?? "-"]), [[4, "192.0.2.1"], [6, "fe80::1"], [
    6,
    "-",
  ]]);
  assertEquals(s.neighbours.map((n) => n.family), [4, 6]);
  assertEquals(s.rules.map((r) => r.family), [4]);
  const full = { ...s, rules: [...s.rules, { priority: 0, src: "all", table: "local", family: 6 }] };
  assertEquals(withRulesOf(s, full).rules.map((r) => r.family), [4, 6]);
});

Deno.test("dumpAfter: a writer is followed by the dumps of what it can change", () => {
  const names = (argv: string[]) => dumpAfter(argv).map((k) => DUMP_LINES[k]);
  assertEquals(names(["r", "add", "192.0.3.0/24", "dev", "eth0"]), ["route show table all"]);
  assertEquals(names(["rule", "add", "from", "192.0.2.0/24", "table", "5"]), ["rule show"]);
  assertEquals(names(["neigh", "del", "192.0.2.9", "dev", "eth0"]), ["neigh show nud permanent"]);
  assertEquals(names(["addr", "add", "192.0.2.7/24", "dev", "eth0"]), ["addr show", "route show table all"]);
  assertEquals(names(["link", "set", "dev", "eth0", "down"]), [...DUMP_LINES]);
});

Deno.test("dumpsFor / fillFrom: a batch dumps what its writers can change; the rest is filled from a full snapshot", () => {
  assertEquals(dumpsFor([["route", "add", "x", "dev", "e"], ["rule", "add", "table", "5"]]), [2, 3]);
  assertEquals(dumpsFor([["route", "add", "x", "dev", "e"], ["link", "set", "dev", "e", "up"]]), [
    0,
    1,
    2,
    3,
    4,
  ]);
  const link = { ifindex: 2, ifname: "eth0", flags: ["UP"], mtu: 1500 };
  const full = buildSnapshot("/x", dumpsOf([[link], [], [{ dst: "default", dev: "eth0" }], [], []]));
  const v6rule = { priority: 0, src: "all", table: "local", family: 6 };
  const withV6 = { ...full, rules: [...full.rules, v6rule] };
  const partial = buildSnapshot("/x", dumpsOf([[], [], [{ dst: "192.0.3.0/24", dev: "eth0" }], [], []]));
  const filled = fillFrom(partial, withV6, [2]);
  assertEquals(filled.links, full.links, "links from the full snapshot");
  assertEquals(filled.routes.map((r) => r.dst), ["192.0.3.0/24"], "routes the batch's own");
  assertEquals(filled.rules, [v6rule], "IPv6 rules always from the full snapshot");
});
