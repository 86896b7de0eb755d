/**
 * Planning a new value on an attachment in declarative mode: which objects of the old value's effect are left
 * alone (someone changed them since chainsaw set them), which stay in place because the new list has the command
 * that set them (no blip), which go back to their baseline before the new list runs, and which commands of the
 * new list need not run again. Pure: no I/O.
 *
 * @example
 * ```ts
 * const plan = planEdit(attachment.effect.items, await snapshotNetns(netns, bins), ["route add 192.0.3.0/24 dev eth0"]);
 * await restoreNetns(takeBackTarget(observed, plan.takeBack), bins);
 * // run the new list without plan.skip, then composeEffect(plan.kept, …)
 * ```
 * @module
 */
import { type EffectDifference, effectDifferences } from "./effect.ts";
import type { NetnsSnapshot, NetObject } from "./objects.ts";
import type { EffectItem } from "../wire/effect.ts";

/** What a new value does to the old value's effect. */
export interface EditPlan {
  /** Changed since chainsaw set them: not taken back, not owned any more (reported). */
  leftAlone: EffectDifference[];
  /** Still as chainsaw set them and set by a command the new list has too: they stay in place. */
  kept: EffectItem[];
  /** Still as chainsaw set them, and the new list does not have their command: back to baseline first. */
  takeBack: EffectItem[];
  /**
   * Commands of the new list (normalised text) that set objects of the old effect: not run again (their objects
   * are kept or left alone), so an identical `add` never fails with "File exists" nor a `del` with "No such
   * process".
   */
  skip: Set<string>;
}

/**
 * Plans a new value.
 *
 * @param effect the old value's effect items
 * @param observed the netns now (or its objects)
 * @param newCommands the new list's commands, normalised the way effect items name them (argv joined by blanks)
 * @returns the plan
 */
export function planEdit(
  effect: readonly EffectItem[],
  observed: NetnsSnapshot | Map<string, NetObject>,
  newCommands: readonly string[],
): EditPlan {
  const leftAlone = effectDifferences(effect, observed);
  const changed = new Set(leftAlone.map((d) => d.key));
  const wanted = new Set(newCommands);
  const kept: EffectItem[] = [];
  const takeBack: EffectItem[] = [];
  const skip = new Set<string>();
  for (const item of effect) {
    for (const c of item.by) if (wanted.has(c)) skip.add(c);
    if (changed.has(item.key)) continue;
    if (item.by.some((c) => wanted.has(c))) kept.push(item);
    else takeBack.push(item);
  }
  return { leftAlone, kept, takeBack, skip };
}
