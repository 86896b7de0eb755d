/**
 * The metrics of the attachment store, on the daemon's registry: how many attachments are kept, how many were
 * forgotten without a DEL and why, and how the state file's writes went.
 * @module
 */
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";

/** Why attachments were forgotten without a DEL, for `chainsaw_attachments_pruned_total{reason}`. */
export type PruneReason = "netns_gone" | "pod_gone" | "gc";

/** The handles the store's users increment. */
export interface AttachmentMetrics {
  /** `chainsaw_attachments_pruned_total{reason}`: attachments forgotten without a DEL. */
  pruned(reason: PruneReason, count: number): void;
  /** `chainsaw_state_writes_total{result}`: state file writes (ok, error). */
  stateWrite(ok: boolean): void;
}

/**
 * Registers the families; the `chainsaw_attachments` gauge is read before every scrape.
 *
 * @param registry the daemon's registry
 * @param attachments the number of attachments kept
 * @returns the handles
 */
export function createAttachmentMetrics(
  registry: MetricsRegistry,
  attachments: () => number,
): AttachmentMetrics {
  const kept = registry.gauge("chainsaw_attachments", "Pod interfaces chainsaw keeps for re-apply.");
  const pruned = registry.counter(
    "chainsaw_attachments_pruned_total",
    "Attachments forgotten without a DEL, by reason (netns_gone, pod_gone, gc).",
    ["reason"],
  );
  const writes = registry.counter(
    "chainsaw_state_writes_total",
    "Writes of the attachments state file, by result (ok, error).",
    ["result"],
  );
  registry.addCollector(() => kept.set(attachments()));
  return {
    pruned: (reason, count) => pruned.inc({ reason }, count),
    stateWrite: (ok) => writes.inc({ result: ok ? "ok" : "error" }),
  };
}
