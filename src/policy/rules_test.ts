import { deepEqual, equal, throws } from "node:assert/strict";
import { normalize, type Normalized } from "./objects.ts";
import { compileRules, parsePolicyDocument, parseRule, PolicyError, ruleMatches } from "./rules.ts";

const ctx = { ifname: "net1", podInterfaces: ["eth0", "net1"] };

function cmd(line: string): Normalized {
  const n = normalize(line.split(" "));
  if (n.kind !== "command") throw new Error(`${line}: ${n.message}`);
  return n;
}

function allows(rule: string, line: string): boolean {
  return ruleMatches(parseRule(rule, "t", "allow"), cmd(line), ctx, "allow");
}

function denies(rule: string, line: string): boolean {
  return ruleMatches(parseRule(rule, "t", "deny"), cmd(line), ctx, "deny");
}

Deno.test("rules are normalised like commands", () => {
  const r = parseRule(
    "ro a|del|rep|c dev=@pod to?=192.0.2.0/24,2001:db8::/32 table=100-200,main",
    "x",
    "allow",
  );
  equal(r.object, "route");
  deepEqual(r.verbs, ["add", "delete", "replace", "change"]);
  deepEqual(r.constraints.map((c) => [c.key, c.optional, c.matchers.map((m) => m.kind)]), [
    ["dev", false, ["pod"]],
    ["to", true, ["prefix", "prefix"]],
    ["table", false, ["range", "range"]],
  ]);
  deepEqual(parseRule("link change dev=@current mtu|up", "x", "allow").verbs, ["set"]);
  deepEqual(parseRule("* list|del|get", "x", "allow").verbs, ["show", "delete", "get"]);
  equal(parseRule("xfrm.sa show", "x", "allow").subobject, "state");
  equal(parseRule("monitor *", "x", "allow").verbs, "*");
});

Deno.test("bad rules fail with a message naming the rule and the problem", () => {
  const bad: [string, RegExp][] = [
    ["route", /needs at least an object and verbs/],
    ["routes show", /"routes" is not an ip object/],
    ["route frobnicate", /"frobnicate" is not a verb of ip route/],
    ["* sh", /not a canonical ip verb/],
    ["route add dev=@nobody", /unknown value "@nobody"/],
    ["route add to=10/8", /expected an IP address or prefix/],
    ["route add table=200-100", /range is empty/],
    ["route add bogus=1", /"bogus" is not a keyword of ip route/],
    ["route add dev=", /no values/],
    ["netns show", /escape list/],
    ["xfrm.nope show", /not a sub-object/],
    ["rule replace", /not a verb of ip rule/],
    ["* show -frob", /"-frob" is not a global option of ip/],
    ["* show -n", /-netns is on the escape list/],
    ["* show --batch", /-batch is on the escape list/],
  ];
  for (const [text, message] of bad) {
    throws(() => compileRules([text], "node", "allow", "/etc/cni/chainsaw/policy.json"), (e: Error) => {
      equal(e instanceof PolicyError, true);
      equal(e.message.includes("/etc/cni/chainsaw/policy.json: allow[0]"), true, e.message);
      equal(e.message.includes(`"${text}"`), true, e.message);
      equal(message.test(e.message), true, `${text}: ${e.message}`);
      return true;
    });
  }
  parseRule("netns show", "x", "deny"); // denying netns is pointless but harmless
});

Deno.test("allow: every value must match; required vs optional keys", () => {
  equal(allows("route add dev=@pod", "route add 10/8 dev eth0"), true);
  equal(allows("route add dev=@pod", "route add 10/8 dev lo"), false);
  equal(allows("route add dev=@pod", "route add 10/8 via 192.0.2.1"), false);
  equal(allows("route add dev?=@pod", "route add 10/8 via 192.0.2.1"), true);
  equal(allows("route add dev=@current", "route add 10/8 dev eth0"), false);
  equal(
    allows("route add dev=@pod", "route add 10/8 nexthop via 1.1.1.1 dev net1 nexthop via 1.1.1.2 dev lo"),
    false,
  );
  equal(allows("route add dev=* ", "route add 10/8 dev anything"), true);
  equal(allows("route add dev=@pod", "route add 10/8 dev if2"), false);
});

Deno.test("allow: prefix containment, default routes, families", () => {
  const rule = "route add to=192.0.2.0/24,2001:db8::/32";
  equal(allows(rule, "route add 192.0.2.128/25 dev x"), true);
  equal(allows(rule, "route add 192.0.2.0/23 dev x"), false);
  equal(allows(rule, "route add 2001:db8:1::/48 dev x"), true);
  equal(allows(rule, "route add 010.0.0.0/8 dev x"), false);
  equal(allows(rule, "route add default dev x"), false);
  equal(allows("route add to=default", "route add default dev x"), true);
  equal(allows("route add to=0.0.0.0/0", "route add default dev x"), false); // could be ::/0
  equal(allows("route add to=0.0.0.0/0", "-4 route add default dev x"), true);
  equal(allows("route add to=0.0.0.0/0,::/0", "route add default dev x"), true);
  equal(allows("route add via=192.0.2.1", "route add 10/8 via inet 192.0.2.1"), true);
  equal(allows("route add to=192.0.2.0/24", "-M route add 100 dev x"), false);
});

Deno.test("allow: numeric ranges and table names", () => {
  const rule = "route add table?=100-199,main";
  equal(allows(rule, "route add 10/8 dev x table 150"), true);
  equal(allows(rule, "route add 10/8 dev x t 0x64"), true);
  equal(allows(rule, "route add 10/8 dev x table main"), true);
  equal(allows(rule, "route add 10/8 dev x table 254"), true);
  equal(allows(rule, "route add 10/8 dev x table 200"), false);
  equal(allows(rule, "route add 10/8 dev x table 0144"), false);
  equal(allows(rule, "route add 10/8 dev x table custom"), false);
  equal(allows(rule, "route add 10/8 dev x"), true);
});

Deno.test("allow: a keyword list bounds what else the command may say", () => {
  const rule = "link set dev=@pod mtu|up|down|txqueuelen";
  equal(allows(rule, "link set net1 mtu 1400 up"), true);
  equal(allows(rule, "link set dev eth0 addr 02:00:00:00:00:01"), false);
  equal(allows(rule, "link set dev eth0 a 02:00:00:00:00:01"), false);
  equal(allows(rule, "link set dev eth0 up arp off"), false);
  equal(allows(rule, "link set dev eth0 brd ff:ff:ff:ff:ff:fe"), false);
  equal(allows(rule, "link set dev eth0 addrgenmode random"), false);
  equal(allows(rule, "link set dev eth0 promisc on"), false);
  equal(allows(rule, "link set net1 name evil"), false);
  equal(allows(rule, "link set net1 master br0"), false);
  equal(allows(rule, "link set net1 up type veth"), false);
  equal(allows(rule, "link set lo up"), false);
});

Deno.test("deny: some value matching is enough, unreadable values count as matching", () => {
  equal(denies("route * to=10.0.0.0/8", "route add 10.1.0.0/16 dev x"), true);
  equal(denies("route * to=10.0.0.0/8", "route add 11.0.0.0/16 dev x"), false);
  equal(denies("route * to=10.0.0.0/8", "route add 012.0.0.0/16 dev x"), true);
  equal(denies("route * table=253-255", "route add 10/8 dev x table main"), true);
  equal(denies("route * table=253-255", "route add 10/8 dev x table custom"), true);
  equal(denies("route * table=253-255", "route add 10/8 dev x"), false);
  equal(denies("route * table?=253-255", "route add 10/8 dev x"), true);
  equal(denies("link set dev=eth0", "link set if2 up"), true);
  equal(denies("link set dev=eth0", "link set net1 up"), false);
  equal(denies("link set name|alias", "link set net1 alias x"), true);
  equal(denies("link set name|alias", "link set net1 up"), false);
  equal(denies("* * dev=*", "route show"), false);
  equal(denies("* * dev=*", "route show dev x"), true);
});

Deno.test("policy documents are validated strictly", () => {
  deepEqual(parsePolicyDocument({ allow: ["* show"], limits: { maxCommands: 4 } }, "f"), {
    allow: ["* show"],
    limits: { maxCommands: 4 },
  });
  throws(() => parsePolicyDocument({ alow: [] }, "/x/policy.json"), /\/x\/policy.json: invalid policy/);
  throws(
    () => parsePolicyDocument({ limits: { maxCommands: 0 } }, "f"),
    /invalid policy: limits.maxCommands: /,
  );
  throws(
    () => parsePolicyDocument({ limits: { commandTimeoutMs: 1e9 } }, "f"),
    /invalid policy: limits.commandTimeoutMs: /,
  );
  throws(() => parsePolicyDocument({ allow: "route show" }, "f"), /invalid policy: allow: /);
  throws(() => parsePolicyDocument([], "f"), /invalid policy/);
});

Deno.test("gated global options: an allow rule grants -resolve only when it names it (any spelling)", () => {
  for (const spelling of ["-r", "-re", "-resolve", "--resolve", "--r"]) {
    equal(allows("* show|get", `${spelling} route`), false, spelling);
    equal(allows("* show|get -resolve", `${spelling} route`), true, spelling);
    equal(allows("* show|get --re", `${spelling} route`), true, spelling);
  }
  deepEqual(parseRule("route show -r", "x", "allow").globals, ["-resolve"]);
  equal(allows("* show|get", "-4 -j route"), true);
  equal(allows("* show|get -resolve", "route"), true);
  equal(allows("* show|get -json", "-r route"), false);
  equal(denies("* * -resolve", "-re link"), true);
  equal(denies("* * -resolve", "link"), false);
  equal(denies("route show", "-r route"), true);
  parseRule("* * -n", "x", "deny"); // denying an escape is pointless but harmless
});

Deno.test("route types: allow rules see the canonical type, numbers included", () => {
  const rule = "route add type?=unicast,blackhole";
  equal(allows(rule, "route add uni 10/8 dev x"), true);
  equal(allows(rule, "route add 10/8 dev x"), true);
  equal(allows(rule, "route add local 10/8 dev x"), false);
  equal(allows(rule, "route add +2 10/8 dev x"), false);
  equal(allows(rule, "route add to +0x2 10/8 dev x"), false);
  equal(denies("route * type=local", "route add +02 10/8 dev x"), true);
});
