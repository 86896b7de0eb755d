// healEffect in a real netns: what chainsaw set and someone undid is set again; what else changed is left alone.
import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { Cleanup, createNetns, IP, type Netns, NSENTER, requireRoot } from "../../../tests/support/netns.ts";
import { effectBetween, effectDifferences } from "../../declarative/effect.ts";
import { restoreNetns, snapshotNetns } from "../../exec/netns_snapshot.ts";
import { healEffect } from "./heal.ts";

const BINS = { ipPath: IP, nsenterPath: NSENTER };
const DEPS = { snapshot: snapshotNetns, restore: restoreNetns };

async function ip(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  assertEquals(r.code, 0, `ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

Deno.test({
  name: "healEffect: a deleted route and an MTU set back are set again; other changes and IPv6 rules stay",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const ns = await createNetns("h2heal");
    cleanup.defer(() => ns.delete(), "netns");
    await ip(ns, "link", "add", "h2a", "type", "veth", "peer", "name", "h2b");
    await ip(ns, "link", "set", "h2a", "addrgenmode", "none");
    await ip(ns, "link", "set", "h2b", "addrgenmode", "none");
    await ip(ns, "link", "set", "h2b", "up");
    await ip(ns, "link", "set", "h2a", "up");
    await ip(ns, "addr", "add", "192.0.2.5/24", "dev", "h2a");
    await ip(ns, "-6", "rule", "add", "from", "2001:db8::/64", "table", "100", "priority", "100");
    const baseline = await snapshotNetns(ns.path, BINS);
    // What "chainsaw's list" did:
    await ip(ns, "route", "add", "198.51.100.0/24", "via", "192.0.2.1", "metric", "7");
    await ip(ns, "link", "set", "h2a", "mtu", "1400");
    const effect = effectBetween(baseline, await snapshotNetns(ns.path, BINS), ["chainsaw"]);
    assertEquals(effect.length, 2, JSON.stringify(effect.map((i) => i.key)));

    // Nothing drifted: nothing to do.
    assertEquals(await healEffect(ns.path, BINS, effect, DEPS), { ok: true, healed: [], failures: [] });

    // Someone undoes both, and adds a route of their own.
    await ip(ns, "route", "del", "198.51.100.0/24");
    await ip(ns, "link", "set", "h2a", "mtu", "1500");
    await ip(ns, "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
    const out = await healEffect(ns.path, BINS, effect, DEPS);
    assert(out.ok, out.failures.join("; "));
    assertEquals(out.healed.map((d) => d.key.replace(/^link \d+ /, "link N ")).sort(), [
      "link N mtu",
      "route v4 main 198.51.100.0/24 metric 7",
    ]);
    const after = await snapshotNetns(ns.path, BINS);
    assertEquals(effectDifferences(effect, after), [], "the effect holds again");
    const routes = await ip(ns, "route");
    assertStringIncludes(routes, "198.51.100.0/24 via 192.0.2.1 dev h2a metric 7");
    assertStringIncludes(routes, "203.0.113.0/24 via 192.0.2.1 dev h2a", "the hand-added route stays");
    assertStringIncludes(await ip(ns, "-6", "rule"), "from 2001:db8::/64 lookup 100", "IPv6 rules untouched");
  },
});

Deno.test({
  name: "healEffect: a netns that cannot be read is a failure, not a throw",
  ...requireRoot(),
  async fn() {
    const out = await healEffect("/var/run/netns/h2heal-none", BINS, [], DEPS);
    assertEquals([out.ok, out.healed.length], [false, 0]);
    assertStringIncludes(out.failures[0], "cannot snapshot /var/run/netns/h2heal-none");
  },
});
