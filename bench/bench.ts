/**
 * What chainsaw costs a pod: a real CNI chain (bridge + host-local) run by the real libcni driver of the tests,
 * alone and followed by chainsaw, by a Go pass-through on libcni's skel (the compiled anchor, built in this run),
 * by a minimal Node pass-through, and by a minimal Deno pass-through started exactly like chainsaw's bundle (the
 * same /bin/sh launcher line and `deno run` flags: the floor). Cases are run alternately, a small batch each per
 * round, and compared round by round. Then bursts: 20 pods ADDed at once through libcni (`cnidriver -parallel`),
 * with chainsaw (daemon up, one command each) and with the references, for per-ADD latency under load, the plugin
 * processes' summed CPU and peak RSS, and the daemon's CPU meanwhile. Each target of issue 11 is printed with its
 * figure and whether it is met.
 *
 * ```sh
 * deno task bench                 # full run; writes bench/results.md
 * deno task bench --smoke         # CI: one short round of every case, asserts nothing about timing
 * deno task bench --rounds 20 --batch 3 --plugin /tmp/other-chainsaw --out /tmp/r.md --label "variant X"
 * deno task bench --burst-pods 20 --burst-rounds 5   # the burst's size and repetitions (defaults)
 * ```
 *
 * Needs root (network namespaces), Go with Debian's libcni (golang-github-appc-cni-dev), the reference plugins
 * (containernetworking-plugins) and `node`. Everything it creates (netns, bridge, processes, scratch dir under
 * /run/chainsaw) is removed at the end, also on failure or Ctrl-C.
 * @module
 */
import { parseArgs } from "node:util";
import { launcherHeader } from "../scripts/build.ts";
import { buildGoPrograms, REPO_ROOT } from "../scripts/test_setup.ts";
import {
  BIN_DIR,
  Cleanup,
  createNetns,
  deleteLink,
  IP,
  isRoot,
  randomHex,
  REFERENCE_PLUGIN_DIR,
  run,
  uniqueName,
} from "../tests/support/netns.ts";
import {
  type FakeApiServer,
  makePod,
  type Pod,
  startFakeApiServer,
} from "../tests/support/fake_apiserver.ts";
import { type DriverStat, runBatch } from "./driver.ts";
import {
  type DaemonFeatures,
  daemonFeatures,
  type DaemonSetup,
  load,
  memoryOf,
  type RunningDaemon,
  startDaemon,
  type Throughput,
  waitForPod,
} from "./daemon_bench.ts";
import {
  fmtMs,
  fmtRatio,
  mean,
  median,
  pairedDiff,
  pairedDiffSpread,
  pairedRatio,
  pairedRatioSpread,
  quantile,
  sum,
} from "./stats.ts";

const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
const CAPABILITY = "io.kubernetes.cri.pod-annotations";
const NODE_NAME = "bench-node";
const POD = { namespace: "default", name: "bench-pod", uid: "bench-uid-1" };
const CNI_ARGS =
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD.namespace};K8S_POD_NAME=${POD.name};K8S_POD_UID=${POD.uid}`;
const ONE_COMMAND = JSON.stringify(["ip route add 192.0.2.0/24 dev CURRENT_INTERFACE"]);
const FIVE_COMMANDS = JSON.stringify([
  "ip route add 192.0.2.0/26 dev CURRENT_INTERFACE",
  "ip route add 192.0.2.64/26 dev CURRENT_INTERFACE",
  "ip route add 192.0.2.128/26 dev CURRENT_INTERFACE",
  "ip link set dev CURRENT_INTERFACE mtu 1400",
  "ip route show",
]);
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The burst's pods: pod i of `cnidriver -parallel` is `burst-pod-i` (in the fake API server and the cache). */
const BURST_ARGS =
  "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=burst-pod-%d;K8S_POD_UID=burst-uid-%d";

/** Command-line options of the benchmark. */
export interface BenchOptions {
  /** One short round of everything; no timing is meaningful. */
  smoke: boolean;
  /** Rounds (each runs every case once, in rotating order). */
  rounds: number;
  /** Iterations per case per round. */
  batch: number;
  /** Benchmark this chainsaw executable instead of bundling the tree. */
  plugin?: string;
  /** Markdown output file ("" for none). */
  out: string;
  /** Skip the daemon cases and measurements. */
  noDaemon: boolean;
  /** Free text shown in the report header (e.g. which variant of the plugin). */
  label?: string;
  /** Seconds of each daemon load test. */
  loadSeconds: number;
  /** Pods ADDed at once in a burst. */
  burstPods: number;
  /** Bursts per case (alternated like the rounds). */
  burstRounds: number;
}

/**
 * Parses the command line.
 *
 * @param args `Deno.args`
 */
export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      smoke: { type: "boolean", default: false },
      rounds: { type: "string" },
      batch: { type: "string" },
      plugin: { type: "string" },
      out: { type: "string" },
      "no-daemon": { type: "boolean", default: false },
      label: { type: "string" },
      "load-seconds": { type: "string" },
      "burst-pods": { type: "string" },
      "burst-rounds": { type: "string" },
    },
    strict: true,
  });
  const smoke = values.smoke === true;
  const num = (v: string | undefined, d: number, what: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${what} must be a whole number >= 1`);
    return n;
  };
  return {
    smoke,
    rounds: num(values.rounds, smoke ? 1 : 12, "rounds"),
    batch: num(values.batch, smoke ? 1 : 3, "batch"),
    plugin: values.plugin,
    out: values.out ?? (smoke ? "" : `${REPO_ROOT}/bench/results.md`),
    noDaemon: values["no-daemon"] === true,
    label: values.label,
    loadSeconds: values["load-seconds"] ? Number(values["load-seconds"]) : smoke ? 0.3 : 3,
    burstPods: num(values["burst-pods"], 20, "burst-pods"),
    burstRounds: num(values["burst-rounds"], smoke ? 1 : 5, "burst-rounds"),
  };
}

type Group = "acd" | "version" | "delgone";
type Kind = "base" | "floor" | "go" | "node" | "chainsaw";

/** One chain configuration measured. */
interface Variant {
  id: string;
  label: string;
  group: Group;
  kind: Kind;
  /** The plugin after bridge (none for bridge alone). */
  plugin?: Record<string, unknown>;
  cap?: Record<string, unknown>;
  /** Set when the case cannot run here; shown in the table instead of figures. */
  unavailable?: string;
  /** Counts pod GETs on the fake API server while this case runs. */
  countApi?: boolean;
}

/** Figures of one case for one verb. */
interface Series {
  /** Per round: median chain wall time of the batch, ms. */
  roundWall: number[];
  /** Per round: median wall time of the measured plugin's process, ms. */
  roundExec: number[];
  /** All chain wall times, ms. */
  wall: number[];
  /** All plugin process wall times, ms. */
  execWall: number[];
  /** All plugin process CPU times (user + system, children included), ms. */
  execCpu: number[];
  /** All plugin process peak RSS, KiB. */
  execRss: number[];
}

/** One burst case: the chain after bridge (none for bridge alone), run for all burst pods at once. */
interface BurstVariant {
  id: string;
  label: string;
  kind: Kind;
  plugin?: Record<string, unknown>;
  cap?: Record<string, unknown>;
  unavailable?: string;
}

/** Figures of one burst case, over its bursts. */
interface BurstSeries {
  /** Every pod's chain ADD wall time, ms (all bursts). */
  addWall: number[];
  /** Per burst: wall time of the whole ADD burst (first start to last end), ms. */
  burstWall: number[];
  /** Per burst: wall time of the DEL burst that follows, ms. */
  delBurstWall: number[];
  /** Per burst: user + system CPU of the case's plugin processes (children included), summed, ms. */
  pluginCpu: number[];
  /** Per burst: the same over every process of the chain (bridge, host-local too), ms. */
  chainCpu: number[];
  /** Per burst: the case's plugin processes' peak RSS, summed, KiB. */
  pluginRss: number[];
  /** Per burst: CPU the daemon (and its children) used during the ADD burst, ms (clock ticks). */
  daemonCpu: number[];
}

const VERBS: Record<Group, string[]> = {
  acd: ["ADD", "CHECK", "DEL"],
  version: ["VERSION"],
  delgone: ["DEL"],
};
const GROUP_TITLE: Record<Group, string> = {
  acd: "ADD, CHECK, DEL of a pod (netns present)",
  version: "VERSION alone",
  delgone: "DEL with the netns gone (no cached result)",
};

function emptySeries(): Series {
  return { roundWall: [], roundExec: [], wall: [], execWall: [], execCpu: [], execRss: [] };
}

async function commandOutput(argv: string[]): Promise<string> {
  try {
    const r = await run(argv);
    return (r.stdout + r.stderr).trim().split("\n")[0];
  } catch {
    return "n/a";
  }
}

function jsonKubeconfig(api: FakeApiServer): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "fake", cluster: { server: api.url, "certificate-authority-data": btoa(api.caPem) } }],
    users: [{ name: "fake-user", user: { token: api.token } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user" } }],
    "current-context": "fake",
  });
}

function burstPodList(count: number): Pod[] {
  return Array.from({ length: count }, (_, i) =>
    makePod({
      namespace: "default",
      name: `burst-pod-${i}`,
      uid: `burst-uid-${i}`,
      nodeName: NODE_NAME,
      annotations: { [ANNOTATION]: ONE_COMMAND },
    }));
}

/** User + system CPU of a process and its waited-for children so far, ms (from /proc, clock-tick resolution). */
async function cpuOfProcess(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 12-15 after the command name; USER_HZ is 100.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

function benchPods(count: number): Pod[] {
  const pods: Pod[] = [
    makePod({ ...POD, nodeName: NODE_NAME, annotations: { [ANNOTATION]: ONE_COMMAND } }),
  ];
  for (let i = 1; i < count; i++) {
    pods.push(makePod({
      namespace: `ns-${i % 7}`,
      name: `pod-${i}-${randomHex(5)}`,
      nodeName: NODE_NAME,
      labels: { app: `app-${i % 13}`, "pod-template-hash": randomHex(10) },
      annotations: i % 3 === 0
        ? { [ANNOTATION]: FIVE_COMMANDS, "kubectl.kubernetes.io/restartedAt": new Date().toISOString() }
        : { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() },
      podIP: `10.244.${i >> 8}.${i & 255}`,
    }));
  }
  // A few pods of other nodes, which the node-local watch must not keep.
  for (let i = 0; i < 5; i++) {
    pods.push(makePod({ namespace: "other", name: `far-${i}`, nodeName: "other-node" }));
  }
  return pods;
}

/** Everything the run found out, for the report. */
interface Findings {
  opts: BenchOptions;
  variants: Variant[];
  series: Map<string, Map<string, Series>>;
  burstVariants: BurstVariant[];
  bursts: Map<string, BurstSeries>;
  apiGets: Map<string, { gets: number; adds: number }>;
  env: Record<string, string>;
  daemon: DaemonReport;
  bundleBytes: number;
  started: Date;
  seconds: number;
}

interface DaemonReport {
  note?: string;
  idle?: { pods: number; rssKb: number; hwmKb: number; podCache: boolean };
  health?: Throughput;
  reports?: Throughput;
  afterReports?: { rssKb: number; hwmKb: number };
}

/**
 * Runs the whole benchmark and returns the markdown report.
 *
 * @param opts parsed options
 */
export async function runBench(opts: BenchOptions): Promise<string> {
  if (!isRoot()) {
    throw new Error("the benchmark needs root: it creates network namespaces, links and a bridge");
  }
  const started = new Date();
  const t0 = performance.now();
  const log = (s: string) => console.error(`bench: ${s}`);
  await using cleanup = new Cleanup();
  const onSignal = () => {
    log("interrupted: cleaning up");
    cleanup.run().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  cleanup.defer(() => {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }, "signal handlers");

  // --- Build: the driver and the Go pass-through (libcni skel), the chainsaw bundle, the floors. ---------------
  await buildGoPrograms(log);
  const scratch = `/run/chainsaw/test-bench-${randomHex(8)}`;
  await Deno.mkdir(`${scratch}/bin`, { recursive: true, mode: 0o700 });
  cleanup.defer(() => Deno.remove(scratch, { recursive: true }).catch(() => {}), "scratch dir");
  const bin = `${scratch}/bin`;
  const chainsaw = `${bin}/chainsaw`;
  if (opts.plugin) {
    await Deno.copyFile(opts.plugin, chainsaw);
  } else {
    const { bundleTo } = await import("../scripts/build.ts");
    const tb = performance.now();
    await bundleTo(chainsaw);
    log(`bundled chainsaw (${Math.round(performance.now() - tb)} ms)`);
  }
  await Deno.chmod(chainsaw, 0o755);
  const bundleBytes = (await Deno.stat(chainsaw)).size;
  await Deno.copyFile(`${BIN_DIR}/passthrough`, `${bin}/gopass`);
  await Deno.chmod(`${bin}/gopass`, 0o755);
  const floorJs = await Deno.readTextFile(`${REPO_ROOT}/bench/floor/deno_passthrough.js`);
  await Deno.writeTextFile(`${bin}/denopass`, launcherHeader() + floorJs, { mode: 0o755 });
  const nodePath = (await run(["/bin/sh", "-c", "command -v node"])).stdout.trim();
  if (!nodePath.startsWith("/")) {
    throw new Error("`node` is not on PATH (the Node pass-through anchor needs it)");
  }
  const nodeJs = await Deno.readTextFile(`${REPO_ROOT}/bench/floor/node_passthrough.cjs`);
  await Deno.writeTextFile(`${bin}/nodepass`, `#!${nodePath}\n${nodeJs}`, { mode: 0o755 });
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  const env = { PATH: `${denoDir}:${SYSTEM_PATH}` };

  // --- Network: one netns and one bridge for every case; a netns path that never exists for DEL-gone. ----------
  const ns = await createNetns("bench");
  cleanup.defer(() => ns.delete(), "netns");
  const bridge = uniqueName("csbn");
  cleanup.defer(() => deleteLink(bridge), "bridge");
  const goneNetns = `/var/run/netns/cs-bench-gone-${randomHex(6)}`;
  // The burst's pods each need a netns (bridge puts eth0 in it): cs-bburst-<hex>-<i>, i from 0.
  const burstPrefix = `cs-bburst-${randomHex(6)}`;
  cleanup.defer(async () => {
    for (let i = 0; i < opts.burstPods; i++) {
      await run([IP, "netns", "del", `${burstPrefix}-${i}`]).catch(() => {});
    }
  }, "burst netns");
  for (let i = 0; i < opts.burstPods; i++) {
    const r = await run([IP, "netns", "add", `${burstPrefix}-${i}`]);
    if (r.code !== 0) throw new Error(`ip netns add ${burstPrefix}-${i} failed: ${r.stderr.trim()}`);
  }

  // --- Kubernetes: the fake API server (the API case, and the daemon's pod watch). ----------------------------
  const burstPods = burstPodList(opts.burstPods);
  const api = await startFakeApiServer({ pods: [...benchPods(1), ...burstPods] });
  cleanup.defer(() => api.close(), "fake API server");
  const kubeconfigFile = `${scratch}/chainsaw.kubeconfig`;
  await Deno.writeTextFile(kubeconfigFile, jsonKubeconfig(api));
  const noDaemonSocket = `${scratch}/no-daemon.sock`;

  // --- The daemon, when this chainsaw has one. --------------------------------------------------------------
  let features: DaemonFeatures = { daemon: false, podCache: false, flags: new Set() };
  let daemon: RunningDaemon | undefined;
  let podCacheReady = false;
  let daemonNote: string | undefined;
  const daemonSetup = (): DaemonSetup => ({
    bundle: chainsaw,
    env,
    dir: scratch,
    features,
    nodeName: NODE_NAME,
    api: { host: "127.0.0.1", port: api.port, token: api.token, caPem: api.caPem, kubeconfigFile },
  });
  if (opts.noDaemon) {
    daemonNote = "skipped (--no-daemon)";
  } else {
    features = await daemonFeatures(chainsaw, env);
    if (!features.daemon) {
      daemonNote = "n/a (`chainsaw daemon --help` lists no --socket)";
    } else {
      try {
        daemon = await startDaemon(daemonSetup(), "chain");
        cleanup.defer(() => daemon?.stop(), "daemon");
        if (features.podCache) {
          podCacheReady = await waitForPod(daemon, POD, opts.smoke ? 10_000 : 20_000);
          if (!podCacheReady) log("daemon lists pod-watch flags but its socket did not serve the pod");
        }
      } catch (e) {
        daemonNote = `n/a (daemon did not start: ${(e as Error).message.split("\n")[0]})`;
        daemon = undefined;
      }
    }
  }

  // --- Cases. -------------------------------------------------------------------------------------------------
  const cs = (extra: Record<string, unknown>) => ({
    type: "chainsaw",
    daemonSocket: noDaemonSocket,
    ...extra,
  });
  const capOn = { capabilities: { [CAPABILITY]: true } };
  const runtimeCap = (value?: string) => ({
    [CAPABILITY]: value === undefined ? { "other.example/annotation": "x" } : { [ANNOTATION]: value },
  });
  const references = (group: Group): Variant[] => [
    { id: `${group}/base`, label: "bridge alone", group, kind: "base" },
    {
      id: `${group}/deno`,
      label: "+ Deno floor (empty pass-through, chainsaw's launcher)",
      group,
      kind: "floor",
      plugin: { type: "denopass" },
    },
    {
      id: `${group}/go`,
      label: "+ Go pass-through (libcni skel)",
      group,
      kind: "go",
      plugin: { type: "gopass" },
    },
    { id: `${group}/node`, label: "+ Node pass-through", group, kind: "node", plugin: { type: "nodepass" } },
  ];
  const podCacheReason = !daemon
    ? daemonNote ?? "n/a (daemon not available)"
    : !features.podCache
    ? "n/a (daemon cache not available)"
    : !podCacheReady
    ? "n/a (daemon cache not available: the socket did not serve the pod)"
    : undefined;
  const variants: Variant[] = [
    ...references("acd"),
    {
      id: "acd/cs-none",
      label: "+ chainsaw, no annotation (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(),
    },
    {
      id: "acd/cs-1",
      label: "+ chainsaw, 1 command (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(ONE_COMMAND),
    },
    {
      id: "acd/cs-5",
      label: "+ chainsaw, 5 commands (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(FIVE_COMMANDS),
    },
    {
      id: "acd/cs-reports",
      label: "+ chainsaw, 1 command (runtime annotations), daemon up",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon?.socket }),
      cap: runtimeCap(ONE_COMMAND),
      unavailable: daemon ? undefined : daemonNote ?? "n/a (daemon not available)",
    },
    {
      id: "acd/cs-5-daemon",
      label: "+ chainsaw, 5 commands (runtime annotations), daemon up",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon?.socket }),
      cap: runtimeCap(FIVE_COMMANDS),
      unavailable: daemon ? undefined : daemonNote ?? "n/a (daemon not available)",
    },
    {
      id: "acd/cs-daemon",
      label: "+ chainsaw, 1 command, pod from the daemon cache",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ daemonSocket: daemon?.socket, kubeconfig: kubeconfigFile }),
      unavailable: podCacheReason,
      countApi: true,
    },
    {
      id: "acd/cs-api",
      label: "+ chainsaw, 1 command, pod from the API server (TLS, JSON kubeconfig)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ kubeconfig: kubeconfigFile }),
      countApi: true,
    },
    ...references("version"),
    { id: "version/cs", label: "+ chainsaw", group: "version", kind: "chainsaw", plugin: cs(capOn) },
    ...references("delgone"),
    { id: "delgone/cs", label: "+ chainsaw", group: "delgone", kind: "chainsaw", plugin: cs(capOn) },
  ];
  function chainConf(name: string, plugin?: Record<string, unknown>): Record<string, unknown> {
    return {
      cniVersion: "1.0.0",
      name,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "198.51.100.0/24" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: `${scratch}/ipam`,
          },
        },
        ...(plugin ? [plugin] : []),
      ],
    };
  }
  const conflists = new Map<string, string>();
  for (const v of variants) {
    const file = `${scratch}/${v.id.replace("/", "-")}.conflist`;
    await Deno.writeTextFile(file, JSON.stringify(chainConf(`bench-${v.id.replace("/", "-")}`, v.plugin)));
    conflists.set(v.id, file);
  }
  const burstVariants: BurstVariant[] = [
    { id: "burst/base", label: "bridge alone", kind: "base" },
    { id: "burst/deno", label: "+ Deno floor", kind: "floor", plugin: { type: "denopass" } },
    { id: "burst/go", label: "+ Go pass-through (libcni skel)", kind: "go", plugin: { type: "gopass" } },
    {
      id: "burst/cs-daemon",
      label: "+ chainsaw, 1 command each (runtime annotations), daemon up",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon?.socket }),
      cap: runtimeCap(ONE_COMMAND),
      unavailable: daemon ? undefined : daemonNote ?? "n/a (daemon not available)",
    },
    {
      id: "burst/cs-nodaemon",
      label: "+ chainsaw, 1 command each (runtime annotations), no daemon",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(ONE_COMMAND),
    },
  ];
  for (const v of burstVariants) {
    const file = `${scratch}/${v.id.replace("/", "-")}.conflist`;
    await Deno.writeTextFile(file, JSON.stringify(chainConf(`bench-${v.id.replace("/", "-")}`, v.plugin)));
    conflists.set(v.id, file);
  }

  // --- Rounds: every available case once per round, in an order that rotates, a batch each. -------------------
  const active = variants.filter((v) => !v.unavailable);
  const series = new Map<string, Map<string, Series>>();
  const apiGets = new Map<string, { gets: number; adds: number }>();
  for (const v of variants) series.set(v.id, new Map(VERBS[v.group].map((verb) => [verb, emptySeries()])));
  const podGets = () =>
    api.requests.filter((r) =>
      r.method === "GET" && r.path === `/api/v1/namespaces/${POD.namespace}/pods/${POD.name}`
    )
      .length;
  // One warm-up batch per case: fills DENO_DIR's code cache for the bundles and the page cache.
  log(`warming up ${active.length} cases`);
  for (const v of active) await runCase(v, 1);
  log(`${opts.rounds} rounds × ${active.length} cases × ${opts.batch} iterations`);
  for (let r = 0; r < opts.rounds; r++) {
    const order = active.map((_, i) => active[(i + r * 3) % active.length]);
    for (const v of order) {
      const stats = await runCase(v, opts.batch);
      record(v, stats);
    }
    if (!opts.smoke) {
      log(`round ${r + 1}/${opts.rounds} done (${Math.round((performance.now() - t0) / 1000)} s)`);
    }
  }

  async function runCase(v: Variant, repeat: number): Promise<DriverStat[]> {
    const before = podGets();
    const cmd = v.group === "acd" ? "addcheckdel" : v.group === "version" ? "version" : "del";
    const res = await runBatch({
      conflist: conflists.get(v.id)!,
      cmd,
      netns: v.group === "delgone" ? goneNetns : ns.path,
      id: `bench-${v.id.replace("/", "-")}`,
      args: CNI_ARGS,
      cap: v.cap,
      path: [bin, REFERENCE_PLUGIN_DIR],
      cacheDir: `${scratch}/cache`,
      env,
      repeat,
      statsFile: `${scratch}/stats.jsonl`,
    });
    if (v.countApi) {
      const a = apiGets.get(v.id) ?? { gets: 0, adds: 0 };
      a.gets += podGets() - before;
      a.adds += res.stats.filter((s) => s.kind === "call" && s.verb === "ADD").length;
      apiGets.set(v.id, a);
    }
    return res.stats;
  }

  function record(v: Variant, stats: DriverStat[]): void {
    const pluginName = typeof v.plugin?.type === "string" ? v.plugin.type : undefined;
    for (const verb of VERBS[v.group]) {
      const s = series.get(v.id)!.get(verb)!;
      const calls = stats.filter((x) => x.kind === "call" && x.verb === verb).map((x) => x.wallUs / 1000);
      const execs = stats.filter((x) => x.kind === "exec" && x.verb === verb && x.plugin === pluginName);
      s.wall.push(...calls);
      s.roundWall.push(median(calls));
      s.execWall.push(...execs.map((x) => x.wallUs / 1000));
      s.roundExec.push(median(execs.map((x) => x.wallUs / 1000)));
      s.execCpu.push(...execs.map((x) => (x.userUs + x.sysUs) / 1000));
      s.execRss.push(...execs.map((x) => x.maxRssKb));
    }
  }

  // --- Bursts: all burst pods ADDed at once (then DELed at once), cases alternated, the daemon still up. --------
  const bursts = new Map<string, BurstSeries>();
  const activeBursts = burstVariants.filter((v) => !v.unavailable);
  for (const v of burstVariants) {
    bursts.set(v.id, {
      addWall: [],
      burstWall: [],
      delBurstWall: [],
      pluginCpu: [],
      chainCpu: [],
      pluginRss: [],
      daemonCpu: [],
    });
  }
  log(`bursts: ${opts.burstRounds} × ${activeBursts.length} cases × ${opts.burstPods} pods at once`);
  // One warm-up burst per case (code cache, page cache, the daemon's first requests).
  for (const v of activeBursts) await runBurst(v);
  for (let r = 0; r < opts.burstRounds; r++) {
    const order = activeBursts.map((_, i) => activeBursts[(i + r) % activeBursts.length]);
    for (const v of order) {
      const { add, del, daemonCpuMs } = await runBurst(v);
      const b = bursts.get(v.id)!;
      const pluginName = typeof v.plugin?.type === "string" ? v.plugin.type : undefined;
      const calls = add.filter((x) => x.kind === "call" && x.verb === "ADD");
      const execs = add.filter((x) => x.kind === "exec" && x.verb === "ADD");
      const mine = execs.filter((x) => x.plugin === pluginName);
      b.addWall.push(...calls.map((x) => x.wallUs / 1000));
      b.burstWall.push((add.find((x) => x.kind === "burst")?.wallUs ?? NaN) / 1000);
      b.delBurstWall.push((del.find((x) => x.kind === "burst")?.wallUs ?? NaN) / 1000);
      b.pluginCpu.push(pluginName ? sum(mine.map((x) => (x.userUs + x.sysUs) / 1000)) : NaN);
      b.chainCpu.push(sum(execs.map((x) => (x.userUs + x.sysUs) / 1000)));
      b.pluginRss.push(pluginName ? sum(mine.map((x) => x.maxRssKb)) : NaN);
      b.daemonCpu.push(daemonCpuMs);
    }
  }

  async function runBurst(
    v: BurstVariant,
  ): Promise<{ add: DriverStat[]; del: DriverStat[]; daemonCpuMs: number }> {
    const batch = (cmd: "add" | "del") =>
      runBatch({
        conflist: conflists.get(v.id)!,
        cmd,
        netns: `/var/run/netns/${burstPrefix}-%d`,
        id: `bench-${v.id.replace("/", "-")}`,
        args: BURST_ARGS,
        cap: v.cap,
        path: [bin, REFERENCE_PLUGIN_DIR],
        cacheDir: `${scratch}/cache`,
        env,
        repeat: 1,
        statsFile: `${scratch}/burst-stats.jsonl`,
        parallel: opts.burstPods,
      });
    const d0 = daemon ? await cpuOfProcess(daemon.pid).catch(() => NaN) : NaN;
    const add = (await batch("add")).stats;
    const d1 = daemon ? await cpuOfProcess(daemon.pid).catch(() => NaN) : NaN;
    const del = (await batch("del")).stats;
    return { add, del, daemonCpuMs: d1 - d0 };
  }

  // --- The daemon on its own: idle memory with a node's worth of pods, /healthz, report ingestion. ------------
  const daemonReport: DaemonReport = { note: daemonNote };
  if (daemon) {
    await daemon.stop();
    daemon = undefined;
    try {
      await measureDaemon();
    } catch (e) {
      daemonReport.note = `failed: ${(e as Error).message.split("\n")[0]}`;
      log(`daemon measurements failed: ${(e as Error).message}`);
    }
  }

  async function measureDaemon(): Promise<void> {
    // Exactly the 110 pods of the node (the burst's pods go).
    for (const p of burstPods) api.deletePod(p.metadata.namespace, p.metadata.name);
    const pods = benchPods(110);
    for (const p of pods) api.setPod(p);
    const d = await startDaemon(daemonSetup(), "idle");
    cleanup.defer(() => d.stop(), "idle daemon");
    try {
      let podCache = false;
      if (features.podCache) {
        const last = pods.filter((p) => p.spec.nodeName === NODE_NAME).at(-1)!;
        podCache = await waitForPod(d, {
          namespace: last.metadata.namespace,
          name: last.metadata.name,
          uid: String(last.metadata.uid),
        }, 20_000);
      }
      await new Promise((r) => setTimeout(r, opts.smoke ? 300 : 3000));
      const m = await memoryOf(d.pid);
      daemonReport.idle = { pods: podCache ? 110 : 0, ...m, podCache };
      daemonReport.health = await load(() => [d.healthUrl, {}], undefined, opts.loadSeconds, 8);
      const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
      try {
        const body = JSON.stringify(sampleReport());
        daemonReport.reports = await load(
          () => [
            "http://chainsaw/v1/reports",
            { method: "POST", headers: { "content-type": "application/json" }, body },
          ],
          client,
          opts.loadSeconds,
          8,
        );
      } finally {
        client.close();
      }
      daemonReport.afterReports = await memoryOf(d.pid);
    } finally {
      await d.stop();
    }
  }

  const [denoV, nodeV, goV, kernel, nproc] = await Promise.all([
    commandOutput([Deno.execPath(), "--version"]),
    commandOutput([nodePath, "--version"]),
    commandOutput(["go", "version"]),
    commandOutput(["uname", "-r"]),
    commandOutput(["nproc"]),
  ]);
  const findings: Findings = {
    opts,
    variants,
    series,
    burstVariants,
    bursts,
    apiGets,
    env: { deno: denoV, node: nodeV, go: goV, kernel, nproc, ip: await commandOutput([IP, "-V"]) },
    daemon: daemonReport,
    bundleBytes,
    started,
    seconds: (performance.now() - t0) / 1000,
  };
  return renderReport(findings);
}

function sampleReport(): Record<string, unknown> {
  return {
    v: 1,
    time: new Date().toISOString(),
    verb: "ADD",
    node: NODE_NAME,
    pod: POD,
    containerId: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    netns: "/var/run/netns/cni-00000000-0000-0000-0000-000000000000",
    ifname: "eth0",
    network: "bench",
    source: "daemon",
    annotation: ONE_COMMAND,
    podInterfaces: ["eth0"],
    detected: ["ip route add 192.0.2.0/24 dev eth0"],
    commands: [{
      command: "ip route add 192.0.2.0/24 dev CURRENT_INTERFACE",
      argv: ["route", "add", "192.0.2.0/24", "dev", "eth0"],
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: 2.1,
      stdout: "",
      stderr: "",
      truncated: false,
    }],
    verdict: "applied",
    durationMs: 4.2,
  };
}

// --- Report ---------------------------------------------------------------------------------------------------

function costs(f: Findings, v: Variant, verb: string): number[] {
  const base = f.series.get(`${v.group}/base`)!.get(verb)!.roundWall;
  const mine = f.series.get(v.id)!.get(verb)!.roundWall;
  return mine.map((w, r) => w - base[r]);
}

function renderReport(f: Findings): string {
  const lines: string[] = [];
  const o = f.opts;
  lines.push(`# chainsaw benchmark${o.smoke ? " (smoke run: figures are not meaningful)" : ""}`);
  lines.push("");
  lines.push(
    `${f.started.toISOString()} · nproc ${f.env.nproc} · kernel ${f.env.kernel} · ${
      f.env.deno.split(" (")[0]
    } · ` +
      `node ${f.env.node} · ${f.env.go.replace(/^go version /, "")} · ${f.env.ip}`,
  );
  lines.push("");
  lines.push(
    `${o.rounds} rounds × ${o.batch} iterations per case, cases alternated (order rotates each round), after one ` +
      `warm-up batch per case; ${o.burstRounds} bursts of ${o.burstPods} pods per burst case · chainsaw bundle ` +
      `${(f.bundleBytes / 1024).toFixed(0)} KiB` +
      `${o.plugin ? ` (${o.plugin})` : " (bundled from this tree)"}${
        o.label ? ` · ${o.label}` : ""
      } · run took ` +
      `${f.seconds.toFixed(0)} s`,
  );
  lines.push("");
  lines.push(
    "Chain = bridge + host-local, then the case's plugin, run by libcni (tests/support/bin/cnidriver). " +
      "**cost** = the chain's median wall time minus bridge alone, per round, median over rounds (ms per CNI call). " +
      "**process** = the plugin process's own wall time (fork to exit) · **CPU** = its user + system time, " +
      "children (`nsenter`/`ip`) included, mean (tick-sampled) · **RSS** = its peak resident set (median). " +
      "**÷ floor** = cost ÷ the Deno floor's cost in the same rounds (median of the per-round ratios). " +
      "The machine is shared: compare figures of one run only, and see the spreads in the targets.",
  );
  const byId = (id: string) => f.variants.find((v) => v.id === id)!;
  const floorOf = (v: Variant) => f.variants.find((x) => x.group === v.group && x.kind === "floor")!;
  for (const group of ["acd", "version", "delgone"] as Group[]) {
    lines.push("");
    lines.push(`## ${GROUP_TITLE[group]}`);
    lines.push("");
    lines.push("| case | verb | chain ms | cost ms | process ms | CPU ms | RSS MiB | ÷ floor |");
    lines.push("|---|---|---:|---:|---:|---:|---:|---:|");
    for (const v of f.variants.filter((x) => x.group === group)) {
      for (const verb of VERBS[group]) {
        if (v.unavailable) {
          lines.push(`| ${v.label} | ${verb} | ${v.unavailable} | | | | | |`);
          continue;
        }
        const s = f.series.get(v.id)!.get(verb)!;
        const cost = v.kind === "base" ? NaN : median(costs(f, v, verb));
        const vsFloor = v.kind === "base" || v.kind === "floor"
          ? NaN
          : pairedRatio(costs(f, v, verb), costs(f, floorOf(v), verb));
        lines.push(
          `| ${v.label} | ${verb} | ${fmtMs(median(s.wall))} | ${v.kind === "base" ? "—" : fmtMs(cost)} | ` +
            `${fmtMs(median(s.execWall))} | ${fmtMs(mean(s.execCpu))} | ` +
            `${Number.isFinite(median(s.execRss)) ? (median(s.execRss) / 1024).toFixed(1) : "—"} | ` +
            `${v.kind === "floor" ? "1.00×" : fmtRatio(vsFloor)} |`,
        );
      }
    }
  }

  // --- Bursts ---------------------------------------------------------------------------------------------------
  lines.push("");
  lines.push(`## Burst: ${o.burstPods} pods ADDed at once through libcni`);
  lines.push("");
  lines.push(
    `\`cnidriver -parallel ${o.burstPods}\`: every pod has its own netns and identity; all start ADD together, ` +
      "then all DEL together. **p50 / p99 ADD** = each pod's chain ADD wall time, over all bursts (p99 of " +
      `${
        o.burstRounds * o.burstPods
      } samples is close to the slowest) · per burst, median over bursts: **ADD burst** = ` +
      "first start to last end · **plugin CPU** = user + system of the case's plugin processes (their `nsenter`/`ip` " +
      "children included), summed · **chain CPU** = the same over every process of the chain (bridge, host-local) · " +
      "**Σ peak RSS** = the plugin processes' peak RSS summed (an upper bound of their concurrent memory) · " +
      "**daemon CPU** = what the daemon process (and its children) used during the ADD burst (from /proc, 10 ms " +
      "ticks; when the daemon runs the commands it shows here, not in plugin CPU).",
  );
  lines.push("");
  lines.push(
    "| case | p50 ADD ms | p99 ADD ms | ADD burst ms | DEL burst ms | plugin CPU ms | chain CPU ms | Σ peak RSS MiB | daemon CPU ms |",
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const v of f.burstVariants) {
    if (v.unavailable) {
      lines.push(`| ${v.label} | ${v.unavailable} | | | | | | | |`);
      continue;
    }
    const b = f.bursts.get(v.id)!;
    lines.push(
      `| ${v.label} | ${fmtMs(quantile(b.addWall, 0.5))} | ${fmtMs(quantile(b.addWall, 0.99))} | ` +
        `${fmtMs(median(b.burstWall))} | ${fmtMs(median(b.delBurstWall))} | ${
          fmtMs(median(b.pluginCpu))
        } | ` +
        `${fmtMs(median(b.chainCpu))} | ${
          Number.isFinite(median(b.pluginRss)) ? (median(b.pluginRss) / 1024).toFixed(0) : "—"
        } | ${fmtMs(median(b.daemonCpu))} |`,
    );
  }

  // --- Targets --------------------------------------------------------------------------------------------------
  lines.push("");
  lines.push("## Targets (issue 11)");
  lines.push("");
  lines.push(
    "Ratios and differences are taken round by round (same rounds), median over rounds; the spread is the " +
      "interquartile range of the per-round values. **CPU** compares the plugin processes' mean user + system " +
      "time instead of wall time: it moves less when other work competes for the cores (a loaded machine " +
      "stretches wall time, not CPU time), so read it next to the wall-time figure.",
  );
  lines.push("");
  lines.push("| target | measured | met |");
  lines.push("|---|---|---|");
  const target = (what: string, measured: string, ok: boolean | undefined) =>
    lines.push(`| ${what} | ${measured} | ${ok === undefined ? "n/a" : ok ? "yes" : "**no**"} |`);
  const range = ([a, b]: [number, number], fmt: (x: number) => string) => `${fmt(a)}–${fmt(b)}`;
  const cpuOf = (v: Variant, verb: string) => mean(f.series.get(v.id)!.get(verb)!.execCpu);
  for (
    const [id, verbs, what] of [
      ["acd/cs-none", ["ADD", "CHECK", "DEL"], "no annotation"],
      ["version/cs", ["VERSION"], "no annotation"],
      ["delgone/cs", ["DEL"], "netns gone, no cached result"],
    ] as Array<[string, string[], string]>
  ) {
    const v = byId(id);
    const floorV = floorOf(v);
    for (const verb of verbs) {
      const a = costs(f, v, verb);
      const b = costs(f, floorV, verb);
      const ratio = pairedRatio(a, b);
      target(
        `${what}, ${verb}: ≤ 1.25 × the Deno floor`,
        `${fmtRatio(ratio)} (spread ${range(pairedRatioSpread(a, b), fmtRatio)}; ${fmtMs(median(a))} vs ${
          fmtMs(median(b))
        } ms) · CPU ${fmtRatio(cpuOf(v, verb) / cpuOf(floorV, verb))} (${fmtMs(cpuOf(v, verb))} vs ${
          fmtMs(cpuOf(floorV, verb))
        } ms)`,
        Number.isFinite(ratio) ? ratio <= 1.25 : undefined,
      );
    }
  }
  const none = byId("acd/cs-none");
  const overNone = (id: string, limit: number, what: string, reference = false) => {
    const v = byId(id);
    if (v.unavailable) {
      if (!reference) target(what, v.unavailable, undefined);
      return;
    }
    const a = costs(f, v, "ADD");
    const b = costs(f, none, "ADD");
    const d = pairedDiff(a, b);
    const measured = `no-annotation ADD + ${fmtMs(d)} ms (spread ${
      range(pairedDiffSpread(a, b), (x) => `+${fmtMs(x)}`)
    }; ${fmtMs(median(a))} vs ${fmtMs(median(b))} ms) · CPU +${
      fmtMs(cpuOf(v, "ADD") - cpuOf(none, "ADD"))
    } ms`;
    if (reference) lines.push(`| ${what} | ${measured} | — |`);
    else target(what, measured, Number.isFinite(d) ? d <= limit : undefined);
  };
  overNone(
    "acd/cs-reports",
    8,
    "ADD, 1 command, daemon up (runtime annotations): ≤ no-annotation ADD + 8 ms",
  );
  overNone(
    "acd/cs-daemon",
    8,
    "ADD, 1 command, daemon up, pod from the daemon cache: ≤ no-annotation ADD + 8 ms",
  );
  overNone(
    "acd/cs-5-daemon",
    15,
    "ADD, 5 commands, daemon up (runtime annotations): ≤ no-annotation ADD + 15 ms",
  );
  overNone("acd/cs-1", 8, "(reference) ADD, 1 command, no daemon", true);
  overNone("acd/cs-5", 15, "(reference) ADD, 5 commands, no daemon", true);
  {
    const v = byId("acd/cs-daemon");
    const a = f.apiGets.get(v.id);
    target(
      "zero API requests when the daemon cache has the pod",
      v.unavailable ? v.unavailable : `${a?.gets ?? 0} pod GETs in ${a?.adds ?? 0} ADDs`,
      v.unavailable ? undefined : (a?.gets ?? 0) === 0,
    );
    const api = f.apiGets.get("acd/cs-api");
    if (api) {
      lines.push(`| (reference) pod from the API server | ${api.gets} pod GETs in ${api.adds} ADDs | — |`);
    }
  }
  {
    const burstFigures = (id: string) => {
      const v = f.burstVariants.find((x) => x.id === id)!;
      if (v.unavailable) return v.unavailable;
      const b = f.bursts.get(id)!;
      return `p50 ${fmtMs(quantile(b.addWall, 0.5))} / p99 ${fmtMs(quantile(b.addWall, 0.99))} ms per ADD, ` +
        `plugin CPU ${fmtMs(median(b.pluginCpu))} ms (+ daemon ${fmtMs(median(b.daemonCpu))} ms), ` +
        `Σ peak RSS ${(median(b.pluginRss) / 1024).toFixed(0)} MiB`;
    };
    lines.push(
      `| burst of ${o.burstPods} ADDs at once, daemon up, 1 command each (measured; no threshold) | chainsaw: ` +
        `${burstFigures("burst/cs-daemon")}; Go pass-through: ${burstFigures("burst/go")} | — |`,
    );
  }
  const d = f.daemon;
  target(
    "daemon idle RSS ≤ 50 MiB with 110 pods cached",
    d.idle
      ? `${(d.idle.rssKb / 1024).toFixed(1)} MiB (peak ${(d.idle.hwmKb / 1024).toFixed(1)} MiB)${
        d.idle.podCache ? "" : ", pod cache n/a: no pods cached"
      }`
      : d.note ?? "n/a",
    d.idle?.podCache ? d.idle.rssKb <= 50 * 1024 : undefined,
  );
  target(
    "daemon RSS after the report flood ≤ 100 MiB",
    d.afterReports
      ? `${(d.afterReports.rssKb / 1024).toFixed(1)} MiB (peak ${
        (d.afterReports.hwmKb / 1024).toFixed(1)
      } MiB) ` +
        `after ${d.reports?.ok ?? 0} reports in ${d.reports?.seconds.toFixed(1) ?? "?"} s`
      : d.note ?? "n/a",
    d.afterReports ? d.afterReports.rssKb <= 100 * 1024 : undefined,
  );
  lines.push("");
  lines.push(
    "Not a target any more: 3 × faster than the Node pass-through (issue 11: Deno's empty start is about " +
      "Node's, so no `deno run` plugin can be); the Node pass-through stays as a reference row.",
  );
  lines.push("");
  lines.push("## Daemon");
  lines.push("");
  if (d.note) {
    lines.push(`Daemon: ${d.note}.`);
    lines.push("");
  }
  lines.push("| measure | value |");
  lines.push("|---|---|");
  if (d.idle) {
    lines.push(
      `| idle RSS, ${
        d.idle.podCache ? "110 pods cached" : "no pod cache (n/a: daemon cache not available)"
      } | ` +
        `${(d.idle.rssKb / 1024).toFixed(1)} MiB (peak ${(d.idle.hwmKb / 1024).toFixed(1)} MiB) |`,
    );
  }
  const tp = (t: Throughput) =>
    `${Math.round(t.perSecond)}/s (${t.ok} ok, ${t.failed} failed in ${
      t.seconds.toFixed(1)
    } s, ${t.concurrency} ` +
    "concurrent keep-alive clients in the bench process)";
  if (d.health) lines.push(`| \`GET /healthz\` (TCP health address) | ${tp(d.health)} |`);
  if (d.reports) {
    lines.push(`| report ingestion, \`POST /v1/reports\` on the unix socket | ${tp(d.reports)} |`);
  }
  if (d.afterReports) {
    lines.push(
      `| RSS after the ingestion run | ${(d.afterReports.rssKb / 1024).toFixed(1)} MiB (peak ` +
        `${(d.afterReports.hwmKb / 1024).toFixed(1)} MiB) |`,
    );
  }
  lines.push("");
  return lines.join("\n");
}

if (import.meta.main) {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(2);
  }
  try {
    const md = await runBench(opts);
    console.log(md);
    if (opts.out !== "") {
      await Deno.writeTextFile(opts.out, md);
      // `deno fmt --check` (CI's check task) covers markdown: leave the file as the formatter would.
      await run([Deno.execPath(), "fmt", "--quiet", opts.out]).catch(() => undefined);
      console.error(`bench: wrote ${opts.out}`);
    }
  } catch (e) {
    console.error(`bench: FAILED: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    Deno.exit(1);
  }
}
