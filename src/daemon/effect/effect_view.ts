/**
 * An attachment's effect for `chainsaw explain` (`--json` too): each object chainsaw owns with its baseline value,
 * the value chainsaw set and, observed now, whether it still holds (the same comparison as drift checks and CNI
 * CHECK).
 * @module
 */
import { describeKey, effectDifferences } from "../../declarative/effect.ts";
import { describeValue, type NetnsSnapshot, type NetObject, objectsOf } from "../../declarative/objects.ts";
import { DEFAULT_DRIFT, type DriftMode, type Mode } from "../../wire/chain_conf.ts";
import type { ExplainEffect, ExplainEffectItem } from "../../wire/explain.ts";
import type { Effect } from "../../wire/effect.ts";
import { errorText } from "../../text/error_text.ts";

/** What the view reads of a stored attachment. */
export interface EffectViewAttachment {
  mode?: Mode;
  drift?: DriftMode;
  effect?: Effect;
}

/**
 * The effect of `a`, observed with `observe` when it owns something (a failing observation is said, not thrown).
 *
 * @param a the stored attachment
 * @param observe reads its netns (covering its effect)
 * @returns the view, or undefined for an attachment without a mode (stored before declarative mode existed)
 * @example
 * ```ts
 * const view = await effectView(attachment, () => observeNetns(attachment.netns, bins, attachment.effect!.items));
 * view?.items.filter((i) => i.holds === false); // what drifted
 * ```
 */
export async function effectView(
  a: EffectViewAttachment,
  observe: () => Promise<NetnsSnapshot | Map<string, NetObject>>,
): Promise<ExplainEffect | undefined> {
  if (a.mode === undefined) return undefined;
  const items = a.effect?.items ?? [];
  const view: ExplainEffect = { mode: a.mode, drift: a.drift ?? DEFAULT_DRIFT, items: [] };
  if (items.length === 0) return view;
  let objects: Map<string, NetObject> | undefined;
  try {
    const observed = await observe();
    objects = observed instanceof Map ? observed : objectsOf(observed);
  } catch (e) {
    view.unobserved = errorText(e);
  }
  const diffs = objects ? new Map(effectDifferences(items, objects).map((d) => [d.key, d])) : undefined;
  for (const i of items) {
    const item: ExplainEffectItem = {
      key: i.key,
      kind: i.kind,
      object: describeKey(i.key, objects),
      base: describeValue(i.kind, i.base),
      set: describeValue(i.kind, i.set),
    };
    if (diffs) {
      const d = diffs.get(i.key);
      item.holds = d === undefined;
      if (d) item.now = describeValue(d.kind, d.have);
    }
    view.items.push(item);
  }
  if (diffs) view.holds = diffs.size === 0;
  return view;
}
