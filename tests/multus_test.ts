/**
 * chainsaw behind Multus (emulated exactly as the captures show: tests/support/multus.ts), the plugin running the
 * ADD itself (no daemon): the pod on the fake API server carries `k8s.v1.cni.cncf.io/networks`, and the
 * object-form keys pick each attachment's commands by interface, NAD (both spellings), chain name or `"*"`, most
 * specific first. Each case is checked in a real netns.
 */
import { parseAllDocuments } from "yaml";
import { assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION } from "./support/chain_fixture.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, createNetns, deleteLink, type Netns, requireRoot, uniqueName } from "./support/netns.ts";
import { ensurePlugin, scopedTempDir } from "./support/plugin.ts";
import {
  type Delegate,
  multusAdd,
  multusDel,
  type MultusPod,
  nadConflist,
  NETWORKS,
} from "./support/multus.ts";

const POD: MultusPod = {
  namespace: "default",
  name: "chainsawtestpod",
  uid: "9ff402de-e0d3-48cd-a55d-3b76669dd29e",
};

/** A NAD of the test: its chain name and subnet (each NAD its own bridge). */
interface NadSpec {
  chain: string;
  subnet: string;
}

interface MultusScene {
  ns: Netns;
  /** The delegate (NAD conflist) of each NAD, by `namespace/name`, with the interface Multus gives it. */
  delegate(nad: string, ifname: string, cniArgs?: Record<string, unknown>): Delegate;
  add(delegates: Delegate[]): ReturnType<typeof multusAdd>;
  del(delegates: Delegate[]): ReturnType<typeof multusDel>;
}

/** A pod with `annotations` on a fake API server, the NADs' bridges, a netns; chainsaw GETs the pod. */
async function withMultusPod(
  tag: string,
  annotations: Record<string, string>,
  nads: Record<string, NadSpec>,
  body: (s: MultusScene) => Promise<void>,
  cniVersion = "1.0.0",
): Promise<void> {
  await ensurePlugin();
  const cleanup = new Cleanup();
  try {
    const api = await startFakeApiServer({ pods: [makePod({ ...POD, annotations })] });
    cleanup.defer(() => api.close(), "api");
    const dir = await scopedTempDir();
    cleanup.defer(() => dir.remove(), "scratch");
    const kubeconfig = `${dir.path}/chainsaw.kubeconfig`;
    await Deno.writeTextFile(kubeconfig, api.kubeconfig());
    const ns = await createNetns(`im-${tag}`);
    cleanup.defer(() => ns.delete(), "netns");
    const conflists = new Map<string, Record<string, unknown>>();
    for (const [nad, spec] of Object.entries(nads)) {
      const bridge = uniqueName("imbr");
      cleanup.defer(() => deleteLink(bridge), "bridge");
      conflists.set(
        nad,
        nadConflist({
          name: spec.chain,
          bridge,
          dataDir: `${dir.path}/ipam-${bridge}`,
          subnet: spec.subnet,
          cniVersion,
          // No daemon here: the plugin runs the ADD and GETs the pod with the kubeconfig (as in the captures).
          chainsaw: { kubeconfig, daemonSocket: `${dir.path}/no-daemon.sock` },
        }),
      );
    }
    const run = {
      pod: POD,
      netns: ns.path,
      containerId: uniqueName("ctr-", 8),
      cacheDir: `${dir.path}/cache`,
    };
    await body({
      ns,
      delegate: (nad, ifname, cniArgs) => ({ conflist: conflists.get(nad)!, ifname, cniArgs }),
      add: (delegates) => multusAdd({ ...run, delegates }),
      del: (delegates) => multusDel({ ...run, delegates }),
    });
  } finally {
    await cleanup.run();
  }
}

const route = (dst: string) => `ip route add ${dst} dev CURRENT_INTERFACE`;

/** The routes of the test range 192.0.3.0/24 and 192.0.4.0/24 in the netns, as `dst dev`. */
async function testRoutes(ns: Netns): Promise<string[]> {
  return (await ns.routes()).split("\n").filter((l) => /^192\.0\.[34]\./.test(l))
    .map((l) => l.replace(/ (proto|scope) .*$/, "").trim()).sort();
}

Deno.test({
  name: "multus: keys by interface, NAD (name in the pod's namespace, namespace/name) and chain name, most " +
    "specific first (JSON selection with interface and cni-args)",
  ...requireRoot(),
  async fn() {
    const value = JSON.stringify({
      "*": route("192.0.3.9/32"),
      "plain-chain": route("192.0.3.4/32"),
      "test-chainsaw-chain": route("192.0.3.7/32"),
      "test-chainsaw": route("192.0.3.1/32"),
      net2: route("192.0.3.2/32"),
      "other/test-chainsaw": route("192.0.3.3/32"),
      "other-chain": route("192.0.3.8/32"),
    });
    const selection = JSON.stringify([
      { name: "test-chainsaw" },
      { name: "test-chainsaw" },
      { name: "test-chainsaw", namespace: "other", interface: "sw0", "cni-args": { chainsawBench: "yes" } },
      { name: "plain" },
    ]);
    await withMultusPod("keys", { [ANNOTATION]: value, [NETWORKS]: selection }, {
      "default/test-chainsaw": { chain: "test-chainsaw-chain", subnet: "198.51.100.0/26" },
      "other/test-chainsaw": { chain: "other-chain", subnet: "198.51.100.64/26" },
      "default/plain": { chain: "plain-chain", subnet: "198.51.100.128/26" },
    }, async (s) => {
      const delegates = [
        s.delegate("default/test-chainsaw", "net1"),
        s.delegate("default/test-chainsaw", "net2"),
        s.delegate("other/test-chainsaw", "sw0", { chainsawBench: "yes" }),
        s.delegate("default/plain", "net4"),
      ];
      const adds = await s.add(delegates);
      for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
      assertEquals(adds.length, 4);
      assertEquals(await testRoutes(s.ns), [
        "192.0.3.1 dev net1", // "test-chainsaw": the NAD by name, in the pod's namespace
        "192.0.3.2 dev net2", // "net2": the interface beats the NAD
        "192.0.3.3 dev sw0", // "other/test-chainsaw": the NAD beats the chain name "other-chain"
        "192.0.3.4 dev net4", // "plain-chain": the chain name beats "*"
      ]);
      // The reports name the NAD next to the chain, and the key that picked.
      assertStringIncludes(
        adds[0].stderr,
        "network=test-chainsaw-chain nad=default/test-chainsaw",
      );
      assertStringIncludes(adds[1].stderr, "nad=default/test-chainsaw");
      assertStringIncludes(
        adds[2].stderr,
        "network=other-chain nad=other/test-chainsaw",
      );
      assertStringIncludes(adds[3].stderr, "network=plain-chain nad=default/plain");
      for (const d of await s.del(delegates)) assertEquals(d.code, 0, d.stdout + d.stderr);
    });
  },
});

Deno.test({
  name: "multus: a comma selection with ns/name@ifname; namespace/name of the pod's namespace, then '*'",
  ...requireRoot(),
  async fn() {
    const value = JSON.stringify({
      "default/test-chainsaw": route("192.0.3.1/32"),
      "*": route("192.0.3.9/32"),
    });
    await withMultusPod("comma", {
      [ANNOTATION]: value,
      [NETWORKS]: "test-chainsaw, other/test-chainsaw@sw0",
    }, {
      "default/test-chainsaw": { chain: "test-chainsaw-chain", subnet: "198.51.100.0/26" },
      "other/test-chainsaw": { chain: "test-chainsaw-chain", subnet: "198.51.100.64/26" },
    }, async (s) => {
      const delegates = [
        s.delegate("default/test-chainsaw", "net1"),
        s.delegate("other/test-chainsaw", "sw0"),
      ];
      const adds = await s.add(delegates);
      for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
      // Both chains are named test-chainsaw-chain: only the NAD tells them apart.
      assertEquals(await testRoutes(s.ns), ["192.0.3.1 dev net1", "192.0.3.9 dev sw0"]);
      assertStringIncludes(adds[1].stderr, "nad=other/test-chainsaw");
      for (const d of await s.del(delegates)) assertEquals(d.code, 0, d.stdout + d.stderr);
    });
  },
});

for (const version of ["0.4.0", "1.0.0"]) {
  Deno.test({
    name:
      `multus ${version}: the same NAD twice: one list fails net2 (File exists); keys give net1 and net2 ` +
      "their own commands",
    ...requireRoot(),
    async fn() {
      const nads = { "default/test-chainsaw": { chain: "test-chainsaw-chain", subnet: "198.51.100.0/26" } };
      const seed = JSON.stringify([route("192.0.3.0/24"), "ip route"]);
      await withMultusPod(
        "twice",
        { [ANNOTATION]: seed, [NETWORKS]: "test-chainsaw, test-chainsaw" },
        nads,
        async (s) => {
          const delegates = [
            s.delegate("default/test-chainsaw", "net1"),
            s.delegate("default/test-chainsaw", "net2"),
          ];
          const adds = await s.add(delegates);
          assertEquals(adds.map((a) => a.code), [0, 1]);
          assertEquals(adds[1].json?.code, 100, adds[1].stdout);
          assertStringIncludes(String(adds[1].json?.msg), "File exists");
          await s.del(delegates);
        },
        version,
      );
      const keyed = JSON.stringify({
        net1: route("192.0.3.0/24"),
        net2: [route("192.0.4.0/24"), "ip route"],
      });
      await withMultusPod(
        "twice",
        { [ANNOTATION]: keyed, [NETWORKS]: "test-chainsaw, test-chainsaw" },
        nads,
        async (s) => {
          const delegates = [
            s.delegate("default/test-chainsaw", "net1"),
            s.delegate("default/test-chainsaw", "net2"),
          ];
          const adds = await s.add(delegates);
          for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
          assertEquals(adds[1].json?.cniVersion, version);
          assertEquals(await testRoutes(s.ns), ["192.0.3.0/24 dev net1", "192.0.4.0/24 dev net2"]);
          for (const d of await s.del(delegates)) assertEquals(d.code, 0, d.stdout + d.stderr);
        },
        version,
      );
    },
  });
}

interface ExampleDoc {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { config?: string };
}

Deno.test({
  name: "multus: deployments/example.yaml's chainsawtwicepod (the NAD twice) gets its net1 and net2 routes",
  ...requireRoot(),
  async fn() {
    const text = await Deno.readTextFile(new URL("../deployments/example.yaml", import.meta.url));
    const docs = parseAllDocuments(text).map((d) => d.toJS() as ExampleDoc);
    const nad = JSON.parse(docs.find((d) => d.kind === "NetworkAttachmentDefinition")!.spec.config!);
    const pod = docs.find((d) => d.kind === "Pod" && d.metadata.name === "chainsawtwicepod")!;
    assertEquals(pod.metadata.annotations![NETWORKS], "test-chainsaw, test-chainsaw");
    await withMultusPod("example", pod.metadata.annotations!, {
      "default/test-chainsaw": { chain: nad.name, subnet: nad.plugins[0].ipam.subnet },
    }, async (s) => {
      const delegates = [
        s.delegate("default/test-chainsaw", "net1"),
        s.delegate("default/test-chainsaw", "net2"),
      ];
      const adds = await s.add(delegates);
      for (const a of adds) assertEquals(a.code, 0, `${a.ifname}: ${a.stdout}${a.stderr}`);
      assertEquals(await testRoutes(s.ns), ["192.0.3.0/24 dev net1", "192.0.4.0/24 dev net2"]);
      assertStringIncludes(adds[1].stderr, "network=test-chainsaw-chain nad=default/test-chainsaw");
      for (const d of await s.del(delegates)) assertEquals(d.code, 0, d.stdout + d.stderr);
    }, nad.cniVersion);
  },
});
