// observeNetns in a real netns: the one-process observation has every object a full snapshot has but IPv6 rules;
// an effect owning an IPv6 rule gets the full snapshot; a missing netns is a SnapshotError.
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { Cleanup, createNetns, IP, NSENTER, requireRoot } from "../../tests/support/netns.ts";
import { objectsOf } from "../declarative/objects.ts";
import { needsFullSnapshot, observeNetns } from "./netns_observe.ts";
import { SnapshotError, snapshotNetns } from "./netns_snapshot.ts";

const BINS = { ipPath: IP, nsenterPath: NSENTER };

Deno.test({
  name:
    "observeNetns: one process sees what a full snapshot sees but IPv6 rules; a v6 rule item gets them too",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const ns = await createNetns("h2obs");
    cleanup.defer(() => ns.delete(), "netns");
    for (
      const argv of [
        ["link", "add", "h2a", "type", "veth", "peer", "name", "h2b"],
        ["link", "set", "h2a", "addrgenmode", "none"],
        ["link", "set", "h2b", "addrgenmode", "none"],
        ["link", "set", "h2a", "up"],
        ["link", "set", "h2b", "up"],
        ["link", "set", "h2a", "mtu", "1400"],
        ["addr", "add", "192.0.2.5/24", "dev", "h2a"],
        ["-6", "addr", "add", "2001:db8::5/64", "dev", "h2a", "nodad"],
        ["route", "add", "198.51.100.0/24", "via", "192.0.2.1"],
        ["-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8::1"],
        ["rule", "add", "from", "192.0.2.0/24", "table", "100", "priority", "100"],
        ["-6", "rule", "add", "from", "2001:db8::/64", "table", "100", "priority", "100"],
        ["neigh", "add", "192.0.2.9", "lladdr", "02:00:00:00:00:09", "dev", "h2a", "nud", "permanent"],
      ]
    ) {
      const r = await ns.exec([IP, ...argv]);
      assertEquals(r.code, 0, `ip ${argv.join(" ")}: ${r.stderr}`);
    }
    const full = objectsOf(await snapshotNetns(ns.path, BINS));
    const seen = objectsOf(await observeNetns(ns.path, BINS, [{ key: "route v4 main 198.51.100.0/24" }]));
    const missing = [...full.keys()].filter((k) => !seen.has(k));
    assertEquals(
      missing,
      ["rule v6 0", "rule v6 100", "rule v6 32766"],
      "only the IPv6 rules are not observed",
    );
    for (const [k, o] of seen) assertEquals(o, full.get(k), k);
    const keys = [...seen.keys()];
    for (
      const k of ["route v6 main 2001:db8:1::/64 metric 1024", "neighbour v4 h2a 192.0.2.9", "rule v4 100"]
    ) {
      assert(seen.has(k), `${k} observed: ${keys.join(", ")}`);
    }
    assert(!needsFullSnapshot([{ key: "rule v4 100" }, { key: "link 2 mtu" }]));
    const withV6Rules = objectsOf(await observeNetns(ns.path, BINS, [{ key: "rule v6 100" }]));
    assertEquals([...withV6Rules.keys()].sort(), [...full.keys()].sort());
    await assertRejects(
      () => observeNetns("/var/run/netns/h2obs-no-such-netns", BINS, []),
      SnapshotError,
      "cannot observe /var/run/netns/h2obs-no-such-netns",
    );
  },
});
