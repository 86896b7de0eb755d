/**
 * Running one planned re-apply step exactly like an ADD: the one executor ({@link runOnAttachment}) with the
 * same policy (the node ceiling from the policy directory, narrowed by the chain's `policy` kept with the
 * attachment), the attachment's interface as `CURRENT_INTERFACE` and the pod's interfaces as `@pod`, the same
 * `onError` mode and `ipPath`/`nsenterPath`, in the attachment's netns. The outcome is a `REAPPLY` report
 * shaped like an ADD report.
 * @module
 */
import { netnsPathProblem } from "../../cni/netns_path.ts";
import { isProcNetns } from "../../exec/netns_state.ts";
import { stalePod } from "../../exec/add.ts";
import {
  type AttachmentTarget,
  type ExecutorDeps,
  refusal,
  runOnAttachment,
  warningReport,
} from "../../exec/executor.ts";
import type { AttachmentName } from "../../annotation/resolve.ts";
import type { Attachment } from "../attachments/attachment_store.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import type { Report } from "../../report/report.ts";
import type { EffectItem } from "../../wire/effect.ts";
import type { NetnsSnapshot } from "../../exec/netns_snapshot.ts";
import type { ReapplyStep } from "./plan.ts";

/** The report verb of a daemon re-apply. */
export const REAPPLY_VERB = "REAPPLY" as const;

/** The edges a re-apply uses (replaceable in tests): the one executor's, without verb and source. */
export type ReapplyExecDeps = Omit<ExecutorDeps, "verb" | "source">;

/**
 * Why the daemon must not re-apply in the netns at `path`, or undefined: every problem of
 * {@link netnsPathProblem} (relative, `..`, `/proc/self`, the daemon's own PID, its parent's, init's), and any
 * `/proc` path at all — a PID may have been reused since the ADD, and in the DaemonSet's own PID namespace it
 * names the daemon container's processes (see docs/reapply.md).
 *
 * @param path The attachment's netns path.
 * @returns The problem, as a phrase following the path, or undefined.
 * @example
 * ```ts
 * reapplyNetnsProblem("//proc/self/ns/net"); // "is a /proc path other than /proc/PID/ns/net …"
 * reapplyNetnsProblem("/var/run/netns/cni-1"); // undefined
 * ```
 */
export function reapplyNetnsProblem(path: string): string | undefined {
  const problem = netnsPathProblem(path);
  if (problem !== undefined) return problem;
  return isProcNetns(path)
    ? "is a /proc path (only namespaces pinned under /var/run/netns are re-entered)"
    : undefined;
}

/**
 * The executor's target for a stored attachment and its cached pod: the chain config kept from the ADD (policy,
 * `onError` — "fail" for attachments stored before it was recorded —, `ipPath`/`nsenterPath`) and the pod's
 * interfaces. Re-apply and `chainsaw explain` both use it, so an explanation describes exactly a re-apply.
 *
 * @param a the stored attachment
 * @param pod the pod as cached
 * @returns the target
 */
export function attachmentTarget(a: Attachment, pod: CachedPod): AttachmentTarget {
  return {
    containerId: a.containerId,
    netns: a.netns,
    ifname: a.ifname,
    network: a.network,
    ...(a.nad === undefined ? {} : { nad: a.nad }),
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid || a.podUid },
    podInterfaces: a.podInterfaces ?? [a.ifname],
    chainPolicy: a.chainPolicy,
    onError: a.onError ?? "fail",
    ipPath: a.ipPath,
    nsenterPath: a.nsenterPath,
    mode: a.mode,
  };
}

/** What one re-apply step did: its `REAPPLY` report and, in declarative mode, the effect chainsaw owns now. */
export interface StepOutcome {
  report: Report;
  /** Declarative mode: the effect to keep with the attachment (unchanged when the step was refused). */
  effect?: EffectItem[];
}

/**
 * Runs `step` for `pod` with the one executor (as an ADD would: the attachment's chain policy, `onError`,
 * `ipPath`/`nsenterPath`, interfaces, mode — in declarative mode with the effect the attachment keeps, so the
 * previous value is taken back) and returns its `REAPPLY` report and new effect; never throws. Right before running it
 * checks again that the netns is one re-apply may enter ({@link reapplyNetnsProblem}) and that the cached pod is
 * the one the attachment was set up for (same UID; a pod without one is stale). `beforeChange` (declarative mode)
 * gets a full snapshot of the netns right before the step first changes it: the write-ahead record.
 */
export async function executeStep(
  step: ReapplyStep,
  pod: CachedPod,
  deps: ReapplyExecDeps,
  podAttachments?: readonly AttachmentName[],
  beforeChange?: (start: NetnsSnapshot) => Promise<void>,
): Promise<StepOutcome> {
  const a = step.attachment;
  const target = attachmentTarget(a, pod);
  const run = { ...deps, verb: REAPPLY_VERB, source: "daemon" as const };
  const stale = stalePod({ ...target.pod, uid: a.podUid }, pod.uid, "the attachment was set up for");
  if (stale) return { report: refusal(target, run, stale).report };
  const outcome = await runOnAttachment(
    target,
    step.value,
    {
      ...run,
      netnsProblem: deps.netnsProblem ?? reapplyNetnsProblem,
      ...(podAttachments === undefined ? {} : { podAttachments }),
      ...(beforeChange === undefined ? {} : { beforeChange }),
    },
    a.effect?.items ?? [],
  );
  return outcome.effect === undefined
    ? { report: outcome.report }
    : { report: outcome.report, effect: outcome.effect };
}

/**
 * The `REAPPLY` report of a changed value that runs nothing on the pod's attachments but has keys naming none of
 * them: verdict "nothing", the warnings (so a typo in a live edit still reaches the log and an Event).
 *
 * @param a the attachment the report is about (the pod's first)
 * @param pod the pod as cached
 * @param value the new annotation value
 * @param warnings the sentences of unmatchedKeyWarning
 * @param deps the clock and node
 * @returns the report
 */
export function warningStepReport(
  a: Attachment,
  pod: CachedPod,
  value: string,
  warnings: readonly string[],
  deps: Pick<ReapplyExecDeps, "now" | "node">,
): Report {
  return warningReport(attachmentTarget(a, pod), { ...deps, verb: REAPPLY_VERB, source: "daemon" }, value, [
    ...warnings,
  ]);
}
