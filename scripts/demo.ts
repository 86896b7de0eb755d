/**
 * The live re-apply demo, end to end on this machine (as root, after the test set-up step):
 *
 * ```sh
 * deno task demo
 * ```
 *
 * 1. a fake Kubernetes API server (tests/support/fake_apiserver.ts) holding the pod of `deployments/example.yaml`,
 *    scheduled on a demo node, with its annotation (one route);
 * 2. the real `chainsaw daemon` (the bundle, under the shipped permission flags) watching that node's pods with
 *    its own kubeconfig, its socket and state under `/run/chainsaw/demo-*`;
 * 3. a scratch network namespace and the example's chain (bridge + host-local on 192.0.2.0/24, then chainsaw
 *    asking the daemon), run by the libcni driver: ADD adds the route;
 * 4. the annotation is edited on the API server to add a second route; the daemon re-applies it in the netns;
 * 5. the netns routes, the two Events on the pod, and the daemon's log;
 * 6. DEL, and everything removed (netns, bridge, processes, directories), also when a step fails.
 * @module
 */
import { parseAllDocuments } from "yaml";
import { ANNOTATION } from "../src/annotation/annotation.ts";
import { permissionFlags } from "../src/permissions.ts";
import {
  type FakeApiServer,
  type KubeEvent,
  makePod,
  type Pod,
  startFakeApiServer,
} from "../tests/support/fake_apiserver.ts";
import {
  BIN_DIR,
  Cleanup,
  createNetns,
  deleteLink,
  IP,
  isRoot,
  type Netns,
  randomHex,
  runChain,
  uniqueName,
} from "../tests/support/netns.ts";
import { pathWithDeno } from "../tests/support/plugin.ts";
import { healthGet, startDaemon, waitFor as waitUntil } from "../tests/daemon_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const NODE = "demo-node";
const IFNAME = "net1";
/** The edited value: the whole list runs again, so the first route is `replace`d (idempotent) and one is added. */
const EDITED =
  '["ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", ' +
  '"ip route"]';

type Doc = Record<string, unknown>;

/** The example's network configuration and pod. */
interface Example {
  conf: { cniVersion: string; name: string; plugins: Doc[] };
  pod: { name: string; namespace: string; annotation: string };
}

function header(title: string): void {
  const bold = Deno.noColor ? (t: string) => t : (t: string) => `\x1b[1m${t}\x1b[0m`;
  console.log(`\n${bold(`==> ${title}`)}`);
}

function indent(text: string, prefix = "    "): string {
  return text.replace(/\n$/, "").split("\n").map((l) => prefix + l).join("\n");
}

async function readExample(): Promise<Example> {
  const docs = parseAllDocuments(await Deno.readTextFile(`${ROOT}/deployments/example.yaml`))
    .map((d) => d.toJS() as Doc);
  const nad = docs.find((d) => d.kind === "NetworkAttachmentDefinition") as
    | { spec: { config: string } }
    | undefined;
  const pod = docs.find((d) => d.kind === "Pod") as
    | { metadata: { name: string; namespace?: string; annotations: Record<string, string> } }
    | undefined;
  if (!nad || !pod) throw new Error("deployments/example.yaml: no NetworkAttachmentDefinition or Pod");
  return {
    conf: JSON.parse(nad.spec.config),
    pod: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace ?? "default",
      annotation: pod.metadata.annotations[ANNOTATION],
    },
  };
}

/** The example's chain with a unique bridge, IPAM data in `dir`, and chainsaw pointed at the daemon. */
function chainConf(ex: Example, bridge: string, dir: string, chainsaw: Doc): Doc {
  const plugins = ex.conf.plugins.map((p) => {
    if (p.type === "bridge") {
      return { ...p, bridge, ipam: { ...(p.ipam as Doc), dataDir: `${dir}/ipam` } };
    }
    return p.type === "chainsaw" ? { ...p, ...chainsaw } : p;
  });
  return { ...ex.conf, plugins };
}

async function routes(ns: Netns): Promise<string> {
  return await ns.routes();
}

function describeEvents(events: KubeEvent[]): string {
  return events.map((e) =>
    [
      `${e.type} ${e.reason} (action ${e.action}, count ${e.count}, by ${e.reportingComponent} on ${e.reportingInstance})`,
      indent(String(e.message), "    | "),
    ].join("\n")
  ).join("\n");
}

function podEvents(api: FakeApiServer, name: string): KubeEvent[] {
  return api.events().filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === name);
}

function withAnnotation(pod: Pod, value: string): Pod {
  const edited = structuredClone(pod);
  edited.metadata.annotations = { ...edited.metadata.annotations, [ANNOTATION]: value };
  return edited;
}

async function demo(cleanup: Cleanup): Promise<void> {
  const ex = await readExample();
  const dir = `/run/chainsaw/demo-${randomHex(8)}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  cleanup.defer(() => Deno.remove(dir, { recursive: true }), `remove ${dir}`);

  header(`1. A fake API server with the pod ${ex.pod.namespace}/${ex.pod.name} of deployments/example.yaml`);
  const podSpec = makePod({
    namespace: ex.pod.namespace,
    name: ex.pod.name,
    uid: crypto.randomUUID(),
    nodeName: NODE,
    annotations: { "k8s.v1.cni.cncf.io/networks": "test-chainsaw", [ANNOTATION]: ex.pod.annotation },
  });
  const api = await startFakeApiServer({ pods: [podSpec] });
  cleanup.defer(() => api.close(), "stop the fake API server");
  const kubeconfig = `${dir}/daemon.kubeconfig`;
  await Deno.writeTextFile(kubeconfig, api.kubeconfig(), { mode: 0o600 });
  console.log(`    ${api.url}, pod on node ${NODE} with`);
  console.log(`    ${ANNOTATION}: ${ex.pod.annotation.trim()}`);

  header("2. The chainsaw daemon (the bundle, under its shipped permission flags)");
  const args = [
    "--no-install",
    "--no-kubeconfig",
    "--kubeconfig",
    kubeconfig,
    "--node-name",
    NODE,
    "--log-format",
    "human",
    "--shutdown-delay-seconds",
    "0",
  ];
  const daemon = await startDaemon(dir, args); // the harness adds --socket, --health-addr, --state-file under dir
  cleanup.defer(() => daemon.stop(), "stop the daemon");
  const socket = daemon.socket;
  console.log(
    `    chainsaw daemon ${args.join(" ")} --socket ${socket} --state-file ${dir}/state/attachments.json`,
  );
  console.log(indent(`(deno run ${permissionFlags().join(" ")})`, "      "));
  await waitUntil(
    "the daemon to be ready (pod list synced)",
    async () => (await healthGet(daemon, "/readyz")).status === 200,
  );
  console.log("    ready: the pod list of the node is synced");

  header(`3. A scratch netns and the example's chain (bridge on 192.0.2.0/24, then chainsaw): ADD`);
  const ns = await createNetns("demo");
  cleanup.defer(() => ns.delete(), `delete netns ${ns.name}`);
  const bridge = uniqueName("csdemo");
  cleanup.defer(() => deleteLink(bridge), `delete bridge ${bridge}`);
  const conflist = chainConf(ex, bridge, dir, { kubeconfig, daemonSocket: socket });
  const cni = {
    conflist,
    netns: ns.path,
    id: `demo-${randomHex(12)}`,
    ifname: IFNAME,
    args: {
      IgnoreUnknown: "1",
      K8S_POD_NAMESPACE: ex.pod.namespace,
      K8S_POD_NAME: ex.pod.name,
      K8S_POD_UID: String(podSpec.metadata.uid),
    },
    cacheDir: `${dir}/cni-cache`,
    env: { PATH: pathWithDeno() },
  };
  let added = false;
  cleanup.defer(async () => {
    if (added) await runChain({ ...cni, cmd: "del" });
  }, "CNI DEL");
  const add = await runChain({ ...cni, cmd: "add" });
  if (add.code !== 0) throw new Error(`ADD failed: ${add.stdout}${add.stderr}`);
  added = true;
  console.log(`    netns ${ns.path}, bridge ${bridge}, ${IFNAME} ${add.json?.ips?.[0]?.address}`);
  const podGets = api.requests.filter((r) => r.method === "GET" && r.path.includes("/pods/")).length;
  console.log(
    `    the plugin read the annotation from the daemon's pod cache (API GETs of the pod: ${podGets})`,
  );
  console.log(`    ip -n ${ns.name} route:`);
  console.log(indent(await routes(ns), "      "));

  header("4. The annotation is edited on the API server: a second route");
  console.log(`    ${ANNOTATION}: ${EDITED}`);
  api.setPod(withAnnotation(podSpec, EDITED));
  await waitUntil(
    "the second route in the netns",
    async () => (await routes(ns)).includes("198.51.100.0/24"),
  );
  console.log("    the daemon saw the change on its watch and re-applied the list in the pod's netns");

  header(`5. What it did: the netns, the Events on the pod, the daemon's log`);
  console.log(`    ip -n ${ns.name} route:`);
  console.log(indent(await routes(ns), "      "));
  await waitUntil("two Events on the pod", () => podEvents(api, ex.pod.name).length >= 2);
  console.log(`\n    Events on pod ${ex.pod.namespace}/${ex.pod.name} (what kubectl describe pod shows):`);
  console.log(indent(describeEvents(podEvents(api, ex.pod.name)), "      "));
  console.log("\n    daemon stdout (kubectl logs on the DaemonSet pod):");
  console.log(indent(daemon.stdout(), "      | "));
  console.log("\n    daemon stderr (its own messages):");
  console.log(indent(daemon.stderr(), "      | "));

  header("6. DEL and clean-up");
  const del = await runChain({ ...cni, cmd: "del" });
  added = false;
  if (del.code !== 0) throw new Error(`DEL failed: ${del.stdout}${del.stderr}`);
  const state = JSON.parse(await Deno.readTextFile(`${dir}/state/attachments.json`));
  console.log(`    DEL ok; attachments left in the daemon's state file: ${state.attachments.length}`);
}

if (import.meta.main) {
  if (!isRoot()) {
    console.error("demo: run as root (it creates a network namespace and a bridge)");
    Deno.exit(1);
  }
  for (const p of [IP, `${BIN_DIR}/chainsaw`, `${BIN_DIR}/cnidriver`]) {
    try {
      await Deno.stat(p);
    } catch {
      console.error(
        `demo: ${p} is missing; run it with \`deno task demo\` (it runs scripts/test_setup.ts first)`,
      );
      Deno.exit(1);
    }
  }
  const cleanup = new Cleanup();
  let code = 0;
  try {
    await demo(cleanup);
  } catch (e) {
    console.error(`\ndemo FAILED: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  } finally {
    const failures = await cleanup.run();
    console.log(
      failures.length === 0 ? "    everything removed" : `    clean-up: ${failures.length} step(s) failed`,
    );
    if (failures.length > 0) code = 1;
  }
  Deno.exit(code);
}
