/**
 * The report's targets of declarative mode (issue 17), each with its figure and whether it is met: read across
 * the rounds (ADD with the daemon up over the no-annotation ADD, as a ratio to the Deno floor's cost in the same
 * round), the bursts (p50 against the floor's burst, the daemon's CPU per ADD) and the stored effects' memory.
 * @module
 */
import type { Findings } from "./findings.ts";
import { fmtMs, fmtRatio, median, quantile } from "./stats.ts";
import { costs, floorOf } from "./phases/rounds.ts";

/**
 * The declarative targets table.
 *
 * @param f the findings
 */
export function declarativeTargetsSection(f: Findings): string[] {
  const lines: string[] = [];
  const byId = (id: string) => f.variants.find((v) => v.id === id)!;
  lines.push("");
  lines.push("## Targets (issue 17, declarative mode)");
  lines.push("");
  lines.push(
    "ADD rows: (case − no-annotation ADD) ÷ the Deno floor's cost, round by round (same rounds), median over " +
      "rounds; the baseline snapshot and the per-command attribution are included (one `ip -j -d -batch` " +
      "process per ADD). No snapshot at all for a pod without the annotation or with a list that only reads: " +
      "tested, not measured (tests/declarative_exec_test.ts, src/daemon/add/add_route_test.ts).",
  );
  lines.push("");
  lines.push("| target | measured | met |");
  lines.push("|---|---|---|");
  const target = (what: string, measured: string, ok: boolean | undefined) =>
    lines.push(`| ${what} | ${measured} | ${ok === undefined ? "n/a" : ok ? "yes" : "**no**"} |`);
  const none = byId("acd/cs-none");
  const floor = floorOf(f, none);
  const overFloor = (id: string, limit: number | undefined, what: string) => {
    const v = byId(id);
    if (!v || v.unavailable) {
      if (limit !== undefined) target(what, v?.unavailable ?? "n/a", undefined);
      return;
    }
    const a = costs(f, v, "ADD");
    const b = costs(f, none, "ADD");
    const fl = costs(f, floor, "ADD");
    const ratios = a.map((x, r) => (x - b[r]) / fl[r]).filter(Number.isFinite);
    const ratio = median(ratios);
    const measured =
      `no-annotation ADD + ${fmtRatio(ratio)} × the floor (+${fmtMs(median(a) - median(b))} ms; ` +
      `floor ${fmtMs(median(fl))} ms)`;
    if (limit === undefined) lines.push(`| ${what} | ${measured} | — |`);
    else target(what, measured, Number.isFinite(ratio) ? ratio <= limit : undefined);
  };
  overFloor(
    "acd/cs-daemon",
    0.3,
    "ADD, 1 command, daemon up, pod in its cache: ≤ no-annotation ADD + 0.3 × the floor",
  );
  overFloor("acd/cs-reports", 0.3, "ADD, 1 command, daemon up (runtime annotations): ≤ + 0.3 × the floor");
  overFloor("acd/cs-5-daemon", 0.4, "ADD, 5 commands, daemon up (runtime annotations): ≤ + 0.4 × the floor");
  overFloor("acd/cs-5-daemon-imp", undefined, "(reference) ADD, 5 commands, daemon up, imperative mode");
  {
    const cs = f.bursts.get("burst/cs-daemon");
    const fl = f.bursts.get("burst/deno");
    const v = f.burstVariants.find((x) => x.id === "burst/cs-daemon");
    if (!cs || !fl || v?.unavailable) {
      target(
        `burst of ${f.opts.burstPods}: p50 ≤ 1.15 × the floor's burst`,
        v?.unavailable ?? "n/a",
        undefined,
      );
      target("daemon CPU per ADD ≤ 10 ms, children included", v?.unavailable ?? "n/a", undefined);
    } else {
      const ratio = quantile(cs.addWall, 0.5) / quantile(fl.addWall, 0.5);
      target(
        `burst of ${f.opts.burstPods} ADDs, 1 command each, daemon up: p50 ≤ 1.15 × the floor's burst`,
        `${fmtRatio(ratio)} (p50 ${fmtMs(quantile(cs.addWall, 0.5))} vs ${
          fmtMs(quantile(fl.addWall, 0.5))
        } ms)`,
        Number.isFinite(ratio) ? ratio <= 1.15 : undefined,
      );
      const perAdd = median(cs.daemonCpu) / f.opts.burstPods;
      target(
        "daemon CPU per ADD ≤ 10 ms, children included (the burst's)",
        `${fmtMs(perAdd)} ms (${fmtMs(median(cs.daemonCpu))} ms per burst of ${f.opts.burstPods})`,
        Number.isFinite(perAdd) ? perAdd <= 10 : undefined,
      );
    }
  }
  {
    const e = f.effects;
    const ok = e.rssKb !== undefined && e.floorRssKb !== undefined;
    target(
      "daemon idle RSS with 110 effects stored ≤ the floor's RSS + 20 MiB",
      ok
        ? `${(e.rssKb! / 1024).toFixed(1)} MiB (peak ${
          (e.hwmKb! / 1024).toFixed(1)
        } MiB) with ${e.attachments} ` +
          `attachments, ${e.items} objects; an idle deno ${(e.floorRssKb! / 1024).toFixed(1)} MiB: + ${
            ((e.rssKb! - e.floorRssKb!) / 1024).toFixed(1)
          } MiB`
        : e.note ?? "n/a",
      ok ? e.rssKb! - e.floorRssKb! <= 20 * 1024 : undefined,
    );
  }
  {
    const d = f.drift;
    const ok = d.coreShareAtDefault !== undefined && Number.isFinite(d.coreShareAtDefault);
    const results = Object.entries(d.byResult ?? {}).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`);
    target(
      `drift checks of ${d.attachments ?? 110} attachments at the default interval (60 s) ≤ 1 % of one core`,
      ok
        ? `${(d.coreShareAtDefault! * 100).toFixed(2)} % (${
          fmtMs(d.perCheckMs!)
        } ms CPU per check, children ` +
          `included, idle ${fmtMs(d.idleCpuMsPerS!)} ms/s subtracted; ${d.checks} checks in ${
            d.seconds!.toFixed(1)
          } s at --drift-check-seconds ${d.intervalS}: ${results.join(", ")})`
        : d.note ?? "n/a",
      ok ? d.coreShareAtDefault! <= 0.01 : undefined,
    );
  }
  return lines;
}
