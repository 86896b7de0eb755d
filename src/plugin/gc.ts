/**
 * CNI GC (spec 1.1.0) in the plugin. The runtime sends `cni.dev/valid-attachments`, every attachment of this
 * network it still has; chainsaw's only per-attachment state is the daemon's attachment store, so the plugin
 * hands the list to the daemon (`POST /v1/gc`, the client's `forwardGc`), which forgets the network's other attachments.
 *
 * GC never fails because the daemon is down or slow: a daemon that is not running has nothing to collect now,
 * and prunes attachments whose netns is gone when it starts.
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import type { GcRequest } from "../wire/gc.ts";

/** The GC key of SPEC 1.1.0: the attachments of this network the runtime still has. */
export const VALID_ATTACHMENTS = "cni.dev/valid-attachments";

/**
 * The same list under the name the first text of SPEC 1.1.0 gave it; libcni sends both. Accepted when
 * {@linkcode VALID_ATTACHMENTS} is absent ({@linkcode VALID_ATTACHMENTS} wins when both are there).
 */
export const ATTACHMENTS_LEGACY = "cni.dev/attachments";

/** How long the plugin waits for the daemon's answer. */
export const GC_TIMEOUT_MS = 1000;

/** One valid attachment, as the daemon's GC route takes it. */
export type GcAttachment = GcRequest["valid"][number];

/** The spec's list; `null` is what libcni sends for an empty Go slice (no attachment of the network left). */
const ValidAttachmentsSchema = z.nullable(z.array(z.object({ containerID: z.string(), ifname: z.string() })));

/**
 * The valid attachments of a GC request's network config (`null` is the empty list), from
 * `cni.dev/valid-attachments`, else `cni.dev/attachments`. The runtime must send one of them: without it GC
 * would forget every attachment of the network, so a missing or malformed list is code 7 naming the key.
 *
 * @param raw the GC request's network configuration
 * @returns the attachments the runtime still has
 * @throws CniError code 7 when neither key is there or the list is malformed
 * @example
 * ```ts
 * validAttachments({ "cni.dev/attachments": [{ containerID: "a", ifname: "eth0" }] });
 * // [{ containerId: "a", ifname: "eth0" }]
 * ```
 */
export function validAttachments(raw: Record<string, unknown>): GcAttachment[] {
  const key = VALID_ATTACHMENTS in raw
    ? VALID_ATTACHMENTS
    : ATTACHMENTS_LEGACY in raw
    ? ATTACHMENTS_LEGACY
    : "";
  if (key === "") {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `GC needs ${VALID_ATTACHMENTS} (or ${ATTACHMENTS_LEGACY}: the runtime's list of the network's valid ` +
        "attachments) in the config",
    );
  }
  const r = ValidAttachmentsSchema.safeParse(raw[key]);
  if (!r.success) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid ${describeZodIssue(r.error, key)} (want a list of {"containerID": string, "ifname": string})`,
    );
  }
  return (r.data ?? []).map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
}
