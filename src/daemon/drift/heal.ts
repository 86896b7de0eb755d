/**
 * Healing a drifted attachment (chain key `drift: "heal"`): the objects of its effect that no longer hold are put
 * back to the value chainsaw set, the way rollback restores a netns — a full snapshot, the target snapshot with
 * those objects at chainsaw's values ({@link withValues}), then {@link restoreNetns} (phases, re-snapshots,
 * verification). Everything else in the netns is left as it is. It runs in the pod's turn of the re-apply queue
 * (`Reapplier.heal`), so it never runs beside an edit, and an edit that arrives meanwhile applies after it.
 * @module
 */
import { type EffectDifference, effectDifferences, withValues } from "../../declarative/effect.ts";
import type { NetnsSnapshot, RestoreOutcome, SnapshotBinaries } from "../../exec/netns_snapshot.ts";
import type { EffectItem } from "../../wire/effect.ts";
import { errorText } from "../../text/error_text.ts";

/** What a heal needs: a full snapshot and the restore (src/exec/netns_snapshot.ts). */
export interface HealDeps {
  snapshot(netns: string, bins: SnapshotBinaries): Promise<NetnsSnapshot>;
  restore(target: NetnsSnapshot, bins: SnapshotBinaries): Promise<RestoreOutcome>;
}

/** What a heal did. */
export interface HealOutcome {
  /** True when every object of the effect holds afterwards. */
  ok: boolean;
  /** The objects that did not hold and were set again (none: the effect held already). */
  healed: EffectDifference[];
  /** Why it failed, one line each. */
  failures: string[];
}

/**
 * Puts the objects of `items` that no longer hold back to the value chainsaw set.
 *
 * @param netns the attachment's netns
 * @param bins `ip` and `nsenter`
 * @param items the attachment's effect
 * @param deps snapshot and restore
 * @returns what it did; never throws for the netns's state (a snapshot that cannot be taken is a failure)
 */
export async function healEffect(
  netns: string,
  bins: SnapshotBinaries,
  items: readonly EffectItem[],
  deps: HealDeps,
): Promise<HealOutcome> {
  let observed: NetnsSnapshot;
  try {
    // The full snapshot: restore compares the whole netns with the target, IPv6 rules included.
    observed = await deps.snapshot(netns, bins);
  } catch (e) {
    return { ok: false, healed: [], failures: [errorText(e)] };
  }
  const healed = effectDifferences(items, observed);
  if (healed.length === 0) return { ok: true, healed, failures: [] };
  const target = withValues(observed, healed.map((d) => ({ kind: d.kind, key: d.key, value: d.want })));
  const outcome = await deps.restore(target, bins);
  return { ok: outcome.ok, healed, failures: outcome.ok ? [] : outcome.failures };
}
