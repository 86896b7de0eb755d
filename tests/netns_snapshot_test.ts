/**
 * Snapshot and restore in real network namespaces: a pod-like netns joined by a veth pair to a peer netns, with
 * addresses (a primary and a secondary), routes in two tables and both families, rules, permanent neighbours.
 * Each test changes something, checks the change is visible in {@linkcode diffSnapshots}, restores, and checks
 * that a fresh snapshot equals the first one again.
 */
import { diffSnapshots, restoreNetns, snapshotNetns } from "../src/exec/netns_snapshot.ts";
import type { NetnsSnapshot, SnapshotBinaries } from "../src/exec/netns_snapshot.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import {
  Cleanup,
  createNetns,
  IP,
  type Netns,
  NSENTER,
  randomHex,
  requireRoot,
  run,
  sleeperInNetns,
} from "./support/netns.ts";
import { must } from "./support/plugin.ts";

const BINS: SnapshotBinaries = { ipPath: IP, nsenterPath: NSENTER };

interface Pod {
  ns: Netns;
  peer: Netns;
  /** The pod's end of the veth pair. */
  dev: string;
  /** A second link in the pod netns (a veth whose peer is in the peer netns). */
  dummy: string;
  /** Runs `ip ARGS` in the pod netns; throws when it fails. */
  ip(...argv: string[]): Promise<string>;
  /** Writes a net sysctl inside the pod netns: its path under /proc/sys/net, e.g. `ipv4/conf/eth0/forwarding`. */
  sysctl(path: string, value: string): Promise<void>;
}

/** Builds the pod netns; every resource is registered with `cleanup`. */
async function makePod(cleanup: Cleanup): Promise<Pod> {
  const ns = await createNetns("snap");
  cleanup.defer(() => ns.delete(), `delete ${ns.name}`);
  const peer = await createNetns("snapp");
  cleanup.defer(() => peer.delete(), `delete ${peer.name}`);
  const tag = randomHex(6);
  const dev = `snp${tag}`;
  const peerDev = `snq${tag}`;
  const dummy = `snd${tag}`;
  // Created directly inside the namespaces: nothing is left on the host if a step fails.
  await must([
    IP,
    "-n",
    ns.name,
    "link",
    "add",
    dev,
    "type",
    "veth",
    "peer",
    "name",
    peerDev,
    "netns",
    peer.name,
  ]);
  const ip = (...argv: string[]) => must([IP, "-n", ns.name, ...argv]);
  const pip = (...argv: string[]) => must([IP, "-n", peer.name, ...argv]);
  await pip("link", "set", peerDev, "up");
  await pip("addr", "add", "192.0.2.254/24", "dev", peerDev);
  await pip("addr", "add", "2001:db8:5::fe/64", "dev", peerDev, "nodad");
  await ip("link", "add", dummy, "type", "veth", "peer", "name", `sne${tag}`, "netns", peer.name);
  await ip("link", "set", dummy, "up");
  await ip("link", "set", dev, "up");
  await ip("link", "set", dev, "alias", "pod side");
  await ip("addr", "add", "192.0.2.1/24", "dev", dev);
  await ip("addr", "add", "192.0.2.2/24", "dev", dev);
  await ip("addr", "add", "10.99.0.1/24", "dev", dummy);
  await ip("-6", "addr", "add", "2001:db8:5::1/64", "dev", dev, "nodad");
  await ip("route", "add", "default", "via", "192.0.2.254");
  await ip("route", "add", "198.51.100.0/24", "via", "192.0.2.254", "table", "100");
  await ip("route", "add", "unreachable", "198.51.100.128/25", "table", "100");
  await ip("-6", "route", "add", "2001:db8:6::/64", "via", "2001:db8:5::fe", "metric", "10");
  await ip("rule", "add", "from", "192.0.2.0/24", "table", "100", "priority", "100");
  await ip("-6", "rule", "add", "from", "2001:db8:5::/64", "table", "100", "priority", "200");
  await ip("neigh", "add", "192.0.2.77", "lladdr", "02:00:00:00:00:77", "dev", dev, "nud", "permanent");
  await ip(
    "-6",
    "neigh",
    "add",
    "2001:db8:5::77",
    "lladdr",
    "02:00:00:00:00:78",
    "dev",
    dev,
    "nud",
    "permanent",
  );
  // /proc/sys/net is the opening process's netns: a coreutils `tee` run inside writes the pod's (procps' sysctl
  // is not on a minimal Debian).
  const sysctl = async (path: string, value: string) => {
    const file = `/proc/sys/net/${path}`;
    const r = await run([NSENTER, `--net=${ns.path}`, "--", "/usr/bin/tee", file], { stdin: value });
    if (r.code !== 0) throw new Error(`writing ${value} to ${file} in ${ns.name} failed: ${r.stderr.trim()}`);
  };
  return { ns, peer, dev, dummy, ip, sysctl };
}

/** Snapshot → `change` → restore; asserts the change showed and the restore made the netns equal again. */
async function roundTrip(
  pod: Pod,
  change: (pod: Pod) => Promise<unknown>,
  expect?: RegExp,
): Promise<{ before: NetnsSnapshot; changed: string[] }> {
  const before = await snapshotNetns(pod.ns.path, BINS);
  assertEquals(
    diffSnapshots(before, await snapshotNetns(pod.ns.path, BINS)),
    [],
    "two snapshots in a row differ",
  );
  await change(pod);
  const changed = diffSnapshots(before, await snapshotNetns(pod.ns.path, BINS));
  assert(changed.length > 0, "the change is not visible in the snapshot");
  if (expect) assertMatch(changed.join("\n"), expect);
  const outcome = await restoreNetns(before, BINS);
  const after = await snapshotNetns(pod.ns.path, BINS);
  assertEquals(
    { ok: outcome.ok, diff: diffSnapshots(before, after) },
    { ok: true, diff: [] },
    `restore failed: ${JSON.stringify(outcome, null, 1)}`,
  );
  return { before, changed };
}

function podTest(name: string, fn: (pod: Pod) => Promise<void>): void {
  Deno.test({
    name: `netns snapshot: ${name}`,
    ...requireRoot(),
    sanitizeResources: false,
    fn: async () => {
      await using cleanup = new Cleanup();
      await fn(await makePod(cleanup));
    },
  });
}

podTest("route added in the main table", async (pod) => {
  await roundTrip(
    pod,
    (p) => p.ip("route", "add", "10.99.0.128/25", "via", "192.0.2.254"),
    /^\+ route \(v4\)/m,
  );
});

podTest("route added in another table", async (pod) => {
  await roundTrip(
    pod,
    (p) => p.ip("route", "add", "10.99.0.128/25", "dev", p.dev, "table", "200"),
    /table 200/,
  );
});

podTest("IPv6 route added", async (pod) => {
  await roundTrip(
    pod,
    (p) => p.ip("-6", "route", "add", "2001:db8:7::/64", "via", "2001:db8:5::fe"),
    /\(v6\)/,
  );
});

podTest("existing default route replaced", async (pod) => {
  await roundTrip(
    pod,
    (p) => p.ip("route", "replace", "default", "via", "192.0.2.253", "dev", p.dev),
    /192\.0\.2\.253/,
  );
});

podTest("default route deleted", async (pod) => {
  await roundTrip(pod, (p) => p.ip("route", "del", "default"), /^- route \(v4\): unicast default/m);
});

podTest("route deleted in another table, IPv6 route deleted", async (pod) => {
  await roundTrip(pod, async (p) => {
    await p.ip("route", "del", "198.51.100.0/24", "table", "100");
    await p.ip("-6", "route", "del", "2001:db8:6::/64");
  });
});

podTest("kernel subnet route deleted", async (pod) => {
  await roundTrip(pod, (p) => p.ip("route", "del", "192.0.2.0/24", "dev", p.dev), /proto kernel/);
});

podTest("rule added, rules deleted (both families)", async (pod) => {
  await roundTrip(pod, (p) => p.ip("rule", "add", "from", "10.99.0.0/24", "table", "100", "priority", "50"));
  await roundTrip(pod, async (p) => {
    await p.ip("rule", "del", "priority", "100");
    await p.ip("-6", "rule", "del", "priority", "200");
  });
});

podTest("default rule for the main table deleted", async (pod) => {
  await roundTrip(pod, (p) => p.ip("rule", "del", "priority", "32766"), /table main/);
});

podTest("address added, secondary address deleted", async (pod) => {
  await roundTrip(pod, (p) => p.ip("addr", "add", "198.51.100.1/24", "dev", p.dev));
  await roundTrip(pod, (p) => p.ip("addr", "add", "192.0.2.3/24", "dev", p.dev));
  await roundTrip(pod, (p) => p.ip("addr", "del", "192.0.2.2/24", "dev", p.dev));
});

podTest("primary address deleted (its secondary goes too)", async (pod) => {
  const { changed } = await roundTrip(pod, (p) => p.ip("addr", "del", "192.0.2.1/24", "dev", p.dev));
  assertMatch(changed.join("\n"), /192\.0\.2\.2\/24/, "the secondary should have gone with the primary");
});

podTest("primary address deleted with promote_secondaries (the secondary is promoted)", async (pod) => {
  await pod.sysctl(`ipv4/conf/${pod.dev}/promote_secondaries`, "1");
  const { changed } = await roundTrip(pod, (p) => p.ip("addr", "del", "192.0.2.1/24", "dev", p.dev));
  // 192.0.2.2 is still there, now the primary (no `secondary` flag), and the subnet's routes use it as source.
  assertMatch(changed.join("\n"), /^\+ address of \S+ \(v4\): 192\.0\.2\.2\/24 .*"scope":"global"\}$/m);
  assertMatch(changed.join("\n"), /^\+ route \(v4\): unicast 192\.0\.2\.0\/24 .* src 192\.0\.2\.2$/m);
});

podTest("IPv6 address deleted and added", async (pod) => {
  await roundTrip(pod, (p) => p.ip("-6", "addr", "del", "2001:db8:5::1/64", "dev", p.dev));
  // Without nodad: the new address is tentative for a while; its local route is the kernel's business.
  await roundTrip(pod, (p) => p.ip("-6", "addr", "add", "2001:db8:5::2/64", "dev", p.dev));
});

podTest("IPv6 address still in DAD when the snapshot is taken, then deleted", async (pod) => {
  await pod.ip("-6", "addr", "add", "2001:db8:5::3/64", "dev", pod.dev);
  const { before } = await roundTrip(pod, (p) => p.ip("-6", "addr", "del", "2001:db8:5::3/64", "dev", p.dev));
  assert(
    before.tentative.includes("2001:db8:5::3"),
    "the address should have been tentative in the snapshot",
  );
});

podTest("link mtu changed", async (pod) => {
  await roundTrip(pod, (p) => p.ip("link", "set", "dev", p.dev, "mtu", "1400"), /mtu 1500 → 1400/);
});

podTest("link set down (its routes, IPv6 addresses and neighbours vanish)", async (pod) => {
  const { changed } = await roundTrip(pod, (p) => p.ip("link", "set", "dev", p.dev, "down"));
  const text = changed.join("\n");
  assertStringIncludes(text, "- route (v4): unicast default");
  assertStringIncludes(text, "- neighbour (v6)");
});

podTest("link hardware address changed", async (pod) => {
  await roundTrip(pod, (p) => p.ip("link", "set", "dev", p.dev, "address", "02:00:00:00:12:34"), /address/);
});

podTest("link txqueuelen, alias, arp, multicast, allmulticast, promisc, group changed", async (pod) => {
  await roundTrip(pod, async (p) => {
    await p.ip("link", "set", "dev", p.dev, "txqueuelen", "50", "alias", "changed", "arp", "off");
    await p.ip(
      "link",
      "set",
      "dev",
      p.dev,
      "multicast",
      "off",
      "allmulticast",
      "on",
      "promisc",
      "on",
      "group",
      "7",
    );
  });
  await roundTrip(pod, (p) => p.ip("link", "set", "dev", p.dev, "alias", ""), /ifalias/);
});

podTest("link renamed, link added", async (pod) => {
  await roundTrip(pod, (p) => p.ip("link", "set", "dev", p.dummy, "down", "name", `${p.dummy}x`));
  await roundTrip(
    pod,
    (p) => p.ip("link", "add", `${p.dummy}y`, "type", "veth", "peer", "name", `${p.dummy}z`),
    /^\+ link/m,
  );
});

podTest("permanent neighbours added and deleted (both families)", async (pod) => {
  await roundTrip(pod, async (p) => {
    await p.ip("neigh", "add", "192.0.2.78", "lladdr", "02:00:00:00:00:79", "dev", p.dev, "nud", "permanent");
    await p.ip(
      "-6",
      "neigh",
      "add",
      "2001:db8:5::78",
      "lladdr",
      "02:00:00:00:00:7a",
      "dev",
      p.dev,
      "nud",
      "permanent",
    );
  });
  await roundTrip(pod, async (p) => {
    await p.ip("neigh", "del", "192.0.2.77", "dev", p.dev);
    await p.ip("-6", "neigh", "del", "2001:db8:5::77", "dev", p.dev);
  });
  await roundTrip(
    pod,
    (p) => p.ip("neigh", "replace", "192.0.2.77", "lladdr", "02:00:00:00:00:01", "dev", p.dev),
  );
});

podTest(
  "complex routes and rules (multipath, metrics, types, from, not, uidrange, ports, fwmark) deleted",
  async (pod) => {
    const d = pod.dev;
    const nh = [
      "nexthop",
      "via",
      "192.0.2.254",
      "weight",
      "2",
      "nexthop",
      "via",
      "192.0.2.253",
      "weight",
      "1",
    ];
    await pod.ip("route", "add", "10.99.0.0/25", "table", "100", ...nh);
    await pod.ip(
      "route",
      "add",
      "10.99.0.128/25",
      "via",
      "192.0.2.254",
      "table",
      "100",
      "mtu",
      "lock",
      "1300",
    );
    await pod.ip(
      "route",
      "add",
      "198.51.100.0/26",
      "via",
      "192.0.2.254",
      "advmss",
      "1200",
      "proto",
      "static",
      "metric",
      "7",
    );
    await pod.ip("route", "add", "blackhole", "198.51.100.64/26");
    await pod.ip("route", "add", "prohibit", "198.51.100.192/26", "table", "100");
    await pod.ip(
      "route",
      "add",
      "198.51.100.128/26",
      "dev",
      d,
      "scope",
      "link",
      "src",
      "192.0.2.2",
      "tos",
      "0x10",
    );
    await pod.ip("-6", "route", "add", "2001:db8:a::/64", "from", "2001:db8:5::/64", "dev", d);
    await pod.ip(
      "-6",
      "route",
      "add",
      "2001:db8:b::/64",
      "via",
      "2001:db8:5::fe",
      "pref",
      "high",
      "metric",
      "20",
      "mtu",
      "1280",
    );
    await pod.ip("rule", "add", "not", "from", "198.51.100.0/24", "goto", "32766", "priority", "50");
    await pod.ip(
      "rule",
      "add",
      "uidrange",
      "100-200",
      "ipproto",
      "tcp",
      "dport",
      "80",
      "sport",
      "1000-2000",
      "table",
      "100",
      "priority",
      "60",
      "suppress_prefixlength",
      "0",
    );
    await pod.ip(
      "rule",
      "add",
      "from",
      "192.0.2.0/24",
      "to",
      "10.99.0.0/24",
      "tos",
      "0x10",
      "fwmark",
      "0x10/0xff",
      "iif",
      d,
      "table",
      "100",
      "priority",
      "70",
    );
    await pod.ip("rule", "add", "priority", "80", "oif", d, "blackhole");
    await pod.ip(
      "-6",
      "rule",
      "add",
      "from",
      "2001:db8:5::/64",
      "to",
      "2001:db8:a::/64",
      "table",
      "100",
      "priority",
      "210",
      "oif",
      d,
    );
    await roundTrip(pod, async (p) => {
      await p.ip("route", "flush", "table", "100");
      await p.ip("route", "del", "198.51.100.0/26");
      await p.ip("route", "del", "blackhole", "198.51.100.64/26");
      await p.ip("route", "del", "198.51.100.128/26", "tos", "0x10");
      await p.ip("-6", "route", "del", "2001:db8:a::/64", "from", "2001:db8:5::/64");
      await p.ip("-6", "route", "del", "2001:db8:b::/64");
      for (const prio of ["50", "60", "70", "80"]) await p.ip("rule", "del", "priority", prio);
      await p.ip("-6", "rule", "del", "priority", "210");
    });
    // The other way round: the same entries added by the commands are removed again.
    await roundTrip(pod, async (p) => {
      await p.ip("route", "add", "10.99.0.0/25", "table", "200", ...nh);
      await p.ip(
        "rule",
        "add",
        "not",
        "to",
        "10.99.0.0/24",
        "fwmark",
        "0x20",
        "table",
        "200",
        "priority",
        "90",
      );
      await p.ip("rule", "add", "from", "192.0.2.0/24", "table", "200", "priority", "70"); // same priority as another
    });
  },
);

podTest("a combined list of many changes", async (pod) => {
  await roundTrip(pod, async (p) => {
    const d = p.dev;
    await p.ip("route", "add", "10.99.0.128/25", "via", "192.0.2.254");
    await p.ip("route", "add", "10.99.0.0/28", "dev", d, "table", "300", "mtu", "1300");
    await p.ip("route", "replace", "default", "via", "192.0.2.253", "dev", d);
    await p.ip("route", "del", "198.51.100.0/24", "table", "100");
    await p.ip(
      "-6",
      "route",
      "add",
      "2001:db8:8::/64",
      "via",
      "2001:db8:5::fe",
      "metric",
      "5",
      "pref",
      "high",
    );
    await p.ip("-6", "route", "del", "2001:db8:6::/64");
    await p.ip("rule", "add", "to", "198.51.100.0/24", "table", "300", "priority", "150");
    await p.ip("rule", "del", "priority", "100");
    await p.ip("-6", "rule", "add", "to", "2001:db8:8::/64", "table", "300", "priority", "250");
    await p.ip("addr", "add", "198.51.100.1/24", "dev", d);
    await p.ip("addr", "del", "192.0.2.1/24", "dev", d);
    await p.ip("-6", "addr", "add", "2001:db8:9::1/64", "dev", d, "nodad");
    await p.ip("neigh", "add", "192.0.2.78", "lladdr", "02:00:00:00:00:79", "dev", d, "nud", "permanent");
    await p.ip("-6", "neigh", "del", "2001:db8:5::77", "dev", d);
    await p.ip("link", "set", "dev", d, "mtu", "1400", "address", "02:00:00:00:12:34");
    await p.ip("link", "set", "dev", p.dummy, "down");
  });
});

podTest("a /proc/PID/ns/net path works like a named netns", async (pod) => {
  const sleeper = await sleeperInNetns(pod.ns);
  try {
    const before = await snapshotNetns(sleeper.procPath, BINS);
    assertEquals(diffSnapshots(before, await snapshotNetns(pod.ns.path, BINS)), []);
    await pod.ip("route", "add", "10.99.0.128/25", "via", "192.0.2.254");
    const outcome = await restoreNetns(before, BINS);
    assert(outcome.ok, JSON.stringify(outcome));
    assertEquals(diffSnapshots(before, await snapshotNetns(pod.ns.path, BINS)), []);
  } finally {
    await sleeper.kill();
  }
});

podTest("restore failure: a deleted link cannot be recreated, and is reported", async (pod) => {
  const before = await snapshotNetns(pod.ns.path, BINS);
  await pod.ip("link", "del", "dev", pod.dummy);
  await pod.ip("route", "add", "10.99.0.128/25", "via", "192.0.2.254");
  const outcome = await restoreNetns(before, BINS);
  assert(!outcome.ok, "restore should fail");
  const text = outcome.failures.join("\n");
  assertStringIncludes(text, `link ${pod.dummy} (ifindex`);
  assertStringIncludes(text, "cannot be recreated");
  assertStringIncludes(text, "still differs: - link");
  // What could be restored was: the extra route is gone.
  const after = await snapshotNetns(pod.ns.path, BINS);
  assert(!after.routes.some((r) => r.dst === "10.99.0.128/25"), "the added route should have been removed");
});

podTest("restore failure: the total time bound", async (pod) => {
  const before = await snapshotNetns(pod.ns.path, BINS);
  await pod.ip("route", "add", "10.99.0.128/25", "via", "192.0.2.254");
  const outcome = await restoreNetns(before, BINS, { timeoutMs: 0 });
  assert(!outcome.ok, "restore should fail");
  assertEquals(outcome.failures, ["restore ran out of its 0 ms bound"]);
});

Deno.test({
  name: "netns snapshot: a netns that does not exist is a SnapshotError",
  ...requireRoot(),
  fn: async () => {
    const path = `/var/run/netns/cs-snap-missing-${randomHex(6)}`;
    try {
      await snapshotNetns(path, BINS);
    } catch (e) {
      assertEquals((e as Error).name, "SnapshotError");
      assertStringIncludes((e as Error).message, path);
      assert((e as Error).cause !== undefined, "keeps its cause");
      return;
    }
    throw new Error("expected a SnapshotError");
  },
});
