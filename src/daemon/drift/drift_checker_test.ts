// The drift checker's decisions with fake edges: report once per set of differences, clear when it holds again
// or a re-apply replaced the effect, heal through the edge, skip raced observations; the schedule with a fake clock.
import { assertEquals } from "../../../tests/support/assert.ts";
import type { Entry, NetnsSnapshot } from "../../netns/model.ts";
import { effectBetween, type EffectDifference } from "../../declarative/effect.ts";
import type { SweepClock } from "../../async/periodic_sweep.ts";
import { type DriftAttachment, DriftChecker, type DriftCheckerDeps, driftKey } from "./drift_checker.ts";

const eth: Entry = { ifindex: 2, ifname: "eth0", flags: ["UP"], mtu: 1500 };
const route = (dst: string, over: Record<string, unknown> = {}): Entry => ({
  type: "unicast",
  dst,
  dev: "eth0",
  table: "main",
  scope: "link",
  family: 4,
  ...over,
});

function snap(routes: Entry[], mtu = 1500): NetnsSnapshot {
  return {
    netns: "/var/run/netns/t",
    links: [{ ...eth, mtu }],
    addresses: [],
    routes,
    rules: [],
    neighbours: [],
    tentative: [],
  };
}

const BASE = snap([route("192.0.2.0/24")]);
const SET = snap([route("192.0.2.0/24"), route("192.0.3.0/24")], 1400);

function attachment(over: Partial<DriftAttachment> = {}): DriftAttachment {
  return {
    containerId: "c1",
    ifname: "eth0",
    network: "n",
    netns: "/var/run/netns/t",
    namespace: "default",
    name: "p1",
    podUid: "u1",
    applied: "v1",
    mode: "declarative",
    drift: "report",
    effect: {
      items: effectBetween(BASE, SET, ["route add 192.0.3.0/24 dev eth0", "link set eth0 mtu 1400"]),
    },
    ...over,
  };
}

function world(a: DriftAttachment[]) {
  const events: string[] = [];
  let netns = SET;
  let busy = false;
  let healOk = true;
  const deps: DriftCheckerDeps = {
    attachments: () => a,
    observe: () => Promise.resolve(netns),
    busy: () => busy,
    heal: (_a, d) => {
      events.push(`heal ${d.map((x) => x.key).join(",")}`);
      if (healOk) netns = SET;
      return Promise.resolve(healOk);
    },
    onDrift: (_a, d: readonly EffectDifference[], action) =>
      events.push(`${action} ${d.map((x) => x.text).join(" | ")}`),
    onClear: (_a, why) => events.push(`clear ${why}`),
    log: () => {},
  };
  const checker = new DriftChecker(deps, { intervalMs: 60_000 });
  return {
    checker,
    events,
    set: (s: NetnsSnapshot) => netns = s,
    setBusy: (b: boolean) => busy = b,
    setHealOk: (ok: boolean) => healOk = ok,
  };
}

const KEY = driftKey({ containerId: "c1", ifname: "eth0" });

Deno.test("drift: report mode tells a drift once per set of differences, clears when it holds again", async () => {
  const w = world([attachment()]);
  assertEquals(await w.checker.check(KEY), "holds");
  w.set(snap([route("192.0.2.0/24")], 1400)); // someone deleted chainsaw's route
  assertEquals(await w.checker.check(KEY), "drifted");
  assertEquals(await w.checker.check(KEY), "drifted"); // the same difference: told once
  assertEquals(w.checker.drifted, 1);
  w.set(BASE); // and the MTU went back too: a new set, told again
  assertEquals(await w.checker.check(KEY), "drifted");
  w.set(SET);
  assertEquals(await w.checker.check(KEY), "holds");
  assertEquals(w.checker.drifted, 0);
  assertEquals(w.events, [
    "reported route v4 main 192.0.3.0/24: gone (chainsaw set: unicast 192.0.3.0/24 table main scope link dev eth0)",
    "reported link eth0 mtu: 1500, chainsaw set 1400 | route v4 main 192.0.3.0/24: gone (chainsaw set: unicast 192.0.3.0/24 table main scope link dev eth0)",
    "clear holds",
  ]);
});

Deno.test("drift: a re-apply (edit) clears a reported drift; a gone attachment clears too", async () => {
  const list = [attachment()];
  const w = world(list);
  w.set(BASE);
  await w.checker.check(KEY);
  w.checker.onReapplied("c1", "eth0");
  assertEquals(w.checker.drifted, 0);
  w.checker.onRemoved("c1", "eth0"); // nothing drifted: nothing to clear
  assertEquals(w.events.length, 2);
  await w.checker.check(KEY);
  list.length = 0;
  w.checker.onRemoved("c1", "eth0"); // the store's removal: cleared at once
  assertEquals(w.checker.drifted, 0);
  assertEquals(await w.checker.check(KEY), "unowned");
  assertEquals(w.events.slice(1).map((e) => e.split(" ")[0] + " " + e.split(" ")[1]), [
    "clear reapplied",
    "reported link",
    "clear gone",
  ]);
});

Deno.test("drift: heal mode applies the value again and tells it healed only when that run succeeded", async () => {
  const w = world([attachment({ drift: "heal" })]);
  w.set(snap([route("192.0.2.0/24")], 1400));
  assertEquals(await w.checker.check(KEY), "drifted");
  assertEquals(w.events, [
    "heal route v4 main 192.0.3.0/24",
    "healed route v4 main 192.0.3.0/24: gone (chainsaw set: unicast 192.0.3.0/24 table main scope link dev eth0)",
  ]);
  assertEquals(await w.checker.check(KEY), "holds");
  w.setHealOk(false);
  w.set(BASE);
  await w.checker.check(KEY);
  assertEquals(w.events.length, 3, "a failed heal is not told healed (its REAPPLY report says why)");
  assertEquals(w.checker.drifted, 0, "heal mode keeps no drifted state");
});

Deno.test("drift: off, imperative and effect-less attachments are not checked; a check racing a sync is dropped", async () => {
  for (
    const over of [
      { drift: "off" },
      { mode: "imperative" },
      { effect: { items: [] } },
      { effect: undefined },
      { netns: "/proc/4242/ns/net" },
    ]
  ) {
    const w = world([attachment(over)]);
    w.set(BASE);
    assertEquals(await w.checker.check(KEY), "unowned", JSON.stringify(over));
  }
  const list = [attachment()];
  const w = world(list);
  w.set(BASE);
  w.setBusy(true);
  assertEquals(await w.checker.check(KEY), "raced");
  w.setBusy(false);
  // The effect changes while the netns is read (a sync ran in between): the observation is thrown away.
  const racing = world(list);
  racing.set(BASE);
  const orig = list[0];
  const obs = racing.checker.check(KEY);
  list[0] = { ...orig, applied: "v2" };
  assertEquals(await obs, "raced");
  assertEquals(racing.events, []);
});

/** A clock whose time moves only when the test says so. */
class FakeClock implements SweepClock {
  t = 0;
  #timers: { at: number; resolve: () => void }[] = [];
  now = () => this.t;
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = { at: this.t + ms, resolve };
      this.#timers.push(timer);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await new Promise((r) => setTimeout(r, 0));
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.t = next.at;
      next.resolve();
      await new Promise((r) => setTimeout(r, 0));
    }
    this.t = end;
  }
}

Deno.test("drift: the schedule checks every checked attachment once per interval, skipping busy ones", async () => {
  const clock = new FakeClock();
  const list = [
    attachment({ containerId: "c1" }),
    attachment({ containerId: "c2", drift: "off" }),
    attachment({ containerId: "c3" }),
  ];
  const observed: [number, string][] = [];
  let busy = "c3";
  const checker = new DriftChecker({
    attachments: () => list,
    observe: (a) => {
      observed.push([clock.now(), a.containerId]);
      return Promise.resolve(SET);
    },
    busy: (a) => a.containerId === busy,
    heal: () => Promise.resolve(true),
    onDrift: () => {},
    onClear: () => {},
    log: () => {},
  }, { intervalMs: 60_000, clock });
  checker.start();
  await clock.advance(59_999);
  assertEquals(observed, [[0, "c1"]]);
  assertEquals(checker.skipped.busy, 1);
  busy = "";
  await clock.advance(60_000);
  assertEquals(observed.slice(1), [[60_000, "c1"], [90_000, "c3"]]);
  const stopped = checker.stop();
  await clock.advance(1);
  await stopped;
});

Deno.test("drift: a netns that cannot be observed is logged once per streak, not every round", async () => {
  const logs: string[] = [];
  let fail = true;
  const checker = new DriftChecker({
    attachments: () => [attachment()],
    observe: () => fail ? Promise.reject(new Error("cannot observe: gone")) : Promise.resolve(SET),
    busy: () => false,
    heal: () => Promise.resolve(false),
    onDrift: () => {},
    onClear: () => {},
    log: (level, msg) => logs.push(`${level}: ${msg}`),
  }, { intervalMs: 60_000 });
  assertEquals([await checker.check(KEY), await checker.check(KEY)], ["error", "error"]);
  assertEquals(logs.length, 1);
  assertEquals(logs[0].startsWith("warn: drift check of pod default/p1 eth0: cannot observe: gone"), true);
  fail = false;
  assertEquals(await checker.check(KEY), "holds");
  fail = true;
  await checker.check(KEY);
  assertEquals(logs.length, 2, "a new streak is said again");
});
