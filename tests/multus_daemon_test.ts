/**
 * chainsaw behind Multus (emulated as the captures show: tests/support/multus.ts) with its daemon: the real daemon
 * process watching the fake API server runs the ADDs. A key naming none of the pod's attachments is a warning in
 * the ADD report, an Event and `chainsaw explain`, and the pod still starts; reports and Events name the NAD; a
 * live edit of one interface's entry re-applies that interface only; a live edit that only adds a typo is still
 * reported. Each case is checked in a real netns.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION } from "./support/chain_fixture.ts";
import { makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, createNetns, deleteLink, type Netns, requireRoot, uniqueName } from "./support/netns.ts";
import { ensurePlugin } from "./support/plugin.ts";
import {
  multusAdd,
  multusDel,
  type MultusPod,
  type MultusRun,
  nadConflist,
  NETWORKS,
} from "./support/multus.ts";
import { apiScratch, runChainsaw, startDaemonOnApi, waitFor } from "./daemon_harness.ts";

const NODE = "node-im";
const POD: MultusPod = {
  namespace: "default",
  name: "chainsawtestpod",
  uid: "007a919e-acbf-4614-9a9e-5e5e41dea38a",
};
const route = (dst: string) => `ip route add ${dst} dev CURRENT_INTERFACE`;

function pod(value: string): Pod {
  return makePod({
    ...POD,
    nodeName: NODE,
    annotations: { [NETWORKS]: "test-chainsaw, test-chainsaw", [ANNOTATION]: value },
  });
}

/** The routes of 192.0.3.0/24 and 192.0.4.0/24 in the netns, as `dst dev`. */
async function testRoutes(ns: Netns): Promise<string[]> {
  return (await ns.routes()).split("\n").filter((l) => /^192\.0\.[34]\./.test(l))
    .map((l) => l.replace(/ (proto|scope) .*$/, "").trim()).sort();
}

/**
 * A netns for the pod and a Multus run that selects the chainsaw NAD twice (`net1`, `net2`) over a fresh bridge;
 * the netns, the bridge and the run's DEL are deferred on `cleanup`.
 */
async function nadTwice(
  cleanup: Cleanup,
  nsName: string,
  scratch: string,
  kubeconfig: string,
  daemonSocket: string,
  env?: Record<string, string>,
): Promise<{ ns: Netns; run: MultusRun }> {
  const ns = await createNetns(nsName);
  cleanup.defer(() => ns.delete(), "netns");
  const bridge = uniqueName("imbr");
  cleanup.defer(() => deleteLink(bridge), "bridge");
  const conflist = nadConflist({
    name: "test-chainsaw-chain",
    bridge,
    dataDir: `${scratch}/ipam`,
    chainsaw: { kubeconfig, daemonSocket },
  });
  const run: MultusRun = {
    pod: POD,
    netns: ns.path,
    containerId: uniqueName("ctr-", 8),
    cacheDir: `${scratch}/cache`,
    delegates: [{ conflist, ifname: "net1" }, { conflist, ifname: "net2" }],
    ...(env ? { env } : {}),
  };
  cleanup.defer(() => multusDel(run), "multus DEL");
  return { ns, run };
}

/** The daemon's records of `verb` (header lines), in order. */
function records(stdout: string, verb: string): string[] {
  return stdout.split("\n").filter((l) => l.includes(` ${verb} default/chainsawtestpod `));
}

Deno.test({
  name:
    "multus + daemon: a key naming no attachment is a warning in the report, an Event and explain (the pod " +
    "starts); Events name the NAD; a live edit of net2's entry re-applies net2 only; a typo-only edit is reported",
  ...requireRoot(),
  async fn() {
    await ensurePlugin();
    const cleanup = new Cleanup();
    try {
      const typo = JSON.stringify({
        net1: route("192.0.3.1/32"),
        net2: route("192.0.3.2/32"),
        nett2: "ip route",
      });
      const api = await startFakeApiServer({ pods: [pod(typo)], bookmarkIntervalMs: 200 });
      cleanup.defer(() => api.close(), "fake apiserver");
      const scratch = await apiScratch(cleanup, api);
      const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, { node: NODE, scratch });
      const { ns, run } = await nadTwice(cleanup, "im-daemon", scratch.path, kubeconfig, d.socket);

      const adds = await multusAdd(run);
      for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
      assertEquals(adds.length, 2, "the pod starts");
      assertEquals(await testRoutes(ns), ["192.0.3.1 dev net1", "192.0.3.2 dev net2"]);

      // The ADD report of the pod's last attachment (the daemon ran both) warns; the first does not.
      const warning =
        'Warning: key "nett2" of the chainsaw annotation matches none of the pod\'s attachments: ' +
        "net1 (network default/test-chainsaw, chain test-chainsaw-chain), net2 (network default/test-chainsaw, " +
        "chain test-chainsaw-chain); it does nothing";
      await waitFor("both ADD records", () => records(d.stdout(), "ADD").length === 2);
      const log = d.stdout();
      assertEquals(log.split("\n").filter((l) => l.startsWith("Warning: ")), [warning]);
      assertStringIncludes(
        records(log, "ADD")[1],
        "ifname=net2 network=test-chainsaw-chain nad=default/test-chainsaw",
      );

      // The Events: each ADD names the NAD; the warning is its own Warning Event.
      await waitFor("the Events", () => api.events().some((e) => e.reason === "ChainsawUnmatchedKey"));
      const events = api.events();
      const applied = events.filter((e) => e.reason === "ChainsawApplied").map((e) =>
        String(e.message).split("\n")[0]
      );
      assertEquals(applied.sort(), [
        "ADD of network default/test-chainsaw (chain test-chainsaw-chain) on net1: applied 1 command",
        "ADD of network default/test-chainsaw (chain test-chainsaw-chain) on net2: applied 1 command",
      ]);
      const unmatched = events.find((e) => e.reason === "ChainsawUnmatchedKey")!;
      assertEquals(unmatched.type, "Warning");
      assertStringIncludes(String(unmatched.message), warning.slice("Warning: ".length));

      // chainsaw explain says it too, with each attachment's NAD and key.
      const explain = async () =>
        (await runChainsaw(["explain", "--socket", d.socket, "--pod", "default/chainsawtestpod"])).stdout;
      await waitFor("explain", async () => (await explain()).includes("2 attachments"));
      const text = await explain();
      assertStringIncludes(text, `warning: ${warning.slice("Warning: ".length)}\n`);
      assertStringIncludes(
        text,
        "  net2  network default/test-chainsaw (chain test-chainsaw-chain)  container ",
      );
      assertStringIncludes(text, '    key:        "net2"\n');

      // A live edit of net2's entry (and the typo fixed): net2 re-applies, net1 does not.
      api.setPod(pod(JSON.stringify({ net1: route("192.0.3.1/32"), net2: route("192.0.4.0/24") })));
      await waitFor("the REAPPLY", () => records(d.stdout(), "REAPPLY").length >= 1);
      await waitFor(
        "the route on net2",
        async () => (await testRoutes(ns)).includes("192.0.4.0/24 dev net2"),
      );
      // The sync said what it would run before running it (a later step on net1 would not be printed yet).
      await waitFor("the sync's plan in the log", () => d.stderr().includes("re-applying on "));
      assertStringIncludes(d.stderr(), "re-applying on 1 attachment (net2)");
      const reapplies = records(d.stdout(), "REAPPLY");
      assertEquals(reapplies.length, 1, reapplies.join("\n"));
      assertStringIncludes(reapplies[0], "ifname=net2 ");
      // net1 untouched; on net2 the edit took back the old entry's route (declarative, the default mode).
      assertEquals(await testRoutes(ns), ["192.0.3.1 dev net1", "192.0.4.0/24 dev net2"]);

      // An edit that only adds a typo runs nothing, and is still reported (log, Event).
      api.setPod(
        pod(JSON.stringify({ net1: route("192.0.3.1/32"), net2: route("192.0.4.0/24"), nte1: "ip r" })),
      );
      await waitFor(
        "the REAPPLY warning",
        () => d.stdout().split("\n").some((l) => l.startsWith('Warning: key "nte1"')),
      );
      await waitFor(
        "its Event",
        () =>
          api.events().some((e) =>
            e.reason === "ChainsawUnmatchedKey" && String(e.message).includes('"nte1"')
          ),
      );
      const last = records(d.stdout(), "REAPPLY");
      assertEquals(last.length, 2, last.join("\n"));
      assert(d.stdout().includes("Result: nothing"), "the typo-only edit ran nothing");
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "multus + daemon: ADDs the plugin runs itself (the daemon up but declining) register each attachment's " +
    "NAD, so re-apply and explain key by NAD too",
  ...requireRoot(),
  async fn() {
    await ensurePlugin();
    const cleanup = new Cleanup();
    try {
      const first = JSON.stringify({ "test-chainsaw": route("192.0.3.0/24"), net2: route("192.0.4.0/24") });
      const api = await startFakeApiServer({ pods: [pod(first)], bookmarkIntervalMs: 200 });
      cleanup.defer(() => api.close(), "fake apiserver");
      const scratch = await apiScratch(cleanup, api);
      const policyDir = `${scratch.path}/policy`;
      await Deno.mkdir(policyDir);
      const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, {
        node: NODE,
        args: ["--policy-dir", policyDir],
        scratch,
      });
      // The runtime's environment names a policy directory: the plugin runs the ADD itself and hands the report and
      // the registration to the daemon.
      const { ns, run } = await nadTwice(cleanup, "im-plugin", scratch.path, kubeconfig, d.socket, {
        CHAINSAW_POLICY_DIR: policyDir,
      });
      const adds = await multusAdd(run);
      for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
      assertStringIncludes(
        adds[0].stderr,
        "ifname=net1 network=test-chainsaw-chain nad=default/test-chainsaw",
      );
      assertEquals(await testRoutes(ns), ["192.0.3.0/24 dev net1", "192.0.4.0/24 dev net2"]);
      const explain = async () =>
        (await runChainsaw(["explain", "--socket", d.socket, "--pod", "default/chainsawtestpod"])).stdout;
      await waitFor("both registrations", async () => (await explain()).includes("2 attachments"));
      const text = await explain();
      assertStringIncludes(
        text,
        "  net1  network default/test-chainsaw (chain test-chainsaw-chain)  container ",
      );
      assertStringIncludes(text, '    key:        "test-chainsaw"\n');

      // A live edit of the NAD's entry: net1 re-applies (the stored NAD picks it), net2 keeps its own key.
      api.setPod(
        pod(JSON.stringify({ "test-chainsaw": route("192.0.3.128/25"), net2: route("192.0.4.0/24") })),
      );
      await waitFor("the REAPPLY", () => records(d.stdout(), "REAPPLY").length >= 1);
      await waitFor(
        "net1's new route",
        async () => (await testRoutes(ns)).includes("192.0.3.128/25 dev net1"),
      );
      // The sync said what it would run before running it (a later step on net2 would not be printed yet).
      await waitFor("the sync's plan in the log", () => d.stderr().includes("re-applying on "));
      assertStringIncludes(d.stderr(), "re-applying on 1 attachment (net1)");
      const reapplies = records(d.stdout(), "REAPPLY");
      assertEquals(reapplies.length, 1, reapplies.join("\n"));
      assertStringIncludes(reapplies[0], "ifname=net1 network=test-chainsaw-chain nad=default/test-chainsaw");
    } finally {
      await cleanup.run();
    }
  },
});
