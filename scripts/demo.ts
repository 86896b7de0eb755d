/**
 * The demo, end to end on this machine (as root, after the test set-up step):
 *
 * ```sh
 * deno task demo
 * ```
 *
 * 1. a fake Kubernetes API server (tests/support/fake_apiserver.ts) holding the gated pod of
 *    `deployments/example.yaml` (its annotation, one route, and `spec.readinessGates` on
 *    `chainsaw.cni.cncf.io/applied`), scheduled on a demo node;
 * 2. the real `chainsaw daemon` (the bundle, under the shipped permission flags) watching that node's pods with
 *    its own kubeconfig, its socket and state under `/run/chainsaw/demo-*`;
 * 3. a scratch network namespace and the example's chain (bridge + host-local on 192.0.2.0/24, then chainsaw),
 *    run by the libcni driver with a `TRACEPARENT`: the daemon runs the ADD (its log line, with the trace id),
 *    the route appears and the pod condition turns True/Applied;
 * 4. the annotation is edited on the API server: the daemon re-applies it live (a second route);
 * 5. an edit whose last command fails: the daemon rolls the re-apply back (the netns routes before and after
 *    are equal) and the condition turns False/RolledBack naming the command;
 * 6. declarative mode (the default): an edit that drops a route takes it back (the route both values set stays)
 *    and sets the interface's MTU;
 * 7. the annotation deleted: chainsaw takes back everything it set, the baseline MTU is back;
 * 8. `chainsaw explain --pod` for the pod;
 * 9. the Events on the pod and the daemon's own messages;
 * 10. DEL, and everything removed (netns, bridge, processes, directories), also when a step fails.
 * @module
 */
import { parseAllDocuments } from "yaml";
import { ANNOTATION } from "../src/annotation/annotation.ts";
import { APPLIED_CONDITION } from "../src/kube/pod_status.ts";
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
import {
  type Daemon,
  healthGet,
  runChainsaw,
  startDaemon,
  waitFor as waitUntil,
} from "../tests/daemon_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const NODE = "demo-node";
const IFNAME = "net1";
/** The edited value: the first route's command is the ADD's (kept in place), one route is added. */
const EDITED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", ' +
  '"ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]';
/** Drops the first route (taken back), keeps the second (no blip), sets the MTU. */
const DROPPED = '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", ' +
  '"ip link set dev CURRENT_INTERFACE mtu 1400"]';
/** The command of {@link FAILING} that fails: there is no such route. */
const FAILING_COMMAND = "ip route del 192.0.3.99/32 dev CURRENT_INTERFACE";
/**
 * An edit whose last command fails: the two routes of {@link EDITED} are kept (same commands), a third route is
 * added, then the failure: the whole edit is rolled back.
 */
const FAILING = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", ' +
  '"ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip route replace 203.0.113.0/24 dev CURRENT_INTERFACE", ' +
  `"${FAILING_COMMAND}"]`;
/** The runtime's span (W3C trace context), passed to the chain like a newer libcni does. */
const TRACE_ID = randomHex(32);
const TRACEPARENT = `00-${TRACE_ID}-${randomHex(16)}-01`;

type Doc = Record<string, unknown>;

/** The example's network configuration and gated pod. */
interface Example {
  conf: { cniVersion: string; name: string; plugins: Doc[] };
  pod: {
    name: string;
    namespace: string;
    annotation: string;
    readinessGates: Array<{ conditionType: string }>;
  };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | null;
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
  type PodDoc = {
    metadata: { name: string; namespace?: string; annotations: Record<string, string> };
    spec: { readinessGates?: Array<{ conditionType: string }> };
  };
  const pod = (docs.filter((d) => d.kind === "Pod") as PodDoc[])
    .find((p) => p.spec.readinessGates?.some((g) => g.conditionType === APPLIED_CONDITION));
  if (!nad || !pod) {
    throw new Error(
      `deployments/example.yaml: no NetworkAttachmentDefinition or Pod gated on ${APPLIED_CONDITION}`,
    );
  }
  return {
    conf: JSON.parse(nad.spec.config),
    pod: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace ?? "default",
      annotation: pod.metadata.annotations[ANNOTATION],
      readinessGates: pod.spec.readinessGates!,
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

function withAnnotation(api: FakeApiServer, name: string, value: string | undefined): Pod {
  // The pod as the API server has it now (its status carries chainsaw's condition), with the annotation edited
  // (deleted when `value` is undefined).
  const edited = structuredClone(api.pods().find((p) => p.metadata.name === name)!);
  const annotations = { ...edited.metadata.annotations };
  if (value === undefined) delete annotations[ANNOTATION];
  else annotations[ANNOTATION] = value;
  edited.metadata.annotations = annotations;
  return edited;
}

async function mtuOf(ns: Netns): Promise<string> {
  const r = await ns.exec([IP, "link", "show", "dev", IFNAME]);
  return /\bmtu (\d+)/.exec(r.stdout)?.[1] ?? "?";
}

function conditionOf(api: FakeApiServer, name: string): Condition | undefined {
  const p = api.pods().find((x) => x.metadata.name === name);
  return (p?.status.conditions as Condition[] | undefined)?.find((c) => c.type === APPLIED_CONDITION);
}

async function waitForCondition(
  api: FakeApiServer,
  name: string,
  status: string,
  reason: string,
): Promise<Condition> {
  await waitUntil(
    `condition ${status}/${reason} (now ${JSON.stringify(conditionOf(api, name))})`,
    () => conditionOf(api, name)?.status === status && conditionOf(api, name)?.reason === reason,
  );
  return conditionOf(api, name)!;
}

/** The condition as `kubectl get pod NAME -o jsonpath='{.status.conditions[?(@.type=="…")]}'` prints it. */
function printCondition(ex: Example, c: Condition): void {
  console.log(
    `    kubectl get pod -n ${ex.pod.namespace} ${ex.pod.name} ` +
      `-o jsonpath='{.status.conditions[?(@.type=="${APPLIED_CONDITION}")]}'`,
  );
  console.log(indent(JSON.stringify(c), "      "));
}

/** The daemon's stdout past `from`: the report blocks written since, once one ends (its `Result:` line). */
async function newReports(daemon: Daemon, from: number, verb: "ADD" | "REAPPLY"): Promise<string> {
  const pattern = new RegExp(`^\\S+ ${verb} [^\\n]*\\n(?:[^\\n]*\\n)*?Result: [^\\n]*\\n`, "m");
  await waitUntil(`the daemon's ${verb} report`, () => pattern.test(daemon.stdout().slice(from)));
  return daemon.stdout().slice(from);
}

async function demo(cleanup: Cleanup): Promise<void> {
  const ex = await readExample();
  const dir = `/run/chainsaw/demo-${randomHex(8)}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  cleanup.defer(() => Deno.remove(dir, { recursive: true }), `remove ${dir}`);

  header(
    `1. A fake API server with the gated pod ${ex.pod.namespace}/${ex.pod.name} of deployments/example.yaml`,
  );
  const podSpec = makePod({
    namespace: ex.pod.namespace,
    name: ex.pod.name,
    uid: crypto.randomUUID(),
    nodeName: NODE,
    annotations: { "k8s.v1.cni.cncf.io/networks": "test-chainsaw", [ANNOTATION]: ex.pod.annotation },
  });
  podSpec.spec.readinessGates = ex.pod.readinessGates;
  // What the kubelet reports while a readiness gate is not True yet.
  podSpec.status.conditions = [{ type: "Ready", status: "False", reason: "ReadinessGatesNotReady" }];
  const api = await startFakeApiServer({ pods: [podSpec] });
  cleanup.defer(() => api.close(), "stop the fake API server");
  const kubeconfig = `${dir}/daemon.kubeconfig`;
  await Deno.writeTextFile(kubeconfig, api.kubeconfig(), { mode: 0o600 });
  console.log(`    ${api.url}, pod on node ${NODE} with`);
  console.log(`    ${ANNOTATION}: ${ex.pod.annotation.trim()}`);
  console.log(`    spec.readinessGates: ${JSON.stringify(ex.pod.readinessGates)}`);

  header("2. The chainsaw daemon (the bundle, under its shipped permission flags)");
  const args = [
    "--no-install",
    "--no-kubeconfig",
    "--kubeconfig",
    kubeconfig,
    "--node-name",
    NODE,
    "--pod-condition",
    "gated",
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

  header(
    `3. A scratch netns and the example's chain (bridge on 192.0.2.0/24, then chainsaw): ADD, run by the daemon`,
  );
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
    env: { PATH: pathWithDeno(), TRACEPARENT },
  };
  let added = false;
  cleanup.defer(async () => {
    if (added) await runChain({ ...cni, cmd: "del" });
  }, "CNI DEL");
  let logAt = daemon.stdout().length;
  const add = await runChain({ ...cni, cmd: "add" });
  if (add.code !== 0) throw new Error(`ADD failed: ${add.stdout}${add.stderr}`);
  added = true;
  console.log(`    netns ${ns.path}, bridge ${bridge}, ${IFNAME} ${add.json?.ips?.[0]?.address}`);
  console.log(`    TRACEPARENT=${TRACEPARENT} (the runtime's span)`);
  const podGets = api.requests.filter((r) => r.method === "GET" && r.path.includes("/pods/")).length;
  console.log(
    `    the plugin handed the ADD to the daemon (POST /v1/add on its socket); the daemon took the annotation` +
      `\n    from its pod cache (API GETs of the pod: ${podGets}) and ran the list. Its log (kubectl logs):`,
  );
  const addLog = await newReports(daemon, logAt, "ADD");
  logAt += addLog.length;
  console.log(indent(addLog, "      | "));
  console.log(`    ip -n ${ns.name} route:`);
  console.log(indent(await routes(ns), "      "));
  const applied = await waitForCondition(api, ex.pod.name, "True", "Applied");
  console.log("    the pod condition (the readiness gate: the kubelet may now mark the pod Ready):");
  printCondition(ex, applied);

  header("4. The annotation is edited on the API server: the daemon re-applies it live, a second route");
  console.log(`    ${ANNOTATION}: ${EDITED}`);
  api.setPod(withAnnotation(api, ex.pod.name, EDITED));
  await waitUntil(
    "the second route in the netns",
    async () => (await routes(ns)).includes("198.51.100.0/24"),
  );
  const reapplyLog = await newReports(daemon, logAt, "REAPPLY");
  logAt += reapplyLog.length;
  console.log("    the daemon saw the change on its watch and re-applied the list in the pod's netns:");
  console.log(indent(reapplyLog, "      | "));
  console.log(`    ip -n ${ns.name} route:`);
  console.log(indent(await routes(ns), "      "));
  const still = await waitForCondition(api, ex.pod.name, "True", "Applied");
  console.log(
    `    condition still True/Applied, lastTransitionTime ${
      still.lastTransitionTime === applied.lastTransitionTime ? "unchanged" : "CHANGED"
    }`,
  );

  header("5. An edit whose last command fails: the re-apply is rolled back");
  const before = await routes(ns);
  console.log(`    ip -n ${ns.name} route (before):`);
  console.log(indent(before, "      "));
  console.log(`    ${ANNOTATION}: ${FAILING}`);
  api.setPod(withAnnotation(api, ex.pod.name, FAILING));
  const rolledBack = await waitForCondition(api, ex.pod.name, "False", "RolledBack");
  const failedLog = await newReports(daemon, logAt, "REAPPLY");
  logAt += failedLog.length;
  console.log(
    "    the daemon kept the two routes already set, added the third, the fourth command failed, it restored the\n" +
      "    netns as it was before the edit:",
  );
  console.log(indent(failedLog, "      | "));
  const after = await routes(ns);
  console.log(`    ip -n ${ns.name} route (after):`);
  console.log(indent(after, "      "));
  if (after !== before) throw new Error("the routes after the rollback differ from those before the list");
  console.log("    equal to the routes before the list");
  printCondition(ex, rolledBack);
  if (!String(rolledBack.message).includes(FAILING_COMMAND.split(" dev ")[0])) {
    throw new Error(`the condition's message does not name the failing command: ${rolledBack.message}`);
  }

  header("6. Declarative mode: an edit that drops a route takes it back, the other stays, the MTU is set");
  const mtuBefore = await mtuOf(ns);
  console.log(`    ${ANNOTATION}: ${DROPPED}`);
  api.setPod(withAnnotation(api, ex.pod.name, DROPPED));
  await waitUntil("192.0.3.0/24 taken back", async () => !(await routes(ns)).includes("192.0.3.0/24"));
  const droppedLog = await newReports(daemon, logAt, "REAPPLY");
  logAt += droppedLog.length;
  console.log(
    "    the daemon took back the route the new value no longer sets, kept the one both set, ran the rest:",
  );
  console.log(indent(droppedLog, "      | "));
  console.log(`    ip -n ${ns.name} route:`);
  console.log(indent(await routes(ns), "      "));
  console.log(`    ${IFNAME} mtu ${mtuBefore} → ${await mtuOf(ns)}`);

  header("7. The annotation deleted: chainsaw takes back all it set, the baseline MTU is back");
  api.setPod(withAnnotation(api, ex.pod.name, undefined));
  await waitUntil("the baseline MTU", async () => (await mtuOf(ns)) === mtuBefore);
  const deletedLog = await newReports(daemon, logAt, "REAPPLY");
  logAt += deletedLog.length;
  console.log(indent(deletedLog, "      | "));
  console.log(`    ip -n ${ns.name} route (the chain's own routes only):`);
  console.log(indent(await routes(ns), "      "));
  console.log(`    ${IFNAME} mtu ${await mtuOf(ns)} (the baseline)`);

  header(`8. chainsaw explain --pod ${ex.pod.namespace}/${ex.pod.name} (what it would do, running nothing)`);
  const explain = await runChainsaw([
    "explain",
    "--socket",
    socket,
    "--pod",
    `${ex.pod.namespace}/${ex.pod.name}`,
  ]);
  if (explain.code === 2) throw new Error(`chainsaw explain failed: ${explain.stderr}`);
  console.log(indent(explain.stdout + explain.stderr, "      "));
  console.log(`    (exit ${explain.code})`);

  header(`9. The Events on the pod and the daemon's own messages`);
  await waitUntil("three Events on the pod", () => podEvents(api, ex.pod.name).length >= 3);
  console.log(`    Events on pod ${ex.pod.namespace}/${ex.pod.name} (what kubectl describe pod shows):`);
  console.log(indent(describeEvents(podEvents(api, ex.pod.name)), "      "));
  console.log("\n    daemon stderr (its own messages):");
  console.log(indent(daemon.stderr(), "      | "));

  header("10. DEL and clean-up");
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
