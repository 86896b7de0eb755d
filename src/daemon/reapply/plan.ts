/**
 * Planning a live re-apply: given a pod from the cache, its attachments and the old and new value of the
 * chainsaw annotation, which commands to run in which attachment's network namespace. Pure: no I/O, no policy
 * (the daemon evaluates each step's commands against the policy with the attachment's interface, as ADD does).
 * @module
 */
import { ANNOTATION, AnnotationError, parseAnnotation } from "../../annotation/annotation.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import type { Attachment } from "../attachments/attachment_store.ts";

/** One attachment's part of a re-apply: the commands to run, or why the new value cannot be run there. */
export type ReapplyStep =
  | { attachment: Attachment; value: string; commands: string[] }
  | { attachment: Attachment; value: string; error: string };

/** Limits applied while planning. */
export interface PlanOptions {
  /** Values longer than this many UTF-8 bytes are an error step (the policy's `limits.maxAnnotationBytes`). */
  maxAnnotationBytes?: number;
}

/** Phases in which a pod's network namespaces still live. */
const LIVE_PHASES = new Set(["", "Pending", "Running", "Unknown"]);

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function tryParse(value: string | undefined, network: string): string[] | undefined {
  try {
    return parseAnnotation(value, network);
  } catch {
    return undefined;
  }
}

/** True when the attachment belongs to the pod (by UID, or by name when either UID is unknown). */
export function attachmentOf(pod: CachedPod, a: Attachment): boolean {
  if (a.podUid && pod.uid) return a.podUid === pod.uid;
  return a.namespace === pod.namespace && a.name === pod.name;
}

/**
 * Plans a re-apply of `newValue` on the pod's attachments. Nothing is planned when the value is absent or blank
 * (the annotation was deleted), when the pod is terminating or finished, or when it has no attachments. Per
 * attachment the baseline is its `applied` value (or `oldValue` when that is unknown): an attachment is skipped
 * when the new value equals the baseline, or when both resolve to the same commands for its network (an object
 * annotation whose entry for another network changed), or when the new value has no commands for its network.
 * A value that cannot be parsed (or is over the size limit) gives an error step per attachment, to be reported
 * as rejected.
 */
export function planReapply(
  pod: CachedPod,
  attachments: readonly Attachment[],
  oldValue: string | undefined,
  newValue: string | undefined,
  opts: PlanOptions = {},
): ReapplyStep[] {
  if (newValue === undefined || newValue.trim() === "") return [];
  if (pod.deletionTimestamp || !LIVE_PHASES.has(pod.phase)) return [];
  const steps: ReapplyStep[] = [];
  const tooBig = opts.maxAnnotationBytes !== undefined &&
    new TextEncoder().encode(newValue).length > opts.maxAnnotationBytes;
  for (const attachment of attachments) {
    if (!attachmentOf(pod, attachment)) continue;
    const baseline = attachment.applied ?? oldValue;
    if (newValue === baseline) continue;
    if (tooBig) {
      steps.push({
        attachment,
        value: newValue,
        error: `annotation is larger than the limit of ${opts.maxAnnotationBytes} bytes`,
      });
      continue;
    }
    let commands: string[];
    try {
      commands = parseAnnotation(newValue, attachment.network);
    } catch (e) {
      if (!(e instanceof AnnotationError)) throw e;
      steps.push({ attachment, value: newValue, error: e.message });
      continue;
    }
    if (commands.length === 0) continue;
    const before = tryParse(baseline, attachment.network);
    if (before !== undefined && sameList(before, commands)) continue;
    steps.push({ attachment, value: newValue, commands });
  }
  return steps;
}

/**
 * Plans the catch-up after a daemon restart, once the cache is synced: for every attachment whose `applied`
 * value is known, re-applies the cached pod's current annotation when it differs (a change made while the daemon
 * was down). Attachments with an unknown `applied` value, or whose pod is not cached, are left alone.
 */
export function planReconcile(
  pods: readonly CachedPod[],
  attachments: readonly Attachment[],
  opts: PlanOptions = {},
): ReapplyStep[] {
  const steps: ReapplyStep[] = [];
  for (const a of attachments) {
    if (a.applied === undefined) continue;
    const pod = pods.find((p) => attachmentOf(p, a));
    if (!pod) continue;
    steps.push(...planReapply(pod, [a], a.applied, pod.annotations[ANNOTATION], opts));
  }
  return steps;
}
