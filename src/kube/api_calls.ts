/**
 * The Kubernetes API calls chainsaw makes, as one table shared by the code's documentation, the RBAC in
 * `deployments/*.yaml` and `tests/deployments_test.ts` (which checks that the ClusterRole grants exactly these).
 * Add a row here when code starts making a new call; the test then fails until the manifests grant it.
 * @module
 */

/** One resource and the verbs chainsaw uses on it. */
export interface ApiCall {
  /** API group; "" is the core group. */
  readonly group: string;
  /** Resource (plural, lower case). */
  readonly resource: string;
  /** RBAC verbs used. */
  readonly verbs: readonly string[];
  /** Who makes the calls and why. */
  readonly why: string;
}

/** Every API call chainsaw (plugin and daemon) makes, with the same service account's credentials. */
export const API_CALLS: readonly ApiCall[] = [
  {
    group: "",
    resource: "pods",
    verbs: ["get", "list", "watch"],
    why:
      "daemon: list/watch the pods of its node (pod cache, live re-apply), GET the pod of an ADD it runs when " +
      "the cache does not have it; plugin: GET the pod of an ADD it runs itself (the daemon down or declining)",
  },
  {
    group: "",
    resource: "pods/status",
    verbs: ["patch"],
    why:
      "daemon: set the pod condition chainsaw.cni.cncf.io/applied after ADD and every re-apply (by default " +
      "only on pods that list it in spec.readinessGates)",
  },
  {
    group: "",
    resource: "namespaces",
    verbs: ["get"],
    why: "plugin and daemon: GET the pod's namespace labels, only when the policy sets namespaceLabels",
  },
  {
    group: "",
    resource: "events",
    verbs: ["create", "patch"],
    why: "daemon: record each ADD and re-apply as an Event on the pod (patch counts repeats)",
  },
];

/** The table as `group/resource:verb` strings, sorted (for comparisons). */
export function apiCallPermissions(calls: readonly ApiCall[] = API_CALLS): string[] {
  return calls.flatMap((c) => c.verbs.map((v) => `${c.group}/${c.resource}:${v}`)).sort();
}
