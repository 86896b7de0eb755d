/**
 * Observing a stored attachment's netns for its effect — drift checks, CNI CHECK and `chainsaw explain` alike:
 * {@link observeNetns} with the attachment's own `ip`/`nsenter` (as its ADD chose them).
 * @module
 */
import { observeNetns } from "../../exec/netns_observe.ts";
import { IP_CANDIDATES, NSENTER_CANDIDATES, resolveBinary } from "../../exec/binaries.ts";
import type { NetnsSnapshot, SnapshotBinaries } from "../../exec/netns_snapshot.ts";
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
 * A snapshot of the attachment's netns covering its effect (one read-only `ip` process).
 *
 * @param a the attachment
 * @returns the snapshot
 * @throws SnapshotError when the netns cannot be read
 */
export function observeAttachment(a: Attachment): Promise<NetnsSnapshot> {
  return observeNetns(a.netns, binariesOf(a), a.effect?.items ?? [], { timeoutMs: OBSERVE_TIMEOUT_MS });
}
