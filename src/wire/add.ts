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
import { PodRefSchema } from "./pod_ref.ts";

const shortText = z.string().check(z.maxLength(4096));

/** The request body of `POST /v1/add`. */
export const AddRequestSchema = z.object({
  /** The raw `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS` (re-validated by the daemon). */
  env: z.object({ containerId: shortText, netns: shortText, ifname: shortText, args: shortText }),
  /** The network (chain) name and the request's cniVersion. */
  network: shortText,
  cniVersion: z.string().check(z.maxLength(32)),
  /** chainsaw's chain config keys as given: the daemon decodes them exactly as the plugin does (ChainConfSchema). */
  conf: z.record(z.string(), z.unknown()),
  pod: PodRefSchema,
  /** `runtimeConfig["io.kubernetes.cri.pod-annotations"]`: absent when the runtime sent none, null for "none". */
  runtimeAnnotations: z.optional(z.nullable(z.record(z.string(), z.string()))),
  /** The pod-side interfaces of the previous result plus `CNI_IFNAME`. */
  podInterfaces: z.array(shortText).check(z.maxLength(256)),
  /** W3C trace context from the runtime, when valid. */
  trace: z.optional(
    z.object({ traceparent: z.string().check(z.maxLength(64)), tracestate: z.optional(shortText) }),
  ),
});

/** A request. */
export type AddRequest = z.infer<typeof AddRequestSchema>;

/** The answer of `POST /v1/add`. */
export const AddAnswerSchema = z.union([
  z.object({ ran: z.literal(false), reason: shortText }),
  z.object({
    ran: z.literal(true),
    error: z.optional(z.object({ code: z.int(), msg: z.string(), details: z.optional(z.string()) })),
  }),
]);

/** An answer. */
export type AddAnswer = z.infer<typeof AddAnswerSchema>;
