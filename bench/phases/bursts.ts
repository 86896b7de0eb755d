/**
 * Phase 7, bursts: all burst pods ADDed at once through libcni (`cnidriver -parallel`), then DELed at once, cases
 * alternated, the chain daemon still up; each pod's ADD wall time, the burst's, the plugin processes' summed CPU
 * and peak RSS, the daemon's CPU meanwhile. Its report section: the burst table.
 * @module
 */
import { REFERENCE_PLUGIN_DIR } from "../../tests/support/netns.ts";
import type { Bench } from "../context.ts";
import { type DriverStat, runBatch } from "../driver.ts";
import { BURST_ARGS } from "../fixtures.ts";
import type { BurstSeries, BurstVariant, Findings } from "../findings.ts";
import { fmtMs, median, quantile, sum } from "../stats.ts";
import type { Build } from "./build.ts";
import type { Cases } from "./cases.ts";
import type { ChainDaemon } from "./daemon.ts";
import type { Network } from "./network.ts";

/**
 * Runs the bursts.
 *
 * @param bench the run
 * @param built the plugins
 * @param net the burst pods' netns
 * @param c the cases
 * @param daemon the chain daemon (its CPU is sampled), if any
 * @returns case id → its figures
 */
export async function bursts(
  bench: Bench,
  built: Build,
  net: Network,
  c: Cases,
  daemon: ChainDaemon,
): Promise<Map<string, BurstSeries>> {
  const { opts, log } = bench;
  const series = new Map<string, BurstSeries>();
  const activeBursts = c.burstVariants.filter((v) => !v.unavailable);
  for (const v of c.burstVariants) {
    series.set(v.id, {
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
      const b = series.get(v.id)!;
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
        conflist: c.conflists.get(v.id)!,
        cmd,
        netns: `/var/run/netns/${net.burstPrefix}-%d`,
        id: `bench-${v.id.replace("/", "-")}`,
        args: BURST_ARGS,
        cap: v.cap,
        path: [built.bin, REFERENCE_PLUGIN_DIR],
        cacheDir: `${built.scratch}/cache`,
        env: built.env,
        repeat: 1,
        statsFile: `${built.scratch}/burst-stats.jsonl`,
        parallel: opts.burstPods,
      });
    const d0 = daemon.running ? await cpuOfProcess(daemon.running.pid).catch(() => NaN) : NaN;
    const add = (await batch("add")).stats;
    const d1 = daemon.running ? await cpuOfProcess(daemon.running.pid).catch(() => NaN) : NaN;
    const del = (await batch("del")).stats;
    return { add, del, daemonCpuMs: d1 - d0 };
  }
  return series;
}

/** User + system CPU of a process and its waited-for children so far, ms (from /proc, clock-tick resolution). */
async function cpuOfProcess(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 12-15 after the command name; USER_HZ is 100.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

/**
 * The report's burst table.
 *
 * @param f the findings
 */
export function burstsSection(f: Findings): string[] {
  const lines: string[] = [];
  const o = f.opts;
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
  return lines;
}
