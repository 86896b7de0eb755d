/**
 * Declarative mode end to end (issue 17 §1–3): real chains (bridge + host-local, chainsaw; libcni), the real
 * daemon (the bundle under its shipped permission flags) and the fake API server with watch streams. The
 * annotation's value is the pod's network state: an edit takes back what the old value did, a deleted annotation
 * restores what the chain set up, a hand change is left alone and reported, a failing edit changes nothing, and
 * all of it survives `kill -9` of the daemon. `"mode": "imperative"` keeps the old behaviour.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { type Fixture, fixture } from "./support/chain_fixture.ts";
import {
  type FakeApiServer,
  type KubeEvent,
  type Pod,
  startFakeApiServer,
} from "./support/fake_apiserver.ts";
import { monitorRoutes } from "./support/route_monitor.ts";
import { Cleanup, IP, type Netns, requireRoot } from "./support/netns.ts";
import { podWatchBarrier } from "./support/watch_barrier.ts";
import { apiDaemonArgs, apiScratch, type Daemon, startDaemon, waitFor, waitReady } from "./daemon_harness.ts";
import { annotatedPod } from "./support/annotated_pod.ts";

const NODE = "node-decl";
const R1 = "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE";
const R2 = "ip route add 198.51.100.0/24 dev CURRENT_INTERFACE";
const R3 = "ip route add 198.51.100.128/25 dev CURRENT_INTERFACE";

const pod = (annotation: string | undefined): Pod => annotatedPod(NODE, annotation);

/** The fake API server, the daemon (restartable, also by SIGKILL) and a chain asking it. */
interface World extends AsyncDisposable {
  api: FakeApiServer;
  cleanup: Cleanup;
  stateFile: string;
  daemon(): Daemon;
  start(): Promise<Daemon>;
  /** SIGKILL, no shutdown of any kind. */
  kill9(): Promise<void>;
  chain(tag: string, keys?: Record<string, unknown>): Promise<Fixture>;
  /** Sets the annotation and waits for the daemon's `n`-th REAPPLY report. */
  edit(value: string | undefined, n: number): Promise<void>;
}

async function world(value: string): Promise<World> {
  const cleanup = new Cleanup();
  const api = await startFakeApiServer({ pods: [pod(value)], bookmarkIntervalMs: 200 });
  cleanup.defer(() => api.close(), "fake apiserver");
  const tmp = await apiScratch(cleanup, api);
  let current: Daemon | undefined;
  /** REAPPLY reports of daemons already stopped. */
  let earlier = 0;
  const reapplies = () =>
    earlier + (current?.stdout().split("\n").filter((l) => / REAPPLY default\/p1 /.test(l)).length ?? 0);
  cleanup.defer(() => current?.stop(), "daemon");
  const w: World = {
    [Symbol.asyncDispose]: async () => void await cleanup.run(),
    api,
    cleanup,
    stateFile: `${tmp.path}/state/attachments.json`,
    daemon: () => current!,
    async start() {
      current = await startDaemon(tmp.path, apiDaemonArgs(tmp.kubeconfig, NODE));
      await waitReady(current);
      return current;
    },
    async kill9() {
      const d = current!;
      earlier = reapplies();
      current = undefined;
      d.kill("SIGKILL");
      await d.status;
    },
    async chain(tag, keys = {}) {
      const f = await fixture(tag, {
        kubeconfig: tmp.kubeconfig,
        daemonSocket: `${tmp.path}/sock/chainsaw.sock`,
        ...keys,
      });
      cleanup.defer(() => f.cleanup.run(), "chain");
      return f;
    },
    async edit(v, n) {
      api.setPod(pod(v));
      await waitFor(`REAPPLY report ${n}`, () => reapplies() >= n, 15_000);
    },
  };
  return w;
}

async function ip(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Everything a snapshot covers, as `ip` prints it (for byte-for-byte comparisons). */
async function netnsText(ns: Netns): Promise<string> {
  const parts = await Promise.all([
    ip(ns, "-d", "link", "show"),
    ip(ns, "addr", "show"),
    ip(ns, "route", "show", "table", "all"),
    ip(ns, "-6", "route", "show", "table", "all"),
    ip(ns, "rule", "show"),
    ip(ns, "-6", "rule", "show"),
    ip(ns, "neigh", "show", "nud", "permanent"),
  ]);
  return parts.join("\n---\n");
}

function podEvents(api: FakeApiServer): KubeEvent[] {
  return api.events().filter((e) => (e.involvedObject as { name?: string })?.name === "p1");
}

async function savedEffect(w: World): Promise<string[]> {
  const [a] = JSON.parse(await Deno.readTextFile(w.stateFile)).attachments;
  return ((a?.effect?.items ?? []) as { key: string }[]).map((i) => i.key);
}

Deno.test({
  name: "declarative: an edit takes back the dropped route, keeps the other without a blip, adds the new one",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1, R2]));
    await w.start();
    const f = await w.chain("dcl1");
    const add = await f.chain("add");
    assertEquals(add.code, 0, add.stdout + add.stderr);
    await waitFor(
      "the ADD's effect in the state file",
      async () => (await savedEffect(w).catch(() => [])).length === 2,
    );
    const mon = await monitorRoutes(f.ns, w.cleanup, {
      dev: "eth0",
      probe: "203.0.113.77",
      barrier: "203.0.113.78",
    });
    const monitor = mon.text;

    await w.edit(JSON.stringify([R2, R3]), 1);
    await waitFor(
      "the edit's effect in the state file",
      async () => (await savedEffect(w)).length === 2 && (await savedEffect(w))[1].endsWith("/25"),
    );
    const routes = await f.ns.routes();
    assert(!routes.includes("192.0.3.0/24"), `the dropped route is gone:\n${routes}`);
    assertStringIncludes(routes, "198.51.100.0/24 dev eth0");
    assertStringIncludes(routes, "198.51.100.128/25 dev eth0");
    await mon.caughtUp();
    assertStringIncludes(monitor(), "Deleted 192.0.3.0/24");
    assert(!/Deleted 198\.51\.100\.0\/24/.test(monitor()), `the kept route never went away:\n${monitor()}`);
    const log = w.daemon().stdout();
    assertStringIncludes(log, "Taken back: route v4 main 192.0.3.0/24: removed (chainsaw added it)");
    assertStringIncludes(log, "(kept: the previous value set this and it is still in place; not run again)");
    const reapply = podEvents(w.api).find((e) => e.action === "REAPPLY")!;
    assertStringIncludes(String(reapply.message), "taken back: route v4 main 192.0.3.0/24");
    assertStringIncludes(String(reapply.message), `[kept] ${R2}`);
    assertEquals(await savedEffect(w), ["route v4 main 198.51.100.0/24", "route v4 main 198.51.100.128/25"]);
  },
});

Deno.test({
  name:
    "declarative: a deleted annotation restores the baseline MTU and the chain's default route with its gateway",
  ...requireRoot(),
  async fn() {
    await using w = await world(
      JSON.stringify(["ip link set dev CURRENT_INTERFACE mtu 1400", "ip route del default"]),
    );
    await w.start();
    const f = await w.chain("dcl2");
    const add = await f.chain("add");
    assertEquals(add.code, 0, add.stdout + add.stderr);
    assertStringIncludes(await ip(f.ns, "link", "show", "eth0"), "mtu 1400");
    assert(!(await f.ns.routes()).includes("default"), "chainsaw deleted the default route");
    await waitFor(
      "the ADD's effect in the state file",
      async () => (await savedEffect(w).catch(() => [])).length > 0,
    );

    await w.edit(undefined, 1);
    assertStringIncludes(await ip(f.ns, "link", "show", "eth0"), "mtu 1500");
    assertStringIncludes(await f.ns.routes(), "default via 10.99.0.1 dev eth0");
    await waitFor("nothing owned in the state file", async () => (await savedEffect(w)).length === 0);
    const e = podEvents(w.api).find((e) => e.action === "REAPPLY")!;
    assertStringIncludes(String(e.message), "no commands; took back");
    assertStringIncludes(String(e.message), "taken back: link eth0 mtu: 1400 → 1500 (baseline)");
    assertStringIncludes(String(e.message), "taken back: route v4 main default: restored: unicast default");
  },
});

Deno.test({
  name:
    "declarative: a hand change is left alone and reported; a failing edit leaves the netns byte for byte",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1, R2]));
    await w.start();
    const f = await w.chain("dcl3");
    assertEquals((await f.chain("add")).code, 0);
    await waitFor("the ADD's effect", async () => (await savedEffect(w).catch(() => [])).length === 2);
    await ip(f.ns, "route", "replace", "192.0.3.0/24", "via", "10.99.0.1");

    await w.edit(JSON.stringify([R3]), 1);
    const routes = await f.ns.routes();
    assertStringIncludes(routes, "192.0.3.0/24 via 10.99.0.1 dev eth0", "left alone");
    assert(!routes.includes("198.51.100.0/24"), "R2 was taken back");
    assertStringIncludes(
      w.daemon().stdout(),
      "Left alone: changed since chainsaw set it: route v4 main 192.0.3.0/24",
    );
    const e = podEvents(w.api).find((e) => e.action === "REAPPLY")!;
    assertStringIncludes(
      String(e.message),
      "left alone: changed since chainsaw set it: route v4 main 192.0.3.0/24",
    );
    // The state file is written after the report: wait for the edit's effect in it.
    await waitFor("the edit's effect in the state file", async () => (await savedEffect(w)).length === 1);
    assertEquals(await savedEffect(w), ["route v4 main 198.51.100.128/25"]);

    const before = await netnsText(f.ns);
    await w.edit(
      JSON.stringify([R2, "ip link set dev CURRENT_INTERFACE mtu 1300", "ip route del 203.0.113.0/24"]),
      2,
    );
    assertEquals(await netnsText(f.ns), before, "a failing edit changes nothing");
    // Read once the daemon has stopped (the state file is written after the report, and last at shutdown).
    const d = w.daemon();
    assertEquals((await d.stop()).code, 0, d.stderr());
    assertEquals(await savedEffect(w), ["route v4 main 198.51.100.128/25"], "the old effect stays");
    assertStringIncludes(d.stdout(), "rolled back");
  },
});

Deno.test({
  name: "declarative: kill -9 of the daemon between two edits; the second still takes back the first",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1]));
    await w.start();
    const f = await w.chain("dcl4");
    assertEquals((await f.chain("add")).code, 0);
    await waitFor("the ADD's effect", async () => (await savedEffect(w).catch(() => [])).length === 1);
    await w.edit(JSON.stringify([R2]), 1);
    await waitFor(
      "the first edit's effect",
      async () => (await savedEffect(w))[0] === "route v4 main 198.51.100.0/24",
    );
    await w.kill9();
    await w.start();
    await w.edit(JSON.stringify([R3]), 2);
    const routes = await f.ns.routes();
    assert(!routes.includes("192.0.3.0/24") && !routes.includes("198.51.100.0/24 "), routes);
    assertStringIncludes(routes, "198.51.100.128/25 dev eth0");
  },
});

Deno.test({
  name: "declarative: imperative mode is unchanged — an edit runs on top, the old route stays",
  ...requireRoot(),
  async fn() {
    await using w = await world(JSON.stringify([R1]));
    await w.start();
    const f = await w.chain("dcl5", { mode: "imperative" });
    assertEquals((await f.chain("add")).code, 0);
    await w.edit(JSON.stringify([R2]), 1);
    const routes = await f.ns.routes();
    assertStringIncludes(routes, "192.0.3.0/24 dev eth0", w.daemon().stdout());
    assertStringIncludes(routes, "198.51.100.0/24 dev eth0");
    // The annotation deleted: once the daemon has taken it in (a pod-watch barrier), stopping it lets a re-apply
    // it started finish; then the route is still there.
    w.api.setPod(pod(undefined));
    const d = w.daemon();
    await podWatchBarrier(w.api, d.socket, NODE);
    assertEquals((await d.stop()).code, 0, d.stderr());
    assertEquals(
      d.stdout().split("\n").filter((l) => / REAPPLY default\/p1 /.test(l)).length,
      1,
      "one REAPPLY: the edit's",
    );
    assertStringIncludes(
      await f.ns.routes(),
      "198.51.100.0/24 dev eth0",
      "a deleted annotation runs nothing",
    );
    const [a] = JSON.parse(await Deno.readTextFile(w.stateFile)).attachments;
    assertEquals([a.mode, a.effect], ["imperative", undefined]);
  },
});
