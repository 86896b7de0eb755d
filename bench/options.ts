/**
 * The benchmark's command line.
 * @module
 */
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../scripts/test_setup.ts";

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
