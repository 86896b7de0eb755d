/**
 * ADD run by the daemon: the plugin sends what its ADD knows (the CNI env it needs, the chain config, the pod,
 * the runtime's annotations, the pod's interfaces) and the daemon answers with the outcome. The daemon checks a
 * request exactly like the plugin checks its own input; it never trusts it more.
 *
 * The answer says whether the daemon ran it: `{ran: false}` means it declined before doing anything (the plugin
 * then runs the ADD itself); `{ran: true}` is final, with the CNI error when the ADD failed.
 * @module
 */
import * as z from "zod/mini";
import { type PodRef, PodRefSchema } from "./pod_ref.ts";

const shortText: z.ZodMiniType<string> = z.string().check(z.maxLength(4096));

/** The request body of `POST /v1/add`: what the plugin's ADD knows. */
export interface AddRequest {
  /** The raw `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS` (re-validated by the daemon). */
  env: { containerId: string; netns: string; ifname: string; args: string };
  /** The network (chain) name. */
  network: string;
  /** The request's cniVersion. */
  cniVersion: string;
  /** chainsaw's chain config keys as given: the daemon decodes them exactly as the plugin does. */
  conf: Record<string, unknown>;
  pod: PodRef;
  /** `runtimeConfig["io.kubernetes.cri.pod-annotations"]`: absent when the runtime sent none, null for "none". */
  runtimeAnnotations?: Record<string, string> | null;
  /** The pod-side interfaces of the previous result plus `CNI_IFNAME`. */
  podInterfaces: string[];
  /** W3C trace context from the runtime, when valid. */
  trace?: { traceparent: string; tracestate?: string };
}

/** The schema of {@link AddRequest}. */
export const AddRequestSchema: z.ZodMiniType<AddRequest> = z.object({
  env: z.object({ containerId: shortText, netns: shortText, ifname: shortText, args: shortText }),
  network: shortText,
  cniVersion: z.string().check(z.maxLength(32)),
  conf: z.record(z.string(), z.unknown()),
  pod: PodRefSchema,
  runtimeAnnotations: z.optional(z.nullable(z.record(z.string(), z.string()))),
  podInterfaces: z.array(shortText).check(z.maxLength(256)),
  trace: z.optional(
    z.object({ traceparent: z.string().check(z.maxLength(64)), tracestate: z.optional(shortText) }),
  ),
});

/** The answer of `POST /v1/add`: declined before anything ran, or ran (with the CNI error when the ADD fails). */
export type AddAnswer =
  | { ran: false; reason: string }
  | { ran: true; error?: { code: number; msg: string; details?: string } };

/** The schema of {@link AddAnswer}. */
export const AddAnswerSchema: z.ZodMiniType<AddAnswer> = z.union([
  z.object({ ran: z.literal(false), reason: shortText }),
  z.object({
    ran: z.literal(true),
    error: z.optional(z.object({ code: z.int(), msg: z.string(), details: z.optional(z.string()) })),
  }),
]);
