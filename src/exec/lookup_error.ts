/**
 * The one mapping of a failed Kubernetes API lookup to a CNI error, used by the plugin and the daemon alike.
 * Import-light on purpose: the plugin loads it on its ADD path.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";

/**
 * The CNI error for a failed API lookup of `what` (a pod, a namespace), the same in the plugin and the daemon:
 * 11 (try again later) when transient, 102 otherwise.
 *
 * @param e the API error's status and whether it is transient
 * @param what e.g. `pod default/p1`
 * @param origin where the credentials came from (the error's details)
 * @returns the CNI error
 */
export function apiLookupError(
  e: { transient: boolean; status: number; message: string },
  what: string,
  origin: string,
): CniError {
  if (e.transient) {
    return new CniError(ErrorCode.TryAgainLater, `cannot look up ${what}: ${e.message}`, origin);
  }
  const how = e.status === 404
    ? "not found"
    : e.status === 401 || e.status === 403
    ? "access denied"
    : "failed";
  return new CniError(ErrorCode.PodLookupFailed, `${what} lookup ${how}: ${e.message}`, origin);
}
