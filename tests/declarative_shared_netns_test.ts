/**
 * Two attachments of one pod share ONE netns (the same NAD twice behind Multus: `net1`, `net2`; issue 18), in
 * declarative mode (issue 17). The same list (`ip rule add oif CURRENT_INTERFACE … priority 100`) runs on both:
 * their rules share the object `rule v4 100`. Each attachment owns its own rule only, so
 * - drift checks find both holding (net2's rule is not a drift of net1; in heal mode nothing is "healed" away),
 *   and CNI CHECK (libcni) of each passes;
 * - a rule removed by hand is a drift of its own attachment only, and a heal puts back that rule only;
 * - deleting the annotation restores the baseline: no rule chainsaw added is left behind.
 * Real chains (emulated Multus: bridge + host-local, chainsaw), the real daemon, the fake API server with watch.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import {
  Cleanup,
  createNetns,
  deleteLink,
  IP,
  type Netns,
  requireRoot,
  runChain,
  uniqueName,
} from "./support/netns.ts";
import { ensurePlugin, pathWithDeno } from "./support/plugin.ts";
import {
  multusAdd,
  multusCniArgs,
  multusDel,
  type MultusPod,
  nadConflist,
  NETWORKS,
} from "./support/multus.ts";
import { apiScratch, type Daemon, healthGet, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";

const NODE = "node-ksh";
const POD: MultusPod = { namespace: "default", name: "kshared", uid: "uid-kshared" };
const RULE = "ip rule add oif CURRENT_INTERFACE lookup 100 priority 100";

function pod(value: string | undefined): Pod {
  const annotations: Record<string, string> = { [NETWORKS]: "test-chainsaw, test-chainsaw" };
  if (value !== undefined) annotations[ANNOTATION] = value;
  return makePod({ ...POD, nodeName: NODE, annotations });
}

async function ip(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The netns's rules of priority 100, as `ip rule` prints them. */
async function rules100(ns: Netns): Promise<string[]> {
  return (await ip(ns, "rule")).split("\n").filter((l) => l.startsWith("100:")).map((l) =>
    l.replace(/\s+/g, " ").trim()
  );
}

async function metric(d: Daemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue((await healthGet(d, "/metrics")).text, name, labels) ?? 0;
}

/** Drift checks done so far (any result). */
async function checks(d: Daemon): Promise<number> {
  let n = 0;
  for (const result of ["holds", "drifted", "error"]) {
    n += await metric(d, "chainsaw_drift_checks_total", { result });
  }
  return n;
}

interface Shared {
  api: FakeApiServer;
  d: Daemon;
  ns: Netns;
  stateFile: string;
  /** CNI CHECK of one attachment through libcni (chainsaw's part of the chain, with the cached result). */
  check(ifname: string): Promise<{ code: number; out: string; json: Record<string, unknown> | null }>;
}

/** The pod set up behind the emulated Multus, both ADDs run by the daemon; `fn` runs, then all is cleaned up. */
async function withSharedNetns(drift: "report" | "heal", fn: (s: Shared) => Promise<void>): Promise<void> {
  await ensurePlugin();
  const cleanup = new Cleanup();
  try {
    const api = await startFakeApiServer({ pods: [pod(JSON.stringify([RULE]))], bookmarkIntervalMs: 200 });
    cleanup.defer(() => api.close(), "fake apiserver");
    const scratch = await apiScratch(cleanup, api);
    const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      scratch,
      args: ["--drift-check-seconds", "0.3"],
    });
    const ns = await createNetns("ksh");
    cleanup.defer(() => ns.delete(), "netns");
    const bridge = uniqueName("kshbr");
    cleanup.defer(() => deleteLink(bridge), "bridge");
    const chainsaw = { kubeconfig, daemonSocket: d.socket, drift };
    const conflist = nadConflist({
      name: "test-chainsaw-chain",
      bridge,
      dataDir: `${scratch.path}/ipam`,
      chainsaw,
    });
    const run = {
      pod: POD,
      netns: ns.path,
      containerId: uniqueName("ctr-", 8),
      cacheDir: `${scratch.path}/cache`,
      delegates: [{ conflist, ifname: "net1" }, { conflist, ifname: "net2" }],
    };
    cleanup.defer(() => multusDel(run), "multus DEL");
    assertEquals(await rules100(ns), [], "the baseline has no rule of priority 100");
    const adds = await multusAdd(run);
    for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
    assertEquals(await rules100(ns), [
      "100: from all oif net1 lookup 100",
      "100: from all oif net2 lookup 100",
    ]);
    const stateFile = `${scratch.path}/state/attachments.json`;
    await waitFor("both effects in the state file", async () => {
      const text = await Deno.readTextFile(stateFile).catch(() => "{}");
      const list = JSON.parse(text).attachments ?? [];
      return list.length === 2 && list.every((a: { effect?: unknown }) => a.effect !== undefined);
    });
    // The bridge plugin's own CHECK fails once two veths share the bridge (its MAC moves): CHECK chainsaw alone,
    // with the result libcni cached for the attachment, as the runtime would hand it down the chain.
    const only = {
      cniVersion: "1.0.0",
      name: "test-chainsaw-chain",
      plugins: [{ type: "chainsaw", ...chainsaw }],
    };
    const check = async (ifname: string) => {
      const r = await runChain({
        conflist: only,
        cmd: "check",
        netns: ns.path,
        id: run.containerId,
        ifname,
        args: multusCniArgs(POD),
        cacheDir: run.cacheDir,
        env: { PATH: pathWithDeno() },
      });
      return { code: r.code, out: r.stdout + r.stderr, json: r.json as Record<string, unknown> | null };
    };
    await fn({ api, d, ns, stateFile, check });
  } finally {
    await cleanup.run();
  }
}

Deno.test({
  name:
    "shared netns (report): another attachment's rule of the same priority is no drift, CHECK passes on both; " +
    "a hand-deleted rule drifts its own attachment only; deleting the annotation restores the baseline",
  ...requireRoot(),
  async fn() {
    await withSharedNetns("report", async ({ api, d, ns, stateFile, check }) => {
      const start = await checks(d);
      await waitFor("four more drift check rounds", async () => await checks(d) >= start + 8);
      assertEquals(await metric(d, "chainsaw_drifted_attachments"), 0, d.stderr());
      assertEquals(api.events().filter((e) => e.reason === "ChainsawDrifted").map((e) => e.message), []);
      for (const ifname of ["net1", "net2"]) {
        const c = await check(ifname);
        assertEquals(c.code, 0, `CHECK of ${ifname}: ${c.out}`);
      }

      // net2's rule deleted by hand: net2 drifted, net1 still holds.
      await ip(ns, "rule", "del", "oif", "net2", "lookup", "100", "priority", "100");
      await waitFor("net2's drift", async () => await metric(d, "chainsaw_drifted_attachments") === 1);
      const drifted = api.events().filter((e) => e.reason === "ChainsawDrifted").map((e) =>
        String(e.message)
      );
      assertEquals(drifted.length, 1, drifted.join("\n"));
      assert(drifted[0].startsWith("net2 "), drifted[0]);
      assertEquals((await check("net1")).code, 0, "net1's CHECK passes");
      const c2 = await check("net2");
      assertEquals(c2.json?.code, 103, c2.out);
      await ip(ns, "rule", "add", "oif", "net2", "lookup", "100", "priority", "100");
      await waitFor("the drift over", async () => await metric(d, "chainsaw_drifted_attachments") === 0);

      // The annotation deleted: both rules go, whatever order the attachments are taken back in.
      api.setPod(pod(undefined));
      await waitFor("both taken back", async () => {
        const list = JSON.parse(await Deno.readTextFile(stateFile)).attachments;
        return list.every((a: { applied?: string; effect?: unknown }) => a.applied === "" && !a.effect);
      });
      assertEquals(await rules100(ns), [], "no rule chainsaw added is left");
      assert(!d.stdout().includes("Left alone"), d.stdout());
      assertStringIncludes(d.stdout(), "Taken back: rule v4 100");
    });
  },
});

Deno.test({
  name:
    "shared netns (heal): two attachments' rules of one priority never heal each other away; a hand-deleted " +
    "rule comes back alone",
  ...requireRoot(),
  async fn() {
    await withSharedNetns("heal", async ({ api, d, ns }) => {
      const start = await checks(d);
      await waitFor("four more drift check rounds", async () => await checks(d) >= start + 8);
      assertEquals(await metric(d, "chainsaw_drift_total", { action: "healed" }), 0, d.stderr());
      assertEquals(await rules100(ns), [
        "100: from all oif net1 lookup 100",
        "100: from all oif net2 lookup 100",
      ]);
      await ip(ns, "rule", "del", "oif", "net1", "lookup", "100", "priority", "100");
      await waitFor("net1's rule back", async () => (await rules100(ns)).length === 2);
      assertEquals((await rules100(ns)).sort(), [
        "100: from all oif net1 lookup 100",
        "100: from all oif net2 lookup 100",
      ]);
      await waitFor(
        "the heal counted",
        async () => await metric(d, "chainsaw_drift_total", { action: "healed" }) === 1,
      );
      const healed = api.events().filter((e) => e.reason === "ChainsawHealed").map((e) => String(e.message));
      assertEquals(healed.length, 1, healed.join("\n"));
      assert(healed[0].startsWith("net1 "), healed[0]);
    });
  },
});
