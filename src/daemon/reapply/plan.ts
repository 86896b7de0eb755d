/**
 * Planning a live re-apply: given a pod from the cache, its attachments and the old and new value of the
 * chainsaw annotation, which commands to run in which attachment's network namespace. Pure: no I/O, no policy
 * (the daemon evaluates each step's commands against the policy with the attachment's interface, as ADD does).
 * @module
 */
import { AnnotationError, parseAnnotation } from "../../annotation/annotation.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import type { Attachment } from "../attachments/attachment_store.ts";

/** One attachment's part of a re-apply: the commands to run, or why the new value cannot be run there. */
export type ReapplyStep =
  | { attachment: Attachment; value: string; commands: string[] }
  | { attachment: Attachment; value: string; error: string };

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
 * A value that cannot be parsed gives an error step per attachment, to be reported as rejected (the size limit
 * is the policy's, checked by the executor).
 */
export function planReapply(
  pod: CachedPod,
  attachments: readonly Attachment[],
  oldValue: string | undefined,
  newValue: string | undefined,
): ReapplyStep[] {
  if (newValue === undefined || newValue.trim() === "") return [];
  if (pod.deletionTimestamp || !LIVE_PHASES.has(pod.phase)) return [];
  const steps: ReapplyStep[] = [];
  for (const attachment of attachments) {
    if (!attachmentOf(pod, attachment)) continue;
    const baseline = attachment.applied ?? oldValue;
    if (newValue === baseline) continue;
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
