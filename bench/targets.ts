/**
 * The report's targets (issue 11), each with its figure and whether it is met: read across the phases (rounds,
 * bursts, the daemon alone).
 * @module
 */
import type { Findings, Variant } from "./findings.ts";
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
} from "./stats.ts";
import { costs, floorOf } from "./phases/rounds.ts";

/**
 * The targets table.
 *
 * @param f the findings
 */
export function targetsSection(f: Findings): string[] {
  const lines: string[] = [];
  const o = f.opts;
  const byId = (id: string) => f.variants.find((v) => v.id === id)!;
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
    const floorV = floorOf(f, v);
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
  return lines;
}
