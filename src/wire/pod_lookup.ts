/**
 * The pod lookup on the daemon socket, answered from the node-local pod cache so that the plugin's ADD does not
 * GET the pod from the API server: `GET /v1/pods/{namespace}/{name}?uid=U&waitMs=N` → 200 {@link PodAnswer},
 * 404 when the pod (with that UID) is not cached within `waitMs`, 503 before the cache's first list. The answer's
 * schema is in `pod_lookup_schema.ts`, loaded by the plugin only when it looks a pod up (zod is not on its start).
 * @module
 */
import { ROUTES } from "./routes.ts";

/** How long the plugin lets the daemon wait for a pod its watch has not seen yet (a fresh pod racing the watch). */
export const DAEMON_WAIT_MS = 1000;

/** The longest the daemon waits, whatever the request says. */
export const MAX_WAIT_MS = 2000;

/** An answer: the pod's UID and the annotations the cache keeps (chainsaw's); `PodAnswerSchema` checks it. */
export interface PodAnswer {
  uid: string;
  annotations: Record<string, string>;
}

/**
 * The request path for a pod.
 *
 * @param pod the pod (its UID when known)
 * @param waitMs how long the daemon may wait for it
 * @returns the path with its query
 */
export function podLookupPath(pod: { namespace: string; name: string; uid: string }, waitMs: number): string {
  const q = new URLSearchParams({ waitMs: String(waitMs) });
  if (pod.uid) q.set("uid", pod.uid);
  return `${ROUTES.pods.path}/${encodeURIComponent(pod.namespace)}/${encodeURIComponent(pod.name)}?${q}`;
}
