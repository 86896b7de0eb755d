/**
 * Attachment registration and forgetting: explicit messages (not fields of a Report) by which the daemon learns
 * which pod interfaces chainsaw set up, so it can re-apply a changed annotation there, and forgets them on DEL.
 * @module
 */
import * as z from "zod/mini";
import { DRIFT_MODES, type DriftMode, type Mode, MODES, ON_ERROR_MODES, type OnError } from "./chain_conf.ts";
import { type Effect, EffectSchema } from "./effect.ts";
import { type PodRef, PodRefSchema } from "./pod_ref.ts";

const shortText = z.string().check(z.maxLength(4096));

/** One pod interface chainsaw ran (or may run) commands for, as registered after an ADD. */
export interface AttachmentRegistration {
  containerId: string;
  /** Network namespace path, e.g. `/var/run/netns/cni-…`. */
  netns: string;
  /** The pod-side interface (`CNI_IFNAME`), substituted for `CURRENT_INTERFACE`. */
  ifname: string;
  /** The network (chain config) name; with `ifname` and `nad`, it picks the entry of an object-form annotation. */
  network: string;
  /**
   * The NetworkAttachmentDefinition (`namespace/name`) Multus set the attachment up for, read from the pod's
   * `k8s.v1.cni.cncf.io/networks` at ADD (a later edit of the selection re-attaches nothing); absent: none.
   */
  nad?: string;
  pod: PodRef;
  /** The pod's interfaces (`@pod` in policy rules). */
  podInterfaces: string[];
  /** The chain config's `policy` (it narrows the node policy); absent when it had none. */
  chainPolicy?: unknown;
  /** The chain config's `onError`. */
  onError: OnError;
  /** The chain config's `ipPath` / `nsenterPath`, used again on re-apply. */
  ipPath?: string;
  nsenterPath?: string;
  /** The annotation value the ADD found (`""`: none); absent when the ADD could not read it. */
  applied?: string;
  /** The chain config's `mode`; absent: `"imperative"` (a plugin from before the key existed). */
  mode?: Mode;
  /** The chain config's `drift` (what a drift check does); absent: `"report"`. */
  drift?: DriftMode;
  /** Declarative mode: what the ADD's list changed, with baseline values (absent: chainsaw owns nothing). */
  effect?: Effect;
}

/** The registration schema. */
export const AttachmentRegistrationSchema: z.ZodMiniType<AttachmentRegistration> = z.object({
  containerId: shortText,
  netns: shortText,
  ifname: shortText,
  network: shortText,
  nad: z.optional(shortText),
  pod: PodRefSchema,
  podInterfaces: z.array(shortText).check(z.maxLength(256)),
  chainPolicy: z.optional(z.unknown()),
  onError: z.enum(ON_ERROR_MODES),
  ipPath: z.optional(shortText),
  nsenterPath: z.optional(shortText),
  applied: z.optional(z.string()),
  mode: z.optional(z.enum(MODES)),
  drift: z.optional(z.enum(DRIFT_MODES)),
  effect: z.optional(EffectSchema),
});

/** Forget a container's attachments (DEL): one interface, or all of the container's when `ifname` is absent. */
export interface AttachmentForget {
  containerId: string;
  ifname?: string;
}

/** The forget schema. */
export const AttachmentForgetSchema: z.ZodMiniType<AttachmentForget> = z.object({
  containerId: shortText.check(z.minLength(1)),
  ifname: z.optional(shortText),
});
