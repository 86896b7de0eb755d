/**
 * Planning a live re-apply: given a pod from the cache, its attachments and the old and new value of the
 * chainsaw annotation, which commands to run in which attachment's network namespace. Pure: no I/O, no policy
 * (the daemon evaluates each step's commands against the policy with the attachment's interface, as ADD does).
 * @module
 */
import { AnnotationError } from "../../annotation/annotation.ts";
import { describeAttachment, resolveCommands } from "../../annotation/resolve.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import { type Attachment, attachmentNameOf } from "../attachments/attachment_store.ts";

/**
 * One attachment's part of a re-apply: the commands to run, or why the new value cannot be run there. In
 * declarative mode `commands` may be empty: the value has none here any more, and what the previous value did is
 * taken back.
 */
export type ReapplyStep =
  | { attachment: Attachment; value: string; commands: string[] }
  | { attachment: Attachment; value: string; error: string };

/** Whether chainsaw owns something in the attachment's netns (declarative mode, a non-empty effect). */
function owns(a: Attachment): boolean {
  return a.mode === "declarative" && (a.effect?.items.length ?? 0) > 0;
}

/** Phases in which a pod's network namespaces still live. */
const LIVE_PHASES = new Set(["", "Pending", "Running", "Unknown"]);

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function tryResolve(value: string | undefined, a: Attachment): string[] | undefined {
  try {
    return resolveCommands(value, attachmentNameOf(a)).commands;
  } catch {
    return undefined;
  }
}

/** True when the attachment belongs to the pod (by UID, or by name when either UID is unknown). */
export function attachmentOf(pod: CachedPod, a: Attachment): boolean {
  if (a.podUid && pod.uid) return a.podUid === pod.uid;
  return a.namespace === pod.namespace && a.name === pod.name;
}

/** What a re-apply of a value does on one attachment: a step, or why nothing runs there. */
export type ReapplyDecision = ReapplyStep | { attachment: Attachment; skip: string };

/**
 * Decides a re-apply of `newValue` on one attachment of the pod (see {@link planReapply}); `skip` says why nothing
 * runs there, in words `chainsaw explain` shows.
 */
export function decideReapply(
  pod: CachedPod,
  attachment: Attachment,
  oldValue: string | undefined,
  newValue: string | undefined,
): ReapplyDecision {
  const skip = (why: string) => ({ attachment, skip: why });
  if (!attachmentOf(pod, attachment)) {
    return skip(
      `the attachment was set up for another pod of this name (UID ${attachment.podUid}); it is not re-applied`,
    );
  }
  const blank = newValue === undefined || newValue.trim() === "";
  // Declarative mode: a deleted (or blank) annotation takes back what chainsaw owns there.
  if (blank && !owns(attachment)) return skip("the pod has no chainsaw annotation");
  if (pod.deletionTimestamp) return skip("the pod is terminating");
  if (!LIVE_PHASES.has(pod.phase)) return skip(`the pod is ${pod.phase}`);
  const baseline = attachment.applied ?? oldValue;
  if (blank) return { attachment, value: newValue ?? "", commands: [] };
  if (newValue === baseline) return skip("the value is already applied");
  let commands: string[];
  try {
    commands = resolveCommands(newValue, attachmentNameOf(attachment)).commands;
  } catch (e) {
    if (!(e instanceof AnnotationError)) throw e;
    return { attachment, value: newValue, error: e.message };
  }
  const which = describeAttachment(attachment);
  if (commands.length === 0) {
    if (owns(attachment)) return { attachment, value: newValue, commands };
    return skip(`the value has no commands for ${which}`);
  }
  const before = tryResolve(baseline, attachment);
  if (before !== undefined && sameList(before, commands)) {
    return skip(`the commands for ${which} are those already applied`);
  }
  return { attachment, value: newValue, commands };
}

/**
 * Plans a re-apply of `newValue` on the pod's attachments. Nothing is planned when the value is absent or blank
 * (the annotation was deleted) — except, in declarative mode, on attachments where chainsaw owns something: that
 * is taken back (a step without commands) —, when the pod is terminating or finished, or when it has no
 * attachments. Per attachment the baseline is its `applied` value (or `oldValue` when that is unknown): an
 * attachment is skipped when the new value equals the baseline, or when both resolve to the same commands for it
 * (an object annotation whose entry for another attachment changed: `resolveCommands` picks by interface, NAD,
 * chain name or `"*"`), or when the new value has no commands for it (in declarative mode with an effect there: a
 * step without commands, taking it back). A value that cannot be parsed gives an error step per attachment, to
 * be reported as rejected (the size limit is the policy's, checked by the executor).
 */
export function planReapply(
  pod: CachedPod,
  attachments: readonly Attachment[],
  oldValue: string | undefined,
  newValue: string | undefined,
): ReapplyStep[] {
  return attachments.map((a) => decideReapply(pod, a, oldValue, newValue)).filter((d): d is ReapplyStep =>
    !("skip" in d)
  );
}
