/**
 * The schema of the pod lookup's answer ({@link ./pod_lookup.ts}), in its own module so that the plugin loads zod
 * only when it actually looks a pod up.
 * @module
 */
import * as z from "zod/mini";
import type { PodAnswer } from "./pod_lookup.ts";

/** The answer: the pod's UID and the annotations the cache keeps (chainsaw's). */
export const PodAnswerSchema: z.ZodMiniType<PodAnswer> = z.object({
  uid: z.string(),
  annotations: z.record(z.string(), z.string()),
});
