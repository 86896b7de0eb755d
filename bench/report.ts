/**
 * The benchmark's markdown report: a header (machine, run, how to read the figures), then each phase's section in
 * the order the phases ran, then the targets.
 * @module
 */
import type { Findings } from "./findings.ts";
import { burstsSection } from "./phases/bursts.ts";
import { daemonSection } from "./phases/daemon_alone.ts";
import { roundsSection } from "./phases/rounds.ts";
import { targetsSection } from "./targets.ts";
import { declarativeTargetsSection } from "./targets_declarative.ts";

/**
 * Renders the report.
 *
 * @param f what the run found
 */
export function renderReport(f: Findings): string {
  return [
    ...headerSection(f),
    ...roundsSection(f),
    ...burstsSection(f),
    ...targetsSection(f),
    ...declarativeTargetsSection(f),
    ...daemonSection(f),
  ].join("\n");
}

function headerSection(f: Findings): string[] {
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
  return lines;
}
