/**
 * The one pod identity every part of chainsaw passes around: CNI_ARGS' `K8S_POD_NAMESPACE`, `K8S_POD_NAME` and
 * `K8S_POD_UID`, the daemon's cache keys, reports, attachments and wire messages.
 * @module
 */
import * as z from "zod/mini";

const shortText = z.string().check(z.maxLength(512));

/** A pod's identity on the wire. */
export const PodRefSchema = z.object({
  namespace: shortText.check(z.minLength(1)),
  name: shortText.check(z.minLength(1)),
  uid: shortText,
});

/** A pod's identity. */
export interface PodRef {
  namespace: string;
  name: string;
  /** Empty when the runtime did not pass K8S_POD_UID. */
  uid: string;
}

/** `namespace/name`. */
export function podKeyOf(pod: PodRef): string {
  return `${pod.namespace}/${pod.name}`;
}
