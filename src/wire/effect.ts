/**
 * The effect of an attachment's current annotation value in declarative mode (`"mode": "declarative"`), in the
 * form the plugin sends with its attachment registration and the daemon keeps in its state file: for every
 * object chainsaw's list changed, its value in the baseline (before chainsaw's first list ran there) and the
 * value chainsaw left. See src/declarative/ for how it is computed and used, and docs/reapply.md.
 * @module
 */
import * as z from "zod/mini";

/** The object kinds an effect covers (those a netns snapshot covers). */
export const EFFECT_KINDS = ["link", "address", "route", "rule", "neighbour"] as const;
/** One of {@link EFFECT_KINDS}. */
export type EffectKind = (typeof EFFECT_KINDS)[number];

export { DEFAULT_MODE, type Mode, MODES } from "./chain_conf.ts";

/** One object chainsaw changed. */
export interface EffectItem {
  /** The object's identity, e.g. `route v4 main 192.0.3.0/24`, `link 2 mtu`. */
  key: string;
  kind: EffectKind;
  /** Its value in the baseline (`null` for a link attribute, `[]` otherwise: absent). */
  base: unknown;
  /** The value chainsaw's list left (`null` / `[]`: chainsaw deleted it). */
  set: unknown;
  /** The list's commands (argv joined by blanks) that last changed it: what keeps it in place on an edit. */
  by: string[];
}

/** An attachment's effect: the objects chainsaw owns there (none: owns nothing). */
export interface Effect {
  items: EffectItem[];
}

/** At most this many items are kept (a list changing more objects than that owns the first ones only). */
export const MAX_EFFECT_ITEMS = 2048;

/** The schema of {@link Effect} (state file and registration). */
export const EffectSchema: z.ZodMiniType<Effect> = z.object({
  items: z.array(z.object({
    key: z.string().check(z.maxLength(4096)),
    kind: z.enum(EFFECT_KINDS),
    base: z.unknown(),
    set: z.unknown(),
    by: z.array(z.string().check(z.maxLength(8192))).check(z.maxLength(256)),
  })).check(z.maxLength(MAX_EFFECT_ITEMS)),
}) as z.ZodMiniType<Effect>;
