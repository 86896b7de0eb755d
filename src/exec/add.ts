/**
 * ADD's work on one attachment, wherever it runs: in the daemon (the usual case) or in the plugin process (the
 * daemon is down, or declined). Both call {@link addAttachment} with their own edges, so the two places cannot
 * behave differently: the pod's annotations (from the runtime, else the caller's lookup), the stale-pod check,
 * the attachment's NetworkAttachmentDefinition (from the pod's Multus selection), then the one executor
 * ({@link runOnAttachment}).
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { ANNOTATION, NETWORKS_ANNOTATION } from "../annotation/annotation_key.ts";
import { isLastAttachment, nadOfInterface } from "../annotation/network_selection.ts";
import type { AttachmentName } from "../annotation/resolve.ts";
import type { Report } from "../report/report.ts";
import { errorText } from "../text/error_text.ts";
import type { AttachmentRegistration } from "../wire/attachment.ts";
import type { PodRef } from "../wire/pod_ref.ts";
import {
  attachmentName,
  type AttachmentTarget,
  type ExecOutcome,
  type ExecutorDeps,
  refusal,
  runOnAttachment,
} from "./executor.ts";

/** A pod's annotations as a lookup found them. */
export interface FoundPod {
  annotations: Record<string, string>;
  /** The pod's `metadata.uid` as the source has it ("" or absent when it has none). */
  uid?: string;
  source: "daemon" | "api";
}

/** ADD's edges: the executor's, and how to find a pod the runtime did not describe. */
export interface AddDeps extends Omit<ExecutorDeps, "verb" | "source" | "podAttachments"> {
  /**
   * Finds the pod's annotations (the daemon's cache, the API server). Throws a CniError (102 not found or
   * denied, 11 transient) when it cannot.
   */
  lookUp(pod: PodRef): Promise<FoundPod>;
  /**
   * The pod's other attachments chainsaw has set up (the daemon's store, by pod UID). When given and this
   * attachment is the pod's last, keys naming none of them are warned about; absent (the plugin cannot know
   * them), keys are checked at re-apply and by `chainsaw explain` instead.
   */
  otherAttachments?(target: AttachmentTarget): readonly AttachmentName[];
}

/** What an ADD did: the executor's outcome and the registration that lets the daemon re-apply later. */
export interface AddOutcome extends ExecOutcome {
  registration: AttachmentRegistration;
}

/**
 * The stale-pod check: the runtime sets up UID `pod.uid`, the source describes `uid`. A different UID, or none at
 * all while the runtime named one, is a stale or foreign object: nothing may run.
 *
 * @param pod the pod the runtime is setting up
 * @param uid the UID the lookup found
 * @param expected who expects `pod.uid` (default: the runtime, for ADD; re-apply: the attachment)
 * @returns the CNI error (102), or undefined when the pod is current
 */
export function stalePod(
  pod: PodRef,
  uid: string | undefined,
  expected = "the runtime is setting up",
): CniError | undefined {
  if (!pod.uid || uid === pod.uid) return undefined;
  const has = uid ? `has UID ${uid}` : "has no UID";
  return new CniError(
    ErrorCode.PodLookupFailed,
    `pod ${pod.namespace}/${pod.name} ${has} but ${expected} UID ${pod.uid}: stale pod, nothing run`,
  );
}

/**
 * Runs ADD's commands on `target`.
 *
 * @param target the attachment being set up
 * @param runtimeAnnotations the runtime's `io.kubernetes.cri.pod-annotations` (null: the pod has none;
 *   undefined: the runtime did not say, so `deps.lookUp` is asked)
 * @param deps the edges
 * @returns the outcome (never throws) and the attachment's registration
 */
export async function addAttachment(
  target: AttachmentTarget,
  runtimeAnnotations: Record<string, string> | null | undefined,
  deps: AddDeps,
): Promise<AddOutcome> {
  const registration: AttachmentRegistration = {
    containerId: target.containerId,
    netns: target.netns,
    ifname: target.ifname,
    network: target.network,
    pod: { ...target.pod },
    podInterfaces: [...target.podInterfaces],
    onError: target.onError,
  };
  if (target.chainPolicy !== undefined) registration.chainPolicy = target.chainPolicy;
  if (target.ipPath !== undefined) registration.ipPath = target.ipPath;
  if (target.nsenterPath !== undefined) registration.nsenterPath = target.nsenterPath;
  if (target.mode !== undefined) registration.mode = target.mode;
  if (target.drift !== undefined) registration.drift = target.drift;

  let annotations: Record<string, string>;
  let source: NonNullable<Report["source"]> = "runtime";
  if (runtimeAnnotations !== undefined) {
    annotations = runtimeAnnotations ?? {};
  } else {
    try {
      const found = await deps.lookUp(target.pod);
      const stale = stalePod(target.pod, found.uid);
      if (stale) throw stale;
      annotations = found.annotations;
      source = found.source;
    } catch (e) {
      const error = e instanceof CniError
        ? e
        : new CniError(ErrorCode.Internal, `internal error: ${errorText(e)}`);
      // The lookup failed: the value is unknown, so a later re-apply is not suppressed by a guess.
      return { ...refusal(target, { ...deps, verb: "ADD", source: "none" }, error), registration };
    }
  }
  const annotation = annotations[ANNOTATION];
  registration.applied = annotation ?? "";
  const networks = annotations[NETWORKS_ANNOTATION];
  const nad = target.nad ?? nadOfInterface(networks, target.pod.namespace, target.ifname);
  if (nad !== undefined) {
    target = { ...target, nad };
    registration.nad = nad;
  }
  const podAttachments =
    deps.otherAttachments && isLastAttachment(networks, target.pod.namespace, target.ifname)
      ? [...deps.otherAttachments(target), attachmentName(target)]
      : undefined;
  const outcome = await runOnAttachment(target, annotation, { ...deps, verb: "ADD", source, podAttachments });
  // An ADD that erred (policy, netns, internal) has not settled the value: a later re-apply may still run it.
  if (outcome.report.verdict === "error") delete registration.applied;
  // Declarative mode: what the ADD's list changed, with its baseline values, kept with the attachment.
  if (outcome.effect && outcome.effect.length > 0) registration.effect = { items: outcome.effect };
  return { ...outcome, registration };
}
