/**
 * Observing a netns to check an effect (drift checks, CNI CHECK): the cheapest snapshot that covers every object
 * the effect names. Usually ONE process — `nsenter --net=PATH -- ip -j -d -batch -` with the five dump lines (the
 * batch snapshot of `_netns_batch.ts`, which has everything but IPv6 policy rules); an effect that owns an IPv6
 * rule takes the full two-process snapshot ({@link snapshotNetns}). Nothing is changed and nothing the pod wrote
 * is run: every line is chainsaw's own.
 *
 * @example
 * ```ts
 * const observed = await observeNetns("/var/run/netns/pod", bins, attachment.effect.items);
 * effectDifferences(attachment.effect.items, observed); // [] while it holds
 * ```
 * @module
 */
import { runBatch } from "./_netns_batch.ts";
import { type NetnsSnapshot, type SnapshotBinaries, SnapshotError, snapshotNetns } from "./netns_snapshot.ts";
import type { EffectItem } from "../wire/effect.ts";
import { errorText } from "../text/error_text.ts";

/** Options of {@link observeNetns}. */
export interface ObserveOptions {
  /** Bound on the process(es), in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Fail when the dump prints more than this many bytes (default 16 MiB). */
  maxOutputBytes?: number;
}

/** Whether observing `items` needs the full snapshot (an IPv6 rule: a batch line cannot show those). */
export function needsFullSnapshot(items: readonly Pick<EffectItem, "key">[]): boolean {
  return items.some((i) => i.key.startsWith("rule v6 "));
}

/**
 * A snapshot of the netns that covers every object of `items` (IPv6 rules only when `items` has one).
 *
 * @param netns the namespace path
 * @param bins absolute paths of `ip` and `nsenter`
 * @param items the effect to check
 * @param opts bounds
 * @returns the snapshot
 * @throws {SnapshotError} when the dump fails, times out or cannot be parsed
 */
export async function observeNetns(
  netns: string,
  bins: SnapshotBinaries,
  items: readonly Pick<EffectItem, "key">[],
  opts: ObserveOptions = {},
): Promise<NetnsSnapshot> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxOutputBytes = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  if (needsFullSnapshot(items)) return await snapshotNetns(netns, bins, { timeoutMs, maxOutputBytes });
  let before: NetnsSnapshot | undefined;
  let timedOut = false;
  try {
    ({ before, timedOut } = await runBatch({ ...bins, netns, commands: [], timeoutMs, maxOutputBytes }));
  } catch (e) {
    throw new SnapshotError(netns, `cannot observe ${netns}: ${errorText(e)}`, { cause: e });
  }
  if (!before) {
    throw new SnapshotError(
      netns,
      `cannot observe ${netns}: ${timedOut ? `no dump within ${timeoutMs} ms` : "ip printed no dump"}`,
    );
  }
  return before;
}
