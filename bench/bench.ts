/**
 * What chainsaw costs a pod: a real CNI chain (bridge + host-local) run by the real libcni driver of the tests,
 * alone and followed by chainsaw, by a Go pass-through on libcni's skel (the compiled anchor, built in this run),
 * by a minimal Node pass-through, and by a minimal Deno pass-through started exactly like chainsaw's bundle (the
 * same /bin/sh launcher line and `deno run` flags: the floor). Cases are run alternately, a small batch each per
 * round, and compared round by round.
 *
 * ```sh
 * deno task bench                 # full run; writes bench/results.md
 * deno task bench --smoke         # CI: one short round of every case, asserts nothing about timing
 * deno task bench --rounds 20 --batch 3 --plugin /tmp/other-chainsaw --out /tmp/r.md --label "variant X"
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
import { fmtMs, fmtRatio, mean, median, pairedDiff, pairedRatio } from "./stats.ts";

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

  // --- Kubernetes: the fake API server (the API case, and the daemon's pod watch). ----------------------------
  const api = await startFakeApiServer({ pods: benchPods(1) });
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
      label: "+ chainsaw, 1 command (runtime annotations), daemon takes reports",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon?.socket }),
      cap: runtimeCap(ONE_COMMAND),
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
  const conflists = new Map<string, string>();
  for (const v of variants) {
    const file = `${scratch}/${v.id.replace("/", "-")}.conflist`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: `bench-${v.id.replace("/", "-")}`,
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
          ...(v.plugin ? [v.plugin] : []),
        ],
      }),
    );
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
      `warm-up batch per case · chainsaw bundle ${(f.bundleBytes / 1024).toFixed(0)} KiB` +
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
      "**÷ floor** = cost ÷ the Deno floor's cost in the same rounds; **Node ÷** = the Node pass-through's cost ÷ " +
      "this cost.",
  );
  for (const group of ["acd", "version", "delgone"] as Group[]) {
    lines.push("");
    lines.push(`## ${GROUP_TITLE[group]}`);
    lines.push("");
    lines.push("| case | verb | chain ms | cost ms | process ms | CPU ms | RSS MiB | ÷ floor | Node ÷ |");
    lines.push("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const v of f.variants.filter((x) => x.group === group)) {
      for (const verb of VERBS[group]) {
        if (v.unavailable) {
          lines.push(`| ${v.label} | ${verb} | ${v.unavailable} | | | | | | |`);
          continue;
        }
        const s = f.series.get(v.id)!.get(verb)!;
        const floorV = f.variants.find((x) => x.group === group && x.kind === "floor")!;
        const nodeV = f.variants.find((x) => x.group === group && x.kind === "node")!;
        const cost = v.kind === "base" ? NaN : median(costs(f, v, verb));
        const vsFloor = v.kind === "base" || v.kind === "floor"
          ? NaN
          : pairedRatio(costs(f, v, verb), costs(f, floorV, verb));
        const nodeOver = v.kind === "chainsaw" ? pairedRatio(costs(f, nodeV, verb), costs(f, v, verb)) : NaN;
        lines.push(
          `| ${v.label} | ${verb} | ${fmtMs(median(s.wall))} | ${v.kind === "base" ? "—" : fmtMs(cost)} | ` +
            `${fmtMs(median(s.execWall))} | ${fmtMs(mean(s.execCpu))} | ` +
            `${Number.isFinite(median(s.execRss)) ? (median(s.execRss) / 1024).toFixed(1) : "—"} | ` +
            `${v.kind === "floor" ? "1.00×" : fmtRatio(vsFloor)} | ${fmtRatio(nodeOver)} |`,
        );
      }
    }
  }
  lines.push("");
  lines.push("## Targets");
  lines.push("");
  lines.push("| target | measured | met |");
  lines.push("|---|---|---|");
  const target = (what: string, measured: string, ok: boolean | undefined) =>
    lines.push(`| ${what} | ${measured} | ${ok === undefined ? "n/a" : ok ? "yes" : "**no**"} |`);
  const byId = (id: string) => f.variants.find((v) => v.id === id)!;
  for (
    const [id, verbs] of [["acd/cs-none", ["ADD", "CHECK", "DEL"]], ["version/cs", ["VERSION"]], [
      "delgone/cs",
      ["DEL"],
    ]] as Array<[string, string[]]>
  ) {
    const v = byId(id);
    const floorV = f.variants.find((x) => x.group === v.group && x.kind === "floor")!;
    const nodeV = f.variants.find((x) => x.group === v.group && x.kind === "node")!;
    for (const verb of verbs) {
      const ratio = pairedRatio(costs(f, v, verb), costs(f, floorV, verb));
      target(
        `${v.group === "acd" ? "no annotation" : GROUP_TITLE[v.group]}, ${verb}: chainsaw ≤ 1.25 × floor`,
        `${fmtRatio(ratio)} (${fmtMs(median(costs(f, v, verb)))} vs ${
          fmtMs(median(costs(f, floorV, verb)))
        } ms)`,
        Number.isFinite(ratio) ? ratio <= 1.25 : undefined,
      );
      const nodeOver = pairedRatio(costs(f, nodeV, verb), costs(f, v, verb));
      target(
        `${v.group === "acd" ? "no annotation" : GROUP_TITLE[v.group]}, ${verb}: ≥ 3 × faster than Node`,
        fmtRatio(nodeOver),
        Number.isFinite(nodeOver) ? nodeOver >= 3 : undefined,
      );
    }
  }
  {
    const v5 = byId("acd/cs-5");
    const floorV = byId("acd/deno");
    const extra = pairedDiff(costs(f, v5, "ADD"), costs(f, floorV, "ADD"));
    target(
      "ADD with 5 commands ≤ floor + 5 × 2.5 ms",
      `floor + ${fmtMs(extra)} ms`,
      Number.isFinite(extra) ? extra <= 12.5 : undefined,
    );
  }
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
