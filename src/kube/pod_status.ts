/**
 * Pod conditions and readiness gates as chainsaw reads and writes them: the condition type chainsaw owns,
 * reading a pod's `spec.readinessGates` and `status.conditions` (loosely: anything malformed is skipped), and the
 * strategic-merge patch of `pods/{name}/status` that sets one condition.
 *
 * The API server merges `status.conditions` by `type` (`patchStrategy:"merge" patchMergeKey:"type"` in core/v1
 * PodStatus): the patch's entry replaces the fields of the entry with the same type and leaves every other
 * condition (the kubelet's `Ready`, `ContainersReady`, …) alone; an unknown type is appended. The patch also
 * carries `metadata.uid`, as the kubelet's own status patches do: the server refuses it (409 Conflict) when the
 * name now belongs to another pod, so a condition never lands on a pod it was not computed for.
 * @module
 */
import type { Pod } from "./client.ts";

/** The condition type chainsaw writes: `True` once chainsaw has applied the pod's commands on this node. */
export const APPLIED_CONDITION = "chainsaw.cni.cncf.io/applied";

/** The content type of a strategic-merge patch. */
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";

/** A core/v1 PodCondition (the fields chainsaw reads and writes). */
export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  /** RFC 3339, seconds precision. */
  lastTransitionTime?: string;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

/**
 * The condition types the pod lists in `spec.readinessGates`.
 *
 * @param pod a pod as decoded by the client
 * @returns the gates' condition types, in spec order (empty when none)
 * @example
 * ```ts
 * readinessGates({ metadata: { name: "p" }, spec: { readinessGates: [{ conditionType: APPLIED_CONDITION }] } });
 * // ["chainsaw.cni.cncf.io/applied"]
 * ```
 */
export function readinessGates(pod: Pod): string[] {
  const gates = pod.spec?.readinessGates;
  if (!Array.isArray(gates)) return [];
  return gates.map((g) => record(g)?.conditionType).filter((t): t is string => typeof t === "string");
}

/**
 * The pod's conditions of the given types, keyed by type (malformed entries are skipped).
 *
 * @param pod a pod as decoded by the client
 * @param types the condition types to keep
 * @returns the conditions found
 * @example
 * ```ts
 * podConditions(pod, [APPLIED_CONDITION])[APPLIED_CONDITION]?.status; // "True", "False", or undefined
 * ```
 */
export function podConditions(pod: Pod, types: readonly string[]): Record<string, PodCondition> {
  const out: Record<string, PodCondition> = {};
  const list = pod.status?.conditions;
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    const c = record(item);
    if (!c || typeof c.type !== "string" || !types.includes(c.type)) continue;
    if (c.status !== "True" && c.status !== "False" && c.status !== "Unknown") continue;
    const cond: PodCondition = { type: c.type, status: c.status };
    if (typeof c.reason === "string" && c.reason !== "") cond.reason = c.reason;
    if (typeof c.message === "string" && c.message !== "") cond.message = c.message;
    if (typeof c.lastTransitionTime === "string") cond.lastTransitionTime = c.lastTransitionTime;
    out[c.type] = cond;
  }
  return out;
}

/**
 * The strategic-merge patch body that sets `condition` on the pod with UID `uid` (a precondition: see the
 * module documentation). Every field is sent, so none of an earlier value survives the merge.
 *
 * @param uid the pod's UID (omitted from the patch when empty)
 * @param condition the whole condition to write
 * @returns the body for `PATCH /api/v1/namespaces/{ns}/pods/{name}/status`
 * @example
 * ```ts
 * conditionPatch("uid-1", { type: APPLIED_CONDITION, status: "True", reason: "Applied", message: "",
 *   lastTransitionTime: "2026-01-01T00:00:00Z" });
 * // {"metadata":{"uid":"uid-1"},"status":{"conditions":[{"type":…,"status":"True",…}]}}
 * ```
 */
export function conditionPatch(uid: string, condition: PodCondition): Record<string, unknown> {
  const body: Record<string, unknown> = {
    status: {
      conditions: [{
        type: condition.type,
        status: condition.status,
        reason: condition.reason ?? "",
        message: condition.message ?? "",
        lastTransitionTime: condition.lastTransitionTime ?? null,
      }],
    },
  };
  if (uid) body.metadata = { uid };
  return body;
}
