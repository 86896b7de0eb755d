/**
 * The one pod identity every part of chainsaw passes around: CNI_ARGS' `K8S_POD_NAMESPACE`, `K8S_POD_NAME` and
 * `K8S_POD_UID`, the daemon's cache keys, reports, attachments and wire messages.
 * @module
 */
import * as z from "zod/mini";

import type { PodRef } from "../cni/env.ts";

export type { PodRef };

/** A pod's identity on the wire ({@link PodRef}, defined once with CNI_ARGS in src/cni/env.ts). */
export const PodRefSchema: z.ZodMiniType<PodRef> = z.object({
  namespace: z.string().check(z.minLength(1), z.maxLength(512)),
  name: z.string().check(z.minLength(1), z.maxLength(512)),
  uid: z.string().check(z.maxLength(512)),
});
