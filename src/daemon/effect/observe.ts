/**
 * Observing a stored attachment's netns for its effect — drift checks, CNI CHECK and `chainsaw explain` alike:
 * {@link observeNetns} with the attachment's own `ip`/`nsenter` (as its ADD chose them), and when not to
 * ({@link reapplyInFlight}).
 * @module
 */
import { observeNetns } from "../../exec/netns_observe.ts";
import { isProcNetns } from "../../exec/netns_state.ts";
import { IP_CANDIDATES, NSENTER_CANDIDATES, resolveBinary } from "../../exec/binaries.ts";
import type { NetnsSnapshot, SnapshotBinaries } from "../../exec/netns_snapshot.ts";
import type { PodRef } from "../../cni/env.ts";
import type { Attachment } from "../attachments/attachment_store.ts";

/** Bound on one observation. */
export const OBSERVE_TIMEOUT_MS = 2000;

/**
 * `ip` and `nsenter` for an attachment, as its ADD chose them.
 *
 * @param a the attachment
 * @returns absolute paths
 * @throws Error when a configured path is not allowed or nothing is installed
 */
export function binariesOf(a: Pick<Attachment, "ipPath" | "nsenterPath">): SnapshotBinaries {
  return {
    ipPath: resolveBinary("ipPath", a.ipPath, IP_CANDIDATES),
    nsenterPath: resolveBinary("nsenterPath", a.nsenterPath, NSENTER_CANDIDATES),
  };
}

/**
 * A snapshot of the attachment's netns covering its effect (one read-only `ip` process). A `/proc/PID/ns/net`
 * path is never entered (the PID may name another process by now), as re-apply does not enter it.
 *
 * @param a the attachment
 * @returns the snapshot
 * @throws SnapshotError when the netns cannot be read, Error for a `/proc` path
 */
export function observeAttachment(a: Attachment): Promise<NetnsSnapshot> {
  if (isProcNetns(a.netns)) {
    return Promise.reject(
      new Error(
        `its netns ${a.netns} is a /proc path: not entered (only namespaces under /var/run/netns are)`,
      ),
    );
  }
  return observeNetns(a.netns, binariesOf(a), a.effect?.items ?? [], { timeoutMs: OBSERVE_TIMEOUT_MS });
}

/**
 * True while a re-apply may be changing the attachment's netns: its pod's sync is waiting or running, or a
 * re-apply's write-ahead record is there (found after a restart until the pod's first sync recovers it), which
 * leaves the netns at neither the saved effect nor the new one. Such an attachment is not checked.
 *
 * @param reapplier the re-apply queue (`syncing`)
 * @param a the attachment
 */
export function reapplyInFlight(
  reapplier: { syncing(ref: PodRef): boolean },
  a: Pick<Attachment, "pending" | "namespace" | "name" | "podUid">,
): boolean {
  return a.pending !== undefined ||
    reapplier.syncing({ namespace: a.namespace, name: a.name, uid: a.podUid });
}
