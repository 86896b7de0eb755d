/**
 * What the benchmark measures and finds, in the shapes the phases fill and the report reads.
 * @module
 */
import type { Throughput } from "./daemon_bench.ts";
import type { BenchOptions } from "./options.ts";

/** The verbs a case runs: ADD+CHECK+DEL, VERSION, or DEL of a gone netns. */
export type Group = "acd" | "version" | "delgone";
/** What a case runs after bridge: nothing, a reference pass-through, or chainsaw. */
export type Kind = "base" | "floor" | "go" | "node" | "chainsaw";

/** One chain configuration measured. */
export interface Variant {
  id: string;
  label: string;
  group: Group;
  kind: Kind;
  /** The plugin after bridge (none for bridge alone). */
  plugin?: Record<string, unknown>;
  cap?: Record<string, unknown>;
  /** CNI_ARGS when not the bench pod's. */
  args?: string;
  /** Set when the case cannot run here; shown in the table instead of figures. */
  unavailable?: string;
  /** Counts pod GETs on the fake API server while this case runs. */
  countApi?: boolean;
}

/** Figures of one case for one verb. */
export interface Series {
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
export interface BurstVariant {
  id: string;
  label: string;
  kind: Kind;
  plugin?: Record<string, unknown>;
  cap?: Record<string, unknown>;
  unavailable?: string;
}

/** Figures of one burst case, over its bursts. */
export interface BurstSeries {
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

/** The verbs each group runs, in order. */
export const VERBS: Record<Group, string[]> = {
  acd: ["ADD", "CHECK", "DEL"],
  version: ["VERSION"],
  delgone: ["DEL"],
};
/** The report's heading of each group. */
export const GROUP_TITLE: Record<Group, string> = {
  acd: "ADD, CHECK, DEL of a pod (netns present)",
  version: "VERSION alone",
  delgone: "DEL with the netns gone (no cached result)",
};

/** A series with no figures yet. */
export function emptySeries(): Series {
  return { roundWall: [], roundExec: [], wall: [], execWall: [], execCpu: [], execRss: [] };
}

/** Everything the run found out, for the report. */
export interface Findings {
  opts: BenchOptions;
  variants: Variant[];
  series: Map<string, Map<string, Series>>;
  burstVariants: BurstVariant[];
  bursts: Map<string, BurstSeries>;
  apiGets: Map<string, { gets: number; adds: number }>;
  env: Record<string, string>;
  daemon: DaemonReport;
  /** Declarative mode's stored effects (phases/effects.ts). */
  effects: EffectsReport;
  /** Declarative mode's drift checks (phases/drift.ts). */
  drift: DriftReport;
  bundleBytes: number;
  started: Date;
  seconds: number;
}

/** The daemon on its own (phases/daemon_alone.ts). */
export interface DaemonReport {
  note?: string;
  idle?: { pods: number; rssKb: number; hwmKb: number; podCache: boolean };
  health?: Throughput;
  reports?: Throughput;
  afterReports?: { rssKb: number; hwmKb: number };
}

/** The daemon's drift checks of a node's worth of attachments (phases/drift.ts). */
export interface DriftReport {
  note?: string;
  attachments?: number;
  /** `--drift-check-seconds` of the measurement. */
  intervalS?: number;
  /** The measured window. */
  seconds?: number;
  /** Checks made in it, in all and by result. */
  checks?: number;
  byResult?: Record<string, number>;
  /** The daemon's CPU in it, children included. */
  cpuMs?: number;
  /** Its CPU per second with nothing to check (subtracted). */
  idleCpuMsPerS?: number;
  /** CPU per check, children included, idle subtracted. */
  perCheckMs?: number;
  /** The share of one core the checks take at the default interval (60 s). */
  coreShareAtDefault?: number;
}

/** The daemon idle with 110 stored declarative effects, and an idle deno (phases/effects.ts). */
export interface EffectsReport {
  note?: string;
  attachments?: number;
  items?: number;
  rssKb?: number;
  hwmKb?: number;
  /** An idle `deno` process: the floor's runtime. */
  floorRssKb?: number;
}
