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
 *
 * Layout: this file runs the phases in order (bench/phases/, one file each: what it sets up or measures, and its
 * section of the report); bench/findings.ts holds what they find, bench/report.ts renders it, bench/targets.ts
 * judges it. To add a measurement: a new file in bench/phases/ exporting its phase (`async (bench, ...what it
 * needs) => its figures`) and its `...Section(f)`; call the phase below, add its figures to `Findings` and its
 * section to `renderReport`.
 * @module
 */
import { IP, isRoot, run } from "../tests/support/netns.ts";
import { Cleanup } from "../tests/support/netns.ts";
import type { Bench } from "./context.ts";
import type { Findings } from "./findings.ts";
import { type BenchOptions, parseBenchArgs } from "./options.ts";
import { renderReport } from "./report.ts";
import { build } from "./phases/build.ts";
import { network } from "./phases/network.ts";
import { kubernetes } from "./phases/kubernetes.ts";
import { chainDaemon } from "./phases/daemon.ts";
import { cases } from "./phases/cases.ts";
import { rounds } from "./phases/rounds.ts";
import { bursts } from "./phases/bursts.ts";
import { daemonAlone } from "./phases/daemon_alone.ts";
import { effectsMemory } from "./phases/effects.ts";
import { driftChecks } from "./phases/drift.ts";

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
  const bench: Bench = { opts, log, cleanup, t0 };

  const built = await build(bench);
  const net = await network(bench);
  const kube = await kubernetes(bench, built);
  const daemon = await chainDaemon(bench, built, kube);
  const c = await cases(built, net, kube, daemon);
  const measured = await rounds(bench, built, net, kube, c);
  const burstSeries = await bursts(bench, built, net, c, daemon);
  const daemonReport = await daemonAlone(bench, kube, daemon);
  const effects = await effectsMemory(bench, kube, daemon);
  const drift = await driftChecks(bench, kube, daemon);

  const findings: Findings = {
    opts,
    variants: c.variants,
    series: measured.series,
    burstVariants: c.burstVariants,
    bursts: burstSeries,
    apiGets: measured.apiGets,
    env: await environment(built.nodePath),
    daemon: daemonReport,
    effects,
    drift,
    bundleBytes: built.bundleBytes,
    started,
    seconds: (performance.now() - t0) / 1000,
  };
  return renderReport(findings);
}

/** The versions the report's header names. */
async function environment(nodePath: string): Promise<Record<string, string>> {
  const [deno, node, go, kernel, nproc] = await Promise.all([
    commandOutput([Deno.execPath(), "--version"]),
    commandOutput([nodePath, "--version"]),
    commandOutput(["go", "version"]),
    commandOutput(["uname", "-r"]),
    commandOutput(["nproc"]),
  ]);
  return { deno, node, go, kernel, nproc, ip: await commandOutput([IP, "-V"]) };
}

async function commandOutput(argv: string[]): Promise<string> {
  try {
    const r = await run(argv);
    return (r.stdout + r.stderr).trim().split("\n")[0];
  } catch {
    return "n/a";
  }
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
