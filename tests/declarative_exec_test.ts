/**
 * Declarative mode in the one executor, in a real netns (issue 17 §1–3): the real runner, snapshot, restore and
 * one-process batch; the effect handed from run to run as the daemon's state file would. The real chains (libcni,
 * the daemon, the fake API server) are in tests/declarative_test.ts.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { monitorRoutes } from "./support/route_monitor.ts";
import { Cleanup, createNetns, IP, type Netns, NSENTER, requireRoot } from "./support/netns.ts";
import { sampleExecutorDeps, sampleTarget } from "./daemon_fixtures.ts";
import { type ExecOutcome, runOnAttachment } from "../src/exec/executor.ts";
import { runInNetns } from "../src/exec/runner.ts";
import { diffSnapshots, snapshotNetns } from "../src/exec/netns_snapshot.ts";
import type { EffectItem } from "../src/wire/effect.ts";
import type { BatchInput } from "../src/exec/_netns_batch.ts";
import { runBatch } from "../src/exec/_netns_batch.ts";

const BINS = { ipPath: IP, nsenterPath: NSENTER };

async function mustExec(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** A netns with a veth pair inside: `h1a` up with 192.0.2.5/24, a default route via 192.0.2.1. */
async function podNetns(cleanup: Cleanup): Promise<Netns> {
  const ns = await createNetns("h1x");
  cleanup.defer(() => ns.delete(), "netns");
  await mustExec(ns, "link", "add", "h1a", "type", "veth", "peer", "name", "h1b");
  // No IPv6 link-local addresses appearing later (DAD): the baseline is settled when the test takes it.
  await mustExec(ns, "link", "set", "h1a", "addrgenmode", "none");
  await mustExec(ns, "link", "set", "h1b", "addrgenmode", "none");
  await mustExec(ns, "link", "set", "h1b", "up");
  await mustExec(ns, "link", "set", "h1a", "up");
  await mustExec(ns, "addr", "add", "192.0.2.5/24", "dev", "h1a");
  await mustExec(ns, "route", "add", "default", "via", "192.0.2.1");
  return ns;
}

/** Runs `value` declaratively on the pod netns, counting processes the batch spawns. */
class Pod {
  effect: EffectItem[] = [];
  batches = 0;
  singles = 0;
  snapshots = 0;
  constructor(readonly ns: Netns, readonly onError: "rollback" | "fail" | "continue" = "rollback") {}
  async apply(
    value: string | undefined,
    mode: "declarative" | "imperative" = "declarative",
  ): Promise<ExecOutcome> {
    const target = sampleTarget({
      netns: this.ns.path,
      ifname: "h1a",
      podInterfaces: ["h1a"],
      onError: this.onError,
      mode,
    });
    const out = await runOnAttachment(
      target,
      value,
      sampleExecutorDeps((c, argv, opts) => {
        this.singles++;
        return runInNetns(c, argv, opts);
      }, {
        snapshot: (netns, bins) => {
          this.snapshots++;
          return snapshotNetns(netns, bins);
        },
        batch: (input: BatchInput) => {
          this.batches++;
          return runBatch(input);
        },
      }),
      this.effect,
    );
    if (out.effect) this.effect = out.effect;
    return out;
  }
}

const A = "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE";
const B = "ip route add 198.51.100.0/24 dev CURRENT_INTERFACE";
const C = "ip route add 10.99.0.0/24 dev CURRENT_INTERFACE";

Deno.test({
  name:
    "declarative exec: ADD's writers in one process, a read on its own; an edit takes back the dropped route, keeps the other without a blip",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const pod = new Pod(ns);
      const add = await pod.apply(JSON.stringify([A, B, "ip route"]));
      assertEquals(add.report.verdict, "applied", add.report.error?.msg);
      assertEquals(
        [pod.batches, pod.singles, pod.snapshots],
        [1, 1, 0],
        "one batch for the writers, the read alone",
      );
      assertEquals(pod.effect.map((i) => i.key), [
        "route v4 main 192.0.3.0/24",
        "route v4 main 198.51.100.0/24",
      ]);
      assertStringIncludes(
        add.report.commands[2].stdout,
        "198.51.100.0/24 dev h1a",
        "the read prints as ip does",
      );
      assertEquals(add.report.effect?.owned, 2);

      const mon = await monitorRoutes(ns, cleanup, {
        dev: "h1a",
        probe: "10.99.0.77",
        barrier: "10.99.0.78",
      });
      const edit = await pod.apply(JSON.stringify([B, C]));
      assertEquals(edit.report.verdict, "applied", edit.report.error?.msg);
      assertEquals(edit.report.commands.map((c) => [c.command, c.exitCode, c.kept ?? false]), [
        [B, 0, true],
        [C, 0, false],
      ]);
      const routes = await ns.routes();
      assert(!routes.includes("192.0.3.0/24"), routes);
      assertStringIncludes(routes, "198.51.100.0/24 dev h1a");
      assertStringIncludes(routes, "10.99.0.0/24 dev h1a");
      assertEquals(edit.report.effect?.takenBack.length, 1);
      assertStringIncludes(edit.report.effect!.takenBack[0], "192.0.3.0/24");
      // Once the monitor has shown every change the edit made: the take-back, and no blip of the kept route.
      await mon.caughtUp();
      assertStringIncludes(mon.text(), "Deleted 192.0.3.0/24");
      assert(!/Deleted 198\.51\.100\.0\/24/.test(mon.text()), `no blip of the kept route:\n${mon.text()}`);
      assertEquals(pod.effect.map((i) => i.key).sort(), [
        "route v4 main 10.99.0.0/24",
        "route v4 main 198.51.100.0/24",
      ]);
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name: "declarative exec: a deleted annotation restores the baseline MTU and the deleted default route",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const baseline = await snapshotNetns(ns.path, BINS);
      const pod = new Pod(ns);
      const add = await pod.apply(JSON.stringify([
        "ip link set dev CURRENT_INTERFACE mtu 1400",
        "ip route del default",
        A,
      ]));
      assertEquals(add.report.verdict, "applied", add.report.error?.msg);
      assertStringIncludes(await mustExec(ns, "link", "show", "h1a"), "mtu 1400");
      assert(!(await ns.routes()).includes("default"));
      const del = await pod.apply(undefined);
      assertEquals(del.report.verdict, "nothing", del.report.error?.msg);
      assertEquals(del.report.effect?.takenBack.length, 3);
      assertEquals(pod.effect, [], "chainsaw owns nothing any more");
      assertStringIncludes(await mustExec(ns, "link", "show", "h1a"), "mtu 1500");
      assertStringIncludes(await ns.routes(), "default via 192.0.2.1 dev h1a");
      assertEquals(diffSnapshots(baseline, await snapshotNetns(ns.path, BINS)), []);
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "declarative exec: a hand change is left alone and reported; a failing edit leaves the netns as it was",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const pod = new Pod(ns);
      assertEquals((await pod.apply(JSON.stringify([A, B]))).report.verdict, "applied");
      // By hand: A now goes via a gateway.
      await mustExec(ns, "route", "replace", "192.0.3.0/24", "via", "192.0.2.9");
      const edit = await pod.apply(JSON.stringify([C]));
      assertEquals(edit.report.verdict, "applied", edit.report.error?.msg);
      assertEquals(edit.report.effect?.leftAlone.length, 1);
      assertStringIncludes(edit.report.effect!.leftAlone[0], "192.0.3.0/24");
      const routes = await ns.routes();
      assertStringIncludes(routes, "192.0.3.0/24 via 192.0.2.9");
      assert(!routes.includes("198.51.100.0/24"), "B was taken back");
      assertEquals(pod.effect.map((i) => i.key), ["route v4 main 10.99.0.0/24"]);

      // A failing edit: byte for byte the same netns afterwards, the old effect kept.
      const before = await Promise.all([
        mustExec(ns, "-d", "link", "show"),
        mustExec(ns, "addr", "show"),
        mustExec(ns, "route", "show", "table", "all"),
        mustExec(ns, "-6", "route", "show", "table", "all"),
        mustExec(ns, "rule", "show"),
      ]);
      const old = pod.effect;
      const failing = await pod.apply(
        JSON.stringify([B, "ip link set dev CURRENT_INTERFACE mtu 1300", "ip route del 203.0.113.0/24"]),
      );
      assertEquals(failing.report.verdict, "failed");
      assertEquals(failing.report.rollback?.restored, true);
      assertEquals(pod.effect, old, "the old effect stays");
      const after = await Promise.all([
        mustExec(ns, "-d", "link", "show"),
        mustExec(ns, "addr", "show"),
        mustExec(ns, "route", "show", "table", "all"),
        mustExec(ns, "-6", "route", "show", "table", "all"),
        mustExec(ns, "rule", "show"),
      ]);
      assertEquals(after, before);
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "declarative exec: no snapshot for a read-only list; imperative mode is unchanged (the old route stays)",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const pod = new Pod(ns);
      const read = await pod.apply(JSON.stringify(["ip route", "ip link show dev CURRENT_INTERFACE"]));
      assertEquals(read.report.verdict, "applied");
      assertEquals([pod.batches, pod.singles, pod.snapshots], [0, 2, 0]);
      assertStringIncludes(read.report.commands[0].stdout, "default via 192.0.2.1", "plain text output");
      assertEquals(pod.effect, []);

      const imp = new Pod(ns, "rollback");
      assertEquals((await imp.apply(JSON.stringify([A]), "imperative")).report.verdict, "applied");
      assertEquals((await imp.apply(JSON.stringify([B]), "imperative")).report.verdict, "applied");
      assertEquals(imp.effect, []);
      const routes = await ns.routes();
      assertStringIncludes(routes, "192.0.3.0/24");
      assertStringIncludes(routes, "198.51.100.0/24");
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "declarative exec: a list the batch cannot carry (ip -6 …) runs command by command with the same effect",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      await mustExec(ns, "-6", "addr", "add", "2001:db8::5/64", "dev", "h1a", "nodad");
      const baseline = await snapshotNetns(ns.path, BINS);
      const pod = new Pod(ns);
      const add = await pod.apply(JSON.stringify([
        "ip -6 route add 2001:db8:1::/64 dev CURRENT_INTERFACE",
        "ip -6 rule add iif CURRENT_INTERFACE table 100",
        A,
      ]));
      assertEquals(add.report.verdict, "applied", add.report.error?.msg);
      assertEquals(
        [pod.batches, pod.singles, pod.snapshots],
        [0, 3, 4],
        "a snapshot before and after each writer",
      );
      assertEquals(pod.effect.map((i) => i.key).sort(), [
        "route v4 main 192.0.3.0/24",
        "route v6 main 2001:db8:1::/64 metric 1024",
        "rule v6 32765",
      ]);
      // Edit: the IPv4 route stays (same command, kept), the IPv6 ones go back.
      const edit = await pod.apply(JSON.stringify([A]));
      assertEquals(edit.report.verdict, "applied", edit.report.error?.msg);
      assertEquals(edit.report.commands[0].kept, true);
      assertEquals(edit.report.effect?.takenBack.length, 2);
      assertEquals(pod.effect.map((i) => i.key), ["route v4 main 192.0.3.0/24"]);
      assert(!(await mustExec(ns, "-6", "rule", "show")).includes("lookup 100"));
      // Deleted: the baseline, byte for byte in the snapshot's terms.
      assertEquals((await pod.apply(undefined)).report.verdict, "nothing");
      assertEquals(diffSnapshots(baseline, await snapshotNetns(ns.path, BINS)), []);
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "declarative exec: with onError fail or continue a failing list is not rolled back; chainsaw owns what it left",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const failing = JSON.stringify([A, "ip route del 203.0.113.0/24", B]);
      const fail = new Pod(ns, "fail");
      const f = await fail.apply(failing);
      assertEquals([f.report.verdict, f.report.rollback, f.report.commands.length], ["failed", undefined, 2]);
      assertEquals(
        fail.effect.map((i) => i.key),
        ["route v4 main 192.0.3.0/24"],
        "what the list left is owned",
      );
      assertEquals((await fail.apply(undefined)).report.effect?.takenBack.length, 1);
      assert(!(await ns.routes()).includes("192.0.3.0/24"));

      const cont = new Pod(ns, "continue");
      const c = await cont.apply(failing);
      assertEquals([c.report.verdict, c.report.commands.length], ["failed", 3]);
      assertEquals([cont.batches, cont.singles], [0, 3], "continue runs command by command");
      assertEquals(cont.effect.map((i) => i.key).sort(), [
        "route v4 main 192.0.3.0/24",
        "route v4 main 198.51.100.0/24",
      ]);
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name: "declarative exec: a failing ADD over two batches (routes, then a link) is rolled back whole",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await podNetns(cleanup);
      const baseline = await snapshotNetns(ns.path, BINS);
      const pod = new Pod(ns);
      const out = await pod.apply(JSON.stringify([
        A,
        "ip route",
        "ip link set dev CURRENT_INTERFACE mtu 1300",
        "ip route del 203.0.113.0/24",
      ]));
      assertEquals(
        [out.report.verdict, out.report.rollback?.restored],
        ["failed", true],
        out.report.error?.msg,
      );
      assertEquals([pod.batches, pod.singles], [2, 1], "a batch per run of writers, the read alone");
      assertEquals(pod.effect, []);
      assertEquals(diffSnapshots(baseline, await snapshotNetns(ns.path, BINS)), []);
    } finally {
      await cleanup.run();
    }
  },
});
