/**
 * Snapshot and restore of the network-namespace state chainsaw's commands can change, for all-or-nothing apply
 * (`onError: "rollback"`): take a {@linkcode NetnsSnapshot} before a list runs, and when a command fails,
 * {@linkcode restoreNetns} makes the netns equal to it again.
 *
 * **What is snapshotted.** Routes of every table, IPv4 and IPv6 (`ip -j -d route show table all`); policy rules
 * of both families; addresses; link attributes (`ip -j -d link show`: name, mtu, admin state, hardware and
 * broadcast address, txqueuelen, alias, group, arp/multicast/allmulticast/promisc/dynamic/trailers flags,
 * master, addrgenmode, gso/gro sizes, and everything else the dump shows, which is compared even where it cannot
 * be set); permanent neighbours of both families. Kernel-managed fields are left out of the comparison:
 * statistics, bridge timers, address lifetimes and `tentative`/`deprecated`, operstate, `qdisc`, carrier flags
 * (`LOWER_UP`, `NO-CARRIER`, …), route `expires`/`linkdown`, neighbour timers — and the `local` route of an IPv6
 * address still in duplicate address detection, which the kernel adds when DAD ends.
 *
 * **Cost.** A snapshot is two `ip -j -d -batch -` processes (one `-4`, one `-6`, run concurrently), each
 * answering several `show` lines from stdin: iproute2 6.1 prints one JSON document per batch line. The family
 * split is needed because route and rule JSON does not name the family and `ip rule show` shows IPv4 only.
 *
 * **How restore works, and why this way.** It takes a fresh snapshot, diffs it against the saved one and runs
 * the difference as individual `ip` commands through the command runner (`nsenter --net=PATH -- ip …`, clean
 * environment, per-command timeout), in phases: links (deleted-and-created links, name, attributes, admin state)
 * → addresses → routes (all tables, both families) → rules → neighbours, re-snapshotting after the link and
 * address phases because setting a link down drops its routes, IPv6 addresses and neighbours, and deleting an
 * address drops the routes through it. Kernel-generated routes (`proto kernel`, the local table) come back with
 * their addresses and links and are only touched if still different afterwards. Then it snapshots again:
 * restored means {@linkcode diffSnapshots} is empty; if not, another pass runs (at most `maxPasses`, all within
 * `timeoutMs`). Why not iproute2's `save`/`restore`: it covers neither links nor neighbours, its binary format
 * cannot be compared with the JSON dumps, and it only adds, so everything would have to be flushed first —
 * kernel routes included — instead of touching only what the commands changed. Why individual commands instead
 * of one `-batch -`: each failure comes with its own exit code and message, values (an alias with blanks) need
 * no batch-line quoting, and restore is the rare failure path, where a few milliseconds per command are cheap.
 * What cannot be undone with `ip` (a deleted link) is reported, never papered over.
 *
 * Nothing here reads a pod's annotation: every argv is built from chainsaw's own snapshot.
 *
 * ```ts
 * const bins = { ipPath: "/usr/sbin/ip", nsenterPath: "/usr/bin/nsenter" };
 * const before = await snapshotNetns("/var/run/netns/pod", bins);
 * // … a command fails …
 * const outcome = await restoreNetns(before, bins);
 * if (!outcome.ok) console.error(outcome.failures.join("\n"));
 * ```
 * @module
 */
import { describeFailure, runInNetns, succeeded } from "./runner.ts";
import { takeDumps } from "./_snapshot_dump.ts";
import { diffSnapshots } from "../netns/diff.ts";
import { buildSnapshot, DumpError, type NetnsSnapshot } from "../netns/model.ts";
import {
  planAddresses,
  planLinks,
  planNeighbours,
  type Planner,
  planRoutes,
  planRules,
} from "./_snapshot_plan.ts";
import { errorText } from "../text/error_text.ts";

export { diffSnapshots };
export type { Entry, NetnsSnapshot } from "../netns/model.ts";

/** Where `ip` and `nsenter` are (absolute paths, as resolved by `src/exec/binaries.ts`). */
export interface SnapshotBinaries {
  /** Absolute path of `ip`. */
  ipPath: string;
  /** Absolute path of `nsenter`. */
  nsenterPath: string;
}

/** Options of {@linkcode snapshotNetns}. */
export interface SnapshotOptions {
  /** Bound on each of the two dump processes, in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Fail when a dump prints more than this many bytes (default 16 MiB). */
  maxOutputBytes?: number;
}

/** Options of {@linkcode restoreNetns}. */
export interface RestoreOptions {
  /** Bound on the whole restore, snapshots included, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Bound on each command, in milliseconds (default 2000, never beyond the total bound). */
  commandTimeoutMs?: number;
  /** Restore passes (snapshot, fix, verify) before giving up (default 3). */
  maxPasses?: number;
}

/** One command the restore ran. */
export interface RestoreStep {
  /** Arguments given to `ip`. */
  argv: string[];
  /** Whether it succeeded. */
  ok: boolean;
  /** The failure, when it failed (the runner's one-line description). */
  error?: string;
}

/** What {@linkcode restoreNetns} did. */
export type RestoreOutcome =
  | {
    /** The netns equals the snapshot again. */
    ok: true;
    /** Passes used (1 unless a first pass left a difference). */
    passes: number;
    /** Every command run, in order (a failed one may have been made good by a later pass). */
    steps: RestoreStep[];
    durationMs: number;
  }
  | {
    /** The netns still differs from the snapshot. */
    ok: false;
    passes: number;
    steps: RestoreStep[];
    durationMs: number;
    /** Why, one line each: failed commands of the last pass, what cannot be restored, what still differs. */
    failures: string[];
  };

/** A snapshot could not be taken (the netns is gone, `ip` failed or timed out, unparseable output). */
export class SnapshotError extends Error {
  /** The namespace path. */
  readonly netns: string;
  /**
   * @param netns the namespace path
   * @param message what went wrong
   * @param options the underlying error
   */
  constructor(netns: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SnapshotError";
    this.netns = netns;
  }
}

const DEFAULT_SNAPSHOT_TIMEOUT_MS = 2000;
const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const DEFAULT_RESTORE_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
const DEFAULT_MAX_PASSES = 3;

/**
 * Takes a snapshot of the netns at `netns` (`/var/run/netns/NAME` or `/proc/PID/ns/net`).
 *
 * @param netns the namespace path
 * @param bins absolute paths of `ip` and `nsenter`
 * @param opts bounds
 * @returns the snapshot
 * @throws {SnapshotError} when a dump fails, times out or cannot be parsed
 * @example
 * ```ts
 * const snap = await snapshotNetns("/var/run/netns/pod", { ipPath: "/usr/sbin/ip", nsenterPath: "/usr/bin/nsenter" });
 * console.log(snap.routes.length);
 * ```
 */
export async function snapshotNetns(
  netns: string,
  bins: SnapshotBinaries,
  opts: SnapshotOptions = {},
): Promise<NetnsSnapshot> {
  try {
    const dumps = await takeDumps({
      ipPath: bins.ipPath,
      nsenterPath: bins.nsenterPath,
      netns,
      timeoutMs: opts.timeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS,
      maxOutputBytes: opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    });
    return buildSnapshot(netns, dumps);
  } catch (e) {
    const why = e instanceof DumpError ? e.message : `unexpected error: ${String(e)}`;
    throw new SnapshotError(netns, `cannot snapshot ${netns}: ${why}`, { cause: e });
  }
}

/** The phases in the order they must run; `resnapshot`: later phases depend on what this one changed. */
const PHASES: ReadonlyArray<{ plan: Planner; resnapshot: boolean }> = [
  { plan: planLinks, resnapshot: true },
  { plan: planAddresses, resnapshot: true },
  { plan: planRoutes, resnapshot: false },
  { plan: planRules, resnapshot: false },
  { plan: planNeighbours, resnapshot: false },
];

class OutOfTime extends Error {}

/**
 * Makes the netns the snapshot was taken in equal to it again, using only `ip`, within a total time bound.
 * Never throws for the netns's state: a restore that cannot finish returns `ok: false` with the reasons.
 *
 * @param snapshot what to restore (from {@linkcode snapshotNetns})
 * @param bins absolute paths of `ip` and `nsenter`
 * @param opts bounds
 * @returns `ok: true` when a final snapshot equals `snapshot`, else the failures
 * @example
 * ```ts
 * const outcome = await restoreNetns(before, bins, { timeoutMs: 3000 });
 * if (!outcome.ok) throw new Error(`rollback failed: ${outcome.failures.join("; ")}`);
 * ```
 */
export async function restoreNetns(
  snapshot: NetnsSnapshot,
  bins: SnapshotBinaries,
  opts: RestoreOptions = {},
): Promise<RestoreOutcome> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RESTORE_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxPasses = Math.max(1, opts.maxPasses ?? DEFAULT_MAX_PASSES);
  const steps: RestoreStep[] = [];
  const remaining = () => Math.floor(deadline - performance.now());
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;

  const snap = async (): Promise<NetnsSnapshot> => {
    const left = remaining();
    if (left <= 0) throw new OutOfTime();
    return await snapshotNetns(snapshot.netns, bins, {
      timeoutMs: Math.min(DEFAULT_SNAPSHOT_TIMEOUT_MS, left),
    });
  };
  const run = async (argv: string[]): Promise<RestoreStep> => {
    const left = remaining();
    if (left <= 0) throw new OutOfTime();
    const r = await runInNetns(`ip ${argv.join(" ")}`, argv, {
      ipPath: bins.ipPath,
      nsenterPath: bins.nsenterPath,
      netns: snapshot.netns,
      timeoutMs: Math.min(commandTimeoutMs, left),
      maxOutputBytes: 64 * 1024,
    });
    const step: RestoreStep = succeeded(r)
      ? { argv, ok: true }
      : { argv, ok: false, error: describeFailure(r) };
    steps.push(step);
    return step;
  };

  let passes = 0;
  let failures: string[] = [];
  try {
    let current = await snap();
    for (;;) {
      passes++;
      failures = [];
      let ran = 0;
      for (const phase of PHASES) {
        const plan = phase.plan(snapshot, current);
        failures.push(...plan.problems);
        for (const argv of plan.commands) {
          const step = await run(argv);
          ran++;
          if (!step.ok) failures.push(step.error!);
        }
        if (phase.resnapshot && plan.commands.length > 0) current = await snap();
      }
      if (ran > 0) current = await snap();
      const differences = diffSnapshots(snapshot, current);
      if (differences.length === 0) return { ok: true, passes, steps, durationMs: elapsed() };
      if (ran === 0 || passes >= maxPasses) {
        failures.push(...differences.map((d) => `still differs: ${d}`));
        break;
      }
    }
  } catch (e) {
    if (e instanceof OutOfTime) failures.push(`restore ran out of its ${timeoutMs} ms bound`);
    else failures.push(errorText(e));
  }
  return { ok: false, passes, steps, durationMs: elapsed(), failures };
}
