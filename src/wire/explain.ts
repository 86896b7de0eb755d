/**
 * `chainsaw explain` on the daemon socket: what the daemon would do with a pod's current annotation on each of
 * the pod's attachments on this node, without running anything.
 *
 * | request | answer |
 * |---|---|
 * | `GET /v1/explain?pod=NAMESPACE/NAME` | 200 {@link ExplainAnswer} |
 * | `pod` missing or not `namespace/name` | 400 |
 * | no attachment of that pod on this node | 404 |
 * | no pod cache (no pod watch), or not synced yet | 503 |
 *
 * Per attachment: the commands of the annotation for it (picked by interface, NAD, chain name or `*`) with `CURRENT_INTERFACE` substituted and each
 * one's policy verdict (the same policy a re-apply is checked against: the node's, narrowed by the chain's), the
 * problems that refuse the list as a whole (malformed annotation, invalid policy, a limit), and what a re-apply
 * would do now (the re-apply planner's decision: e.g. the value is already applied, nothing to re-apply), and
 * what chainsaw owns there now (its effect: each object's baseline value, the value chainsaw set, and whether it
 * still holds — the daemon observes the netns with one read-only `ip` process); for the pod, the keys that name
 * none of its attachments.
 * @module
 */
import * as z from "zod/mini";
import { DRIFT_MODES, MODES, ON_ERROR_MODES } from "./chain_conf.ts";
import { EFFECT_KINDS } from "./effect.ts";
import { ROUTES } from "./routes.ts";

/** One command of the annotation and the policy's verdict on it. */
export const ExplainCommandSchema = z.object({
  /** The command as written in the annotation. */
  source: z.string(),
  /** The arguments given to `ip`, after `CURRENT_INTERFACE` substitution (empty when it cannot be split). */
  argv: z.array(z.string()),
  allowed: z.boolean(),
  /** The stable rule id: a rule's id, `escape:…`, `parse:…`, `namespace:…`, `default-deny`. */
  rule: z.string(),
  /** The allowing rule as written in the policy. */
  ruleText: z.optional(z.string()),
  /** Why it is refused. */
  reason: z.optional(z.string()),
});

/** A command's explanation. */
export type ExplainCommand = z.infer<typeof ExplainCommandSchema>;

/** One object chainsaw owns in an attachment: its baseline value, the value chainsaw set, and whether it holds. */
export const ExplainEffectItemSchema = z.object({
  /** The object's identity in the state file (`route v4 main 192.0.3.0/24`, `link 2 mtu`). */
  key: z.string(),
  kind: z.enum(EFFECT_KINDS),
  /** The object for people (a link by its name: `link eth0 mtu`). */
  object: z.string(),
  /** Its value in the baseline (before chainsaw's first list there), in `ip` words; `absent`: there was none. */
  base: z.string(),
  /** The value chainsaw set; `absent`: chainsaw deleted it. */
  set: z.string(),
  /** Whether it still has the value chainsaw set; absent when the netns was not observed. */
  holds: z.optional(z.boolean()),
  /** Its value now, when it does not hold. */
  now: z.optional(z.string()),
});

/** An owned object's explanation. */
export type ExplainEffectItem = z.infer<typeof ExplainEffectItemSchema>;

/** What chainsaw owns in an attachment now (its effect) and whether it holds, observed when explain asked. */
export const ExplainEffectSchema = z.object({
  /** The chain's `mode` kept with the attachment (imperative: chainsaw owns nothing, nothing is taken back). */
  mode: z.enum(MODES),
  /** The chain's `drift`: what a drift check does. */
  drift: z.enum(DRIFT_MODES),
  /** One per object chainsaw owns (none: it owns nothing here). */
  items: z.array(ExplainEffectItemSchema),
  /** True when every owned object holds; absent when the netns was not observed. */
  holds: z.optional(z.boolean()),
  /** Why the netns was not observed (it is gone, `ip` failed). */
  unobserved: z.optional(z.string()),
});

/** An attachment's effect, explained. */
export type ExplainEffect = z.infer<typeof ExplainEffectSchema>;

/** What a re-apply would do now: run the commands, refuse the list (nothing runs), or nothing. */
export const REAPPLY_ACTIONS = ["run", "refuse", "none"] as const;

/** One attachment's explanation. */
export const ExplainAttachmentSchema = z.object({
  containerId: z.string(),
  ifname: z.string(),
  network: z.string(),
  /** The NetworkAttachmentDefinition (`namespace/name`) Multus set the attachment up for, when it did. */
  nad: z.optional(z.string()),
  netns: z.string(),
  onError: z.enum(ON_ERROR_MODES),
  /** The pod's current annotation value (the daemon's pod cache); absent: the pod has none. */
  annotation: z.optional(z.string()),
  /** The value last run on this attachment (at ADD or by a re-apply); absent: unknown. */
  applied: z.optional(z.string()),
  /** The object-form key that picks this attachment's commands (interface, NAD, chain name, `*`); absent: none. */
  key: z.optional(z.string()),
  /** The annotation's commands for this attachment (`resolveCommands`), in order. */
  commands: z.array(ExplainCommandSchema),
  /** Refuses the list as a whole: malformed annotation (101), invalid policy (7), a limit or the namespace (101). */
  error: z.optional(z.object({ code: z.int(), rule: z.optional(z.string()), msg: z.string() })),
  /** True when every command is allowed and nothing refuses the list. */
  allowed: z.boolean(),
  /** What chainsaw owns there now, each object with its baseline value and whether it holds (observed now). */
  effect: z.optional(ExplainEffectSchema),
  /** What a re-apply would do now, and why. */
  reapply: z.object({
    action: z.enum(REAPPLY_ACTIONS),
    reason: z.string(),
    /** The commands it would run (indexes into `commands`). */
    run: z.array(z.int()),
  }),
});

/** An attachment's explanation. */
export type ExplainAttachment = z.infer<typeof ExplainAttachmentSchema>;

/** The answer of `GET /v1/explain`. */
export const ExplainAnswerSchema = z.object({
  pod: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }),
  /** The node (`--node-name`), when the daemon knows it. */
  node: z.optional(z.string()),
  /** True when every attachment's list is allowed. */
  allowed: z.boolean(),
  attachments: z.array(ExplainAttachmentSchema),
  /** Keys of the annotation that name none of the pod's attachments (they do nothing), one sentence each. */
  warnings: z.optional(z.array(z.string())),
});

/** An answer. */
export type ExplainAnswer = z.infer<typeof ExplainAnswerSchema>;

/** The query parameter naming the pod. */
export const EXPLAIN_POD_PARAM = "pod";

/** `namespace/name`, each part non-empty and without `/` or blanks. */
export const POD_KEY_PATTERN: RegExp = /^[^/\s]+\/[^/\s]+$/;

/**
 * The request path for a pod.
 *
 * @param pod `namespace/name`
 * @returns the path with its query
 */
export function explainPath(pod: string): string {
  return `${ROUTES.explain.path}?${new URLSearchParams({ [EXPLAIN_POD_PARAM]: pod })}`;
}
