/**
 * Phase 6, rounds: every available case once per round, in an order that rotates, a batch each, after one
 * warm-up batch per case; per verb, the chain's and the plugin process's wall time, CPU and peak RSS, and the
 * pod GETs the API cases make. Its report section: one table per group of verbs.
 * @module
 */
import { REFERENCE_PLUGIN_DIR } from "../../tests/support/netns.ts";
import type { Bench } from "../context.ts";
import { type DriverStat, runBatch } from "../driver.ts";
import { CNI_ARGS, POD } from "../fixtures.ts";
import {
  emptySeries,
  type Findings,
  type Group,
  GROUP_TITLE,
  type Series,
  type Variant,
  VERBS,
} from "../findings.ts";
import { fmtMs, fmtRatio, mean, median, pairedRatio } from "../stats.ts";
import type { Build } from "./build.ts";
import type { Cases } from "./cases.ts";
import type { Kubernetes } from "./kubernetes.ts";
import type { Network } from "./network.ts";

/** What the rounds measured. */
export interface Rounds {
  /** Case id → verb → its figures. */
  series: Map<string, Map<string, Series>>;
  /** Case id → pod GETs on the fake API server and ADDs, for the cases that count them. */
  apiGets: Map<string, { gets: number; adds: number }>;
}

/**
 * Runs the rounds.
 *
 * @param bench the run
 * @param built the plugins
 * @param net the pod netns
 * @param kube the fake API server (its requests are counted)
 * @param c the cases
 */
export async function rounds(
  bench: Bench,
  built: Build,
  net: Network,
  kube: Kubernetes,
  c: Cases,
): Promise<Rounds> {
  const { opts, log } = bench;
  const active = c.variants.filter((v) => !v.unavailable);
  const series = new Map<string, Map<string, Series>>();
  const apiGets = new Map<string, { gets: number; adds: number }>();
  for (const v of c.variants) series.set(v.id, new Map(VERBS[v.group].map((verb) => [verb, emptySeries()])));
  const podGets = () =>
    kube.api.requests.filter((r) =>
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
      log(`round ${r + 1}/${opts.rounds} done (${Math.round((performance.now() - bench.t0) / 1000)} s)`);
    }
  }

  async function runCase(v: Variant, repeat: number): Promise<DriverStat[]> {
    const before = podGets();
    const cmd = v.group === "acd" ? "addcheckdel" : v.group === "version" ? "version" : "del";
    const res = await runBatch({
      conflist: c.conflists.get(v.id)!,
      cmd,
      netns: v.group === "delgone" ? net.goneNetns : net.ns.path,
      id: `bench-${v.id.replace("/", "-")}`,
      args: v.args ?? CNI_ARGS,
      cap: v.cap,
      path: [built.bin, REFERENCE_PLUGIN_DIR],
      cacheDir: `${built.scratch}/cache`,
      env: built.env,
      repeat,
      statsFile: `${built.scratch}/stats.jsonl`,
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
  return { series, apiGets };
}

/**
 * A case's cost per round: its chain's median wall time minus bridge alone's in the same round, ms.
 *
 * @param f the findings
 * @param v the case
 * @param verb the verb
 */
export function costs(f: Findings, v: Variant, verb: string): number[] {
  const base = f.series.get(`${v.group}/base`)!.get(verb)!.roundWall;
  const mine = f.series.get(v.id)!.get(verb)!.roundWall;
  return mine.map((w, r) => w - base[r]);
}

/**
 * The Deno floor of a case's group.
 *
 * @param f the findings
 * @param v the case
 */
export function floorOf(f: Findings, v: Variant): Variant {
  return f.variants.find((x) => x.group === v.group && x.kind === "floor")!;
}

/**
 * The report's tables of the rounds, one per group of verbs.
 *
 * @param f the findings
 */
export function roundsSection(f: Findings): string[] {
  const lines: string[] = [];
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
          : pairedRatio(costs(f, v, verb), costs(f, floorOf(f, v), verb));
        lines.push(
          `| ${v.label} | ${verb} | ${fmtMs(median(s.wall))} | ${v.kind === "base" ? "—" : fmtMs(cost)} | ` +
            `${fmtMs(median(s.execWall))} | ${fmtMs(mean(s.execCpu))} | ` +
            `${Number.isFinite(median(s.execRss)) ? (median(s.execRss) / 1024).toFixed(1) : "—"} | ` +
            `${v.kind === "floor" ? "1.00×" : fmtRatio(vsFloor)} |`,
        );
      }
    }
  }
  return lines;
}
