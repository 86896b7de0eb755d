// Unit and seeded property tests of the declarative model: objects, effects, composition, drift, take-back, edits.
import * as fc from "fast-check";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import type { Entry, NetnsSnapshot } from "../netns/model.ts";
import {
  composeEffect,
  describeItem,
  diffObjects,
  effectBetween,
  effectDifferences,
  takeBackTarget,
  withValues,
} from "./effect.ts";
import { planEdit } from "./edit_plan.ts";
import { objectsOf } from "./objects.ts";

const LO: Entry = { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP"], mtu: 65536, txqlen: 1000 };

function eth(over: Record<string, unknown> = {}): Entry {
  return {
    ifindex: 2,
    ifname: "eth0",
    flags: ["BROADCAST", "MULTICAST", "UP"],
    mtu: 1500,
    txqlen: 1000,
    ...over,
  };
}

function route(dst: string, over: Record<string, unknown> = {}): Entry {
  return {
    type: "unicast",
    dst,
    dev: "eth0",
    table: "main",
    protocol: "boot",
    scope: "link",
    family: 4,
    ...over,
  };
}

function snapshot(over: Partial<NetnsSnapshot> = {}): NetnsSnapshot {
  return {
    netns: "/var/run/netns/t",
    links: [LO, eth()],
    addresses: [{ family: 4, ifindex: 2, dev: "eth0", local: "192.0.2.5", prefixlen: 24, scope: "global" }],
    routes: [
      route("192.0.2.0/24", { protocol: "kernel", prefsrc: "192.0.2.5" }),
      route("default", { gateway: "192.0.2.1", scope: "global" }),
    ],
    rules: [
      { family: 4, priority: 0, src: "all", table: "local" },
      { family: 4, priority: 32766, src: "all", table: "main" },
    ],
    neighbours: [],
    tentative: [],
    ...over,
  };
}

Deno.test("objectsOf: one object per link attribute, routes grouped by their kernel key", () => {
  const o = objectsOf(snapshot({
    routes: [
      route("10.99.0.0/24", { gateway: "192.0.2.1" }),
      route("10.99.0.0/24", { gateway: "192.0.2.2" }),
    ],
  }));
  assertEquals(o.get("link 2 mtu")?.value, 1500);
  assertEquals(o.get("link 2 ifname")?.value, "eth0");
  assertEquals((o.get("route v4 main 10.99.0.0/24")?.value as Entry[]).length, 2);
  assertEquals(o.get("rule v4 32766")?.kind, "rule");
  assertEquals(o.get("address v4 2 192.0.2.5/24")?.kind, "address");
});

Deno.test("effectBetween / effectDifferences / takeBackTarget: an MTU, an added route, a deleted default", () => {
  const base = snapshot();
  const after = snapshot({
    links: [LO, eth({ mtu: 1400 })],
    routes: [route("192.0.2.0/24", { protocol: "kernel", prefsrc: "192.0.2.5" }), route("192.0.3.0/24")],
  });
  const effect = effectBetween(base, after, ["link set dev eth0 mtu 1400"]);
  assertEquals(effect.map((i) => i.key), [
    "link 2 mtu",
    "route v4 main default",
    "route v4 main 192.0.3.0/24",
  ]);
  assertEquals(effect[0].base, 1500);
  assertEquals(effect[0].set, 1400);
  assertEquals(effect[1].set, []);
  assertEquals(describeItem(effect[0], objectsOf(after)), "link eth0 mtu: 1500 → 1400");
  assertEquals(effectDifferences(effect, after), []);

  // The default route comes back by hand: drift, named.
  const drifted = snapshot({ links: [LO, eth({ mtu: 1400 })] });
  const diffs = effectDifferences(effect, drifted);
  assertEquals(diffs.map((d) => d.key), ["route v4 main default", "route v4 main 192.0.3.0/24"]);
  assert(diffs[0].text.includes("back (chainsaw deleted it)"), diffs[0].text);
  assert(diffs[1].text.startsWith("route v4 main 192.0.3.0/24: gone"), diffs[1].text);

  // Taking the effect back gives the baseline: the default route with its gateway, MTU 1500.
  assertEquals(diffObjects(takeBackTarget(after, effect), base), []);
});

Deno.test("composeEffect keeps the first base and drops what was put back", () => {
  const a = snapshot();
  const b = snapshot({ links: [LO, eth({ mtu: 1400 })] });
  const c = snapshot({
    links: [LO, eth({ mtu: 1500 })],
    routes: [...snapshot().routes, route("192.0.3.0/24")],
  });
  const e = composeEffect(effectBetween(a, b, ["x"]), effectBetween(b, c, ["y"]));
  assertEquals(e.map((i) => [i.key, i.base, i.by]), [["route v4 main 192.0.3.0/24", [], ["y"]]]);
});

Deno.test("planEdit: changed since → left alone; same command → kept and skipped; the rest taken back", () => {
  const base = snapshot();
  const a = route("192.0.3.0/24");
  const b = route("198.51.100.0/24");
  const after = snapshot({ routes: [...base.routes, a, b] });
  const effect = composeEffect(
    effectBetween(base, snapshot({ routes: [...base.routes, a] }), ["route add 192.0.3.0/24 dev eth0"]),
    effectBetween(snapshot({ routes: [...base.routes, a] }), after, ["route add 198.51.100.0/24 dev eth0"]),
  );
  // Someone replaced A via another gateway since.
  const observed = snapshot({ routes: [...base.routes, route("192.0.3.0/24", { gateway: "192.0.2.9" }), b] });
  const plan = planEdit(effect, observed, [
    "route add 198.51.100.0/24 dev eth0",
    "route add 10.99.0.0/24 dev eth0",
  ]);
  assertEquals(plan.leftAlone.map((d) => d.key), ["route v4 main 192.0.3.0/24"]);
  assertEquals(plan.kept.map((i) => i.key), ["route v4 main 198.51.100.0/24"]);
  assertEquals(plan.takeBack, []);
  assertEquals([...plan.skip], ["route add 198.51.100.0/24 dev eth0"]);
  // Deleting the annotation: everything still holding goes back.
  const del = planEdit(effect, after, []);
  assertEquals(del.takeBack.map((i) => i.key), [
    "route v4 main 192.0.3.0/24",
    "route v4 main 198.51.100.0/24",
  ]);
  assertEquals(diffObjects(takeBackTarget(after, del.takeBack), base), []);
});

// ---- properties ----------------------------------------------------------------------------------------------

const V4_POOL = ["192.0.3.0/24", "198.51.100.0/24", "10.99.0.0/24", "default"];
const GATEWAYS = [undefined, "192.0.2.1", "192.0.2.9"];

const arbRoute = fc.record({
  dst: fc.constantFrom(...V4_POOL),
  gw: fc.constantFrom(...GATEWAYS),
  table: fc.constantFrom("main", "100"),
  metric: fc.constantFrom(undefined, 10),
}).map(({ dst, gw, table, metric }) =>
  route(dst, { table, ...(gw ? { gateway: gw, scope: "global" } : {}), ...(metric ? { metric } : {}) })
);

const arbSnapshot: fc.Arbitrary<NetnsSnapshot> = fc.record({
  mtu: fc.constantFrom(1280, 1400, 1500),
  up: fc.boolean(),
  txqlen: fc.constantFrom(500, 1000),
  extraLink: fc.boolean(),
  routes: fc.uniqueArray(arbRoute, { maxLength: 5, selector: (r) => JSON.stringify(r) }),
  addrs: fc.subarray(["192.0.2.5", "192.0.2.6", "192.0.2.7"]),
  rule: fc.constantFrom(undefined, "100", "200"),
  neigh: fc.constantFrom(undefined, "02:00:00:00:00:01", "02:00:00:00:00:02"),
}).map((g) => {
  const links: Entry[] = [
    LO,
    eth({ mtu: g.mtu, txqlen: g.txqlen, flags: g.up ? ["MULTICAST", "UP"] : ["MULTICAST"] }),
  ];
  if (g.extraLink) links.push({ ifindex: 3, ifname: "net1", flags: ["UP"], mtu: 1500 });
  return snapshot({
    links,
    addresses: g.addrs.map((local, i) => ({
      family: 4,
      ifindex: 2,
      dev: "eth0",
      local,
      prefixlen: 24,
      ...(i > 0 ? { secondary: true } : {}),
    })),
    routes: g.routes,
    rules: [
      { family: 4, priority: 0, src: "all", table: "local" },
      ...(g.rule ? [{ family: 4, priority: 100, src: "192.0.2.0", srclen: 24, table: g.rule }] : []),
      { family: 4, priority: 32766, src: "all", table: "main" },
    ],
    neighbours: g.neigh
      ? [{ family: 4, dst: "192.0.2.77", dev: "eth0", lladdr: g.neigh, state: ["PERMANENT"] }]
      : [],
  });
});

Deno.test("property: an effect holds where it was taken, and taking it back gives the baseline", () => {
  let changed = 0;
  // Every run also checks a fixed pair that differs, so "the generator reached a non-empty effect" holds by
  // construction.
  const fixed = [snapshot(), snapshot({ links: [LO, eth({ mtu: 1400 })] })] as const;
  assertProperty(
    fc.property(arbSnapshot, arbSnapshot, (b, a) => {
      for (const [base, after] of [[b, a], fixed]) {
        const effect = effectBetween(base, after, ["cmd"]);
        if (effect.length > 0) changed++;
        assertEquals(effectDifferences(effect, after), [], "the effect holds in the snapshot it came from");
        assertEquals(diffObjects(takeBackTarget(after, effect), base), [], "take back = baseline");
        assertEquals(
          diffObjects(
            withValues(base, effect.map((i) => ({ kind: i.kind, key: i.key, value: i.set }))),
            after,
          ),
          [],
          "baseline + effect = after",
        );
        assertEquals(effectBetween(after, after), []);
      }
    }),
    { numRuns: 400 },
  );
  assertReached(changed, 400, "a non-empty effect");
});

Deno.test("property: composing two runs' effects is the effect of both, and a deletion edit takes it all back", () => {
  assertProperty(
    fc.property(arbSnapshot, arbSnapshot, arbSnapshot, (a, b, c) => {
      const ab = effectBetween(a, b, ["x"]);
      const bc = effectBetween(b, c, ["y"]);
      const composed = composeEffect(ab, bc);
      const direct = effectBetween(a, c);
      const strip = (items: typeof composed) => items.map((i) => [i.key, i.base, i.set]);
      assertEquals(strip(composed).sort(), strip(direct).sort());
      const plan = planEdit(composed, c, []);
      assertEquals(plan.leftAlone, []);
      assertEquals(plan.kept, []);
      assertEquals(diffObjects(takeBackTarget(c, plan.takeBack), a), []);
    }),
    { numRuns: 300 },
  );
});

Deno.test("effectBetween: the kernel's local route of an IPv6 address leaving DAD is nobody's change", () => {
  const local = {
    type: "local",
    dst: "fe80::1",
    dev: "eth0",
    table: "local",
    protocol: "kernel",
    scope: "host",
    metric: 0,
    family: 6,
  };
  const before = snapshot({ tentative: ["fe80::1"] });
  const after = snapshot({ routes: [...snapshot().routes, local, route("192.0.3.0/24")] });
  assertEquals(effectBetween(before, after).map((i) => i.key), ["route v4 main 192.0.3.0/24"]);
});

Deno.test("shared objects are owned by entry: two attachments' rules of one priority, taken back in any order", () => {
  const rule = (oif: string) => ({ family: 4, priority: 100, src: "all", oif, table: "100" });
  const base = snapshot();
  const one = snapshot({ rules: [...base.rules, rule("net1")] });
  const both = snapshot({ rules: [...base.rules, rule("net1"), rule("net2")] });
  const net1 = effectBetween(base, one, ["rule add oif net1 lookup 100 priority 100"]);
  const net2 = effectBetween(one, both, ["rule add oif net2 lookup 100 priority 100"]);
  // The other attachment's rule of the same priority is not a drift, nor its absence.
  assertEquals(effectDifferences(net1, both), []);
  assertEquals(effectDifferences(net2, both), []);
  const noNet1 = snapshot({ rules: [...base.rules, rule("net2")] });
  assertEquals(effectDifferences(net2, noNet1), []);
  const d = effectDifferences(net1, noNet1);
  assertEquals(d.map((x) => x.key), ["rule v4 100"]);
  // Healing net1 puts its rule back next to net2's, never over it.
  const healed = withValues(noNet1, d.map((x) => ({ kind: x.kind, key: x.key, value: x.want })));
  assertEquals(effectDifferences([...net1, ...net2], healed), []);
  // Taking both back gives the baseline in either order; one of them leaves the other's rule.
  for (const [first, second] of [[net1, net2], [net2, net1]]) {
    const mid = takeBackTarget(both, first);
    assertEquals(effectDifferences(second, mid), []);
    assertEquals(diffObjects(takeBackTarget(mid, second), base), []);
  }
  // An edit of net1 that deletes net2's rule too owns that deletion, and its take-back puts it back.
  const edited = composeEffect(net1, effectBetween(both, one, ["rule del oif net2 priority 100"]));
  assertEquals(effectDifferences(edited, one), []);
  assertEquals(
    diffObjects(takeBackTarget(one, edited), snapshot({ rules: [...base.rules, rule("net2")] })),
    [],
  );
});

const arbForeign = fc.uniqueArray(
  fc.record({ dst: fc.constantFrom(...V4_POOL), table: fc.constantFrom("main", "100") }).map((
    { dst, table },
  ) => route(dst, { dev: "net9", table })),
  { maxLength: 4, selector: (r) => JSON.stringify(r) },
);

Deno.test("property: entries of others (another attachment, the chain) sharing keys never count for an effect", () => {
  let shared = 0;
  const fixed = [snapshot(), snapshot({ routes: [...snapshot().routes, route("192.0.3.0/24")] })] as const;
  const check = (b: NetnsSnapshot, a: NetnsSnapshot, extra: Entry[], pick: number) => {
    const effect = effectBetween(b, a, ["cmd"]);
    // Others' routes: those generated, and one on another device for every route object the effect has.
    const foreign = [...extra];
    for (const i of effect) {
      if (i.kind !== "route") continue;
      const e = [...(i.set as Entry[]), ...(i.base as Entry[])][0];
      const twin = { ...e, dev: "net9" };
      if (!foreign.some((f) => JSON.stringify(f) === JSON.stringify(twin))) foreign.push(twin);
      shared++;
    }
    const plus = (s: NetnsSnapshot) => ({ ...s, routes: [...s.routes, ...foreign] });
    // Others' routes appearing after the run: the effect holds, and taking it back leaves them.
    assertEquals(effectDifferences(effect, plus(a)), [], "others' entries are not a drift");
    assertEquals(
      diffObjects(takeBackTarget(plus(a), effect), plus(b)),
      [],
      "take back keeps others' entries",
    );
    // A route chainsaw added, removed by hand next to others' entries: the heal puts back that one only.
    const mine = a.routes.filter((r) => !b.routes.some((x) => JSON.stringify(x) === JSON.stringify(r)));
    if (mine.length === 0) return;
    const gone = mine[pick % mine.length];
    const drifted = plus({ ...a, routes: a.routes.filter((r) => r !== gone) });
    const diffs = effectDifferences(effect, drifted);
    assertEquals(diffs.length, 1);
    const healed = withValues(drifted, diffs.map((x) => ({ kind: x.kind, key: x.key, value: x.want })));
    assertEquals(diffObjects(healed, plus(a)), [], "the heal restores that route only");
  };
  assertProperty(
    fc.property(arbSnapshot, arbSnapshot, arbForeign, fc.nat(), (b, a, foreign, pick) => {
      check(b, a, foreign, pick);
      check(fixed[0], fixed[1], foreign, pick); // reached by construction: the effect owns a route
    }),
    { numRuns: 400 },
  );
  assertReached(shared, 400, "a foreign route sharing a key with the effect");
});

Deno.test("take-back and heal put a rule back in its place among the rules of its priority (tried in order)", () => {
  const rule = (table: string) => ({ family: 4, priority: 100, src: "all", table });
  const base = snapshot({ rules: [...snapshot().rules, rule("100"), rule("101")] });
  const after = snapshot({ rules: [...snapshot().rules, rule("101")] });
  const effect = effectBetween(base, after, ["rule del priority 100 table 100"]);
  // Another rule of the priority appears later (another attachment's): it stays, the deleted one goes first.
  const later = snapshot({ rules: [...snapshot().rules, rule("101"), rule("102")] });
  assertEquals(
    (objectsOf(takeBackTarget(later, effect)).get("rule v4 100")?.value as Entry[]).map((r) => r.table),
    ["100", "101", "102"],
  );
  assertEquals(diffObjects(takeBackTarget(after, effect), base), []);
  const added = effectBetween(after, base, ["rule add priority 100 table 100"]);
  const drifted = snapshot({ rules: [...snapshot().rules, rule("101"), rule("102")] });
  const d = effectDifferences(added, drifted);
  assertEquals(
    (d[0].want as Entry[]).map((r) => r.table),
    ["100", "101", "102"],
    "healed where chainsaw put it: first",
  );
});
