/**
 * One observation of an attachment's effect, free of a race with its pod's sync: CNI CHECK
 * (`check_route.ts`) and the periodic drift check (`src/daemon/drift/`) both call it, so what counts as "raced"
 * is written once.
 * @module
 */
import { type EffectDifference, effectDifferences } from "../../declarative/effect.ts";
import type { NetnsSnapshot, NetObject } from "../../declarative/objects.ts";
import type { Effect } from "../../wire/effect.ts";

/** The parts of a stored attachment an observation reads. */
export interface ObservedAttachment {
  applied?: string;
  effect?: Effect;
}

/** What {@link effectDifferencesUnraced} found. */
export type UnracedOutcome =
  | { kind: "differences"; differences: EffectDifference[] }
  | { kind: "raced" }
  | { kind: "error"; error: unknown };

/** What the attachment's effect is: equal stamps, same effect. */
const stamp = (a: ObservedAttachment) => JSON.stringify([a.applied, a.effect]);

/**
 * Observes `a`'s netns and compares it with its effect, unless its pod's sync ran meanwhile.
 *
 * @param a the stored attachment (a copy)
 * @param deps `find` reads the attachment again (undefined: gone), `busy` says whether its pod's sync is waiting
 *   or running, `observe` observes its netns (throws when it cannot)
 * @returns the differences, `raced` when a sync was in flight before or after or the effect changed meanwhile,
 *   or the observation's error
 */
export async function effectDifferencesUnraced<A extends ObservedAttachment>(
  a: A,
  deps: {
    find(): A | undefined;
    busy(a: A): boolean;
    observe(a: A): Promise<NetnsSnapshot | Map<string, NetObject>>;
  },
): Promise<UnracedOutcome> {
  if (deps.busy(a)) return { kind: "raced" };
  const before = stamp(a);
  let observed: NetnsSnapshot | Map<string, NetObject>;
  try {
    observed = await deps.observe(a);
  } catch (error) {
    return { kind: "error", error };
  }
  const now = deps.find();
  if (!now || stamp(now) !== before || deps.busy(now)) return { kind: "raced" };
  return { kind: "differences", differences: effectDifferences(a.effect?.items ?? [], observed) };
}
