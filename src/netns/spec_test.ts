// Unit tests of the spec builders: snapshot entries back into `ip` arguments.
import { assertEquals } from "../../tests/support/assert.ts";
import type { Entry } from "./model.ts";
import { addressSpec, neighbourSpec, routeSpec, ruleSpec } from "./spec.ts";

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
