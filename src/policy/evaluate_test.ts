import { deepEqual, equal } from "node:assert/strict";
import { defaultPolicy } from "./default_policy.ts";
import { checkNamespace, describeRejection, evaluateCommand, evaluateList } from "./evaluate.ts";
import { effectivePolicy } from "./load.ts";

const ctx = { ifname: "net1", podInterfaces: ["eth0", "net1"] };

function verdict(line: string, policy = defaultPolicy()): string {
  const v = evaluateCommand(line.split(" "), policy, ctx);
  return v.allowed ? `allow ${v.rule}` : `deny ${v.rule}`;
}

Deno.test("the seed's examples pass the default policy", () => {
  const v = evaluateList(
    ["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"],
    defaultPolicy(),
    ctx,
  );
  deepEqual(v, {
    allowed: true,
    prepared: [
      {
        source: "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
        argv: ["route", "add", "192.0.3.0/24", "dev", "net1"],
      },
      { source: "ip route", argv: ["route"] },
    ],
  });
  equal(evaluateList(["ip route", " ip addr"], defaultPolicy(), ctx).allowed, true);
});

Deno.test("escape list before deny before allow; default-deny last", () => {
  const policy = effectivePolicy({ allow: ["* *"], deny: ["route add"] }, undefined);
  equal(verdict("netns exec x sh", policy), "deny escape:netns-object");
  equal(verdict("route add 10/8 dev net1", policy), "deny node.deny[0]");
  equal(verdict("link add x type dummy", policy), "allow node.allow[0]");
  equal(verdict("link add x type dummy"), "deny default-deny");
  equal(verdict("-n x link"), "deny escape:global-netns");
  equal(verdict("-n"), "deny escape:global-netns");
  equal(verdict("net bogus"), "deny escape:netns-object");
  equal(verdict("frob"), "deny parse:unknown-object");
  equal(verdict("fr\u00f6b"), "deny escape:non-ascii");
});

Deno.test("a narrowing chain layer must allow too; either layer's deny wins", () => {
  const policy = effectivePolicy(undefined, { allow: ["route *", "address show"], deny: ["route flush"] });
  equal(verdict("route add 10/8 dev net1", policy), "allow chain.allow[0]");
  equal(verdict("addr", policy), "allow chain.allow[1]");
  equal(verdict("link", policy), "deny default-deny");
  equal(verdict("route flush", policy), "deny chain.deny[0]");
  equal(verdict("route add 10/8 dev lo", policy), "deny default-deny"); // the ceiling forbids dev lo
  const denyOnly = effectivePolicy(undefined, { deny: ["link *"] });
  equal(verdict("route", denyOnly), "allow default.allow[0]");
  equal(verdict("link", denyOnly), "deny chain.deny[0]");
});

Deno.test("the whole list is validated first; all rejections are reported", () => {
  const v = evaluateList(
    ["ip route", "ip netns exec x sh", "ip link set lo down", "ip 'unterminated"],
    defaultPolicy(),
    ctx,
  );
  equal(v.allowed, false);
  if (v.allowed) return;
  deepEqual([v.index, v.command, v.rule], [1, "ip netns exec x sh", "escape:netns-object"]);
  deepEqual(v.rejected.map((r) => [r.index, r.rule]), [[1, "escape:netns-object"], [2, "default-deny"], [
    3,
    "parse:tokenize",
  ]]);
  deepEqual(v.prepared.map((p) => p.source), ["ip route"]);
  equal(
    describeRejection(v).startsWith('command 2 "ip netns exec x sh" is not allowed (escape:netns-object: '),
    true,
  );
});

Deno.test("limits: command count and annotation size", () => {
  const policy = effectivePolicy({ limits: { maxCommands: 2, maxAnnotationBytes: 100 } }, undefined);
  const three = evaluateList(["ip route", "ip addr", "ip link"], policy, ctx);
  equal(three.allowed, false);
  if (!three.allowed) {
    deepEqual([three.rule, three.index, three.command, three.prepared], [
      "limit:max-commands",
      2,
      "ip link",
      [],
    ]);
  }
  const big = evaluateList(["ip route"], policy, ctx, 101);
  equal(!big.allowed && big.rule, "limit:annotation-bytes");
  const implicit = evaluateList(["ip route " + "x".repeat(200)], policy, ctx);
  equal(!implicit.allowed && implicit.rule, "limit:annotation-bytes");
  equal(evaluateList([], policy, ctx).allowed, true);
});

Deno.test("namespace scoping", () => {
  const policy = effectivePolicy({ namespaces: ["net-lab", "ops"] }, { namespaces: ["ops"] });
  deepEqual(policy.namespaces, ["ops"]);
  equal(checkNamespace(policy, { ...ctx, namespace: "ops" }), undefined);
  equal(checkNamespace(policy, { ...ctx, namespace: "net-lab" })?.rule, "namespace:not-allowed");
  equal(checkNamespace(policy, ctx)?.rule, "namespace:not-allowed");
  const v = evaluateList(["ip route"], policy, { ...ctx, namespace: "default" });
  equal(!v.allowed && v.rule, "namespace:not-allowed");
  const labelled = effectivePolicy(
    { namespaceLabels: { "chainsaw.cni.cncf.io/enabled": "true" } },
    undefined,
  );
  equal(
    checkNamespace(labelled, { ...ctx, namespaceLabels: { "chainsaw.cni.cncf.io/enabled": "true" } }),
    undefined,
  );
  equal(checkNamespace(labelled, { ...ctx, namespaceLabels: {} })?.rule, "namespace:not-allowed");
  equal(checkNamespace(labelled, ctx)?.rule, "namespace:not-allowed");
});

Deno.test("monitor is denied by default but can be allowed (the runner bounds it)", () => {
  equal(verdict("monitor"), "deny default-deny");
  equal(verdict("monitor link", effectivePolicy({ allow: ["monitor *"] }, undefined)), "allow node.allow[0]");
  equal(
    verdict("monitor all-nsid", effectivePolicy({ allow: ["monitor *"] }, undefined)),
    "deny escape:all-nsid",
  );
});

Deno.test("the default policy grants no identity change on a shared L2", () => {
  for (
    const line of [
      "link set dev net1 address 02:00:00:00:00:01",
      "l s net1 a 02:00:00:00:00:01",
      "link set net1 broadcast ff:ff:ff:ff:ff:fe",
      "link set net1 arp off",
      "link set net1 promisc on",
      "link set net1 allmulticast on",
      "link set net1 addrgenmode random",
      "link add link net1 name m0 type macvlan",
      "addr add 192.0.2.50/24 dev net1",
      "a a 192.0.2.50/24 dev net1",
      "a r 192.0.2.50/24 dev net1",
      "a change 192.0.2.50/24 dev net1",
      "neigh add 192.0.2.50 lladdr 02:00:00:00:00:01 dev net1",
      "n r 192.0.2.50 lladdr 02:00:00:00:00:01 dev net1",
      "n chg 192.0.2.50 lladdr 02:00:00:00:00:01 dev net1",
      "neigh add proxy 192.0.2.50 dev net1",
      "token set ::1/64 dev net1",
      "route add local 192.0.2.50 dev net1 table local",
      "route add +2 192.0.2.50 dev net1",
      "route add broadcast 192.0.2.255 dev net1",
      "route add 192.0.2.50 dev net1 table local",
      "-6 route add anycast 2001:db8::1 dev net1",
      "nexthop add id 1 via 192.0.2.1 dev net1",
      "maddr add 01:00:5e:00:00:01 dev net1",
    ]
  ) equal(verdict(line), "deny default-deny", line);
  // What the seed's users need stays.
  for (
    const line of [
      "route add 192.0.3.0/24 dev net1",
      "route replace default via 192.0.2.1 dev net1 table 100",
      "route add blackhole 10/8",
      "route del 192.0.3.0/24 dev net1",
      "rule add from 192.0.2.0/24 table 100",
      "link set net1 mtu 1400 up",
      "addr del 192.0.2.10/24 dev net1",
      "neigh del 192.0.2.9 dev net1",
      "-d link show",
    ]
  ) equal(verdict(line).startsWith("allow default.allow["), true, line);
});

Deno.test("-resolve is refused unless a rule names it; the reason says so", () => {
  for (const spelling of ["-r", "-re", "-res", "-resolve", "--resolve", "--re"]) {
    const v = evaluateCommand([spelling, "route"], defaultPolicy(), ctx);
    equal(v.allowed, false, spelling);
    if (v.allowed) continue;
    equal(v.rule, "default-deny");
    equal(v.reason.startsWith('-resolve is not granted by "* show|get"'), true, v.reason);
  }
  const optIn = effectivePolicy({ allow: ["* show|get -resolve"] }, undefined);
  equal(verdict("-r route", optIn), "allow node.allow[0]");
  // A chain layer without it refuses even when the node grants it.
  const narrowed = effectivePolicy({ allow: ["* show|get -resolve"] }, { allow: ["* show"] });
  equal(verdict("-r route", narrowed), "deny default-deny");
  equal(verdict("route", narrowed), "allow chain.allow[0]");
});

Deno.test("built-in denies hold whatever deny list a node or chain policy has", () => {
  for (
    const policy of [
      defaultPolicy(),
      effectivePolicy({ allow: ["* *"], deny: ["route flush"] }, undefined),
      effectivePolicy({ allow: ["* *"], deny: [] }, undefined),
      effectivePolicy({ allow: ["* *"] }, { allow: ["* *"], deny: [] }),
    ]
  ) {
    equal(verdict("-d tuntap show", policy), "deny escape:reads-host-proc");
    equal(verdict("tuntap add tap0 mode tap", policy), "deny escape:reads-host-proc");
    equal(verdict("vrf pids red", policy), "deny escape:reads-host-proc");
    equal(verdict("netns exec x sh", policy), "deny escape:netns-object");
  }
});
