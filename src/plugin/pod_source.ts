/**
 * Where the plugin gets a pod's annotations for an ADD it runs itself: the runtime's
 * `io.kubernetes.cri.pod-annotations` capability first (no API call at all), then the daemon's pod cache when
 * the daemon is up, then the Kubernetes API with the plugin kubeconfig or in-cluster credentials.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { DEFAULT_KUBECONFIG, OPENSHIFT_KUBECONFIG } from "../host_paths.ts";
import type { FoundPod } from "../exec/add.ts";
import { apiLookupError } from "../exec/lookup_error.ts";
import type { Credentials } from "../kube/kubeconfig.ts";
import type { KubeApiError as KubeApiErrorClass, KubeClient } from "../kube/client.ts";
import { lookUpPod } from "../wire/client.ts";
import type { PodRef } from "../wire/pod_ref.ts";

/** The runtimeConfig key CRI runtimes fill with the pod's annotations when a plugin declares the capability. */
export const POD_ANNOTATIONS_CAPABILITY = "io.kubernetes.cri.pod-annotations";

/**
 * The plain check of an annotation map (a JSON object of strings): true when it is plainly valid; anything else is
 * decided by the schema of `pod_source_schema.ts`.
 */
export function plainAnnotations(v: unknown): v is Record<string, string> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  // A `__proto__` key (an own property after JSON.parse) is left to the schema, which decodes it differently.
  if (Object.hasOwn(v, "__proto__")) return false;
  for (const k in v) if (typeof (v as Record<string, unknown>)[k] !== "string") return false;
  return true;
}

/**
 * Asks the daemon's node-local pod cache (used when the daemon declined the ADD but is up). Undefined when the
 * daemon is absent, not synced, slow, or does not have the pod: the caller then asks the API server itself. The
 * stale-pod check is the caller's ({@link FoundPod} carries the UID).
 */
export async function daemonAnnotations(socket: string, pod: PodRef): Promise<FoundPod | undefined> {
  const answer = await lookUpPod(socket, pod);
  return answer && { annotations: answer.annotations, uid: answer.uid, source: "daemon" };
}

/**
 * The annotations the runtime passed in `runtimeConfig`, if it did. JSON `null` is a pod without annotations:
 * containerd sends a nil Go map that way.
 */
export async function runtimeAnnotations(
  raw: Record<string, unknown>,
): Promise<Record<string, string> | undefined> {
  const rc = raw.runtimeConfig;
  if (typeof rc !== "object" || rc === null) return undefined;
  const value = (rc as Record<string, unknown>)[POD_ANNOTATIONS_CAPABILITY];
  if (value === undefined) return undefined;
  if (value === null) return {};
  if (plainAnnotations(value)) return value;
  const r = (await import("./pod_source_schema.ts")).RuntimeAnnotationsSchema.safeParse(value);
  if (!r.success) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid runtimeConfig["${POD_ANNOTATIONS_CAPABILITY}"]: expected an object of strings`,
    );
  }
  return r.data;
}

/** Finds credentials: the configured kubeconfig, the default or OpenShift one, else in-cluster. */
export async function findCredentials(
  configured: string | undefined,
  getenv: (name: string) => string | undefined,
): Promise<Credentials> {
  const { inClusterCredentials, KubeconfigError, loadKubeconfig, parseKubeconfig } = await import(
    "../kube/kubeconfig.ts"
  );
  try {
    if (configured) return await loadKubeconfig(configured);
    for (const path of [DEFAULT_KUBECONFIG, OPENSHIFT_KUBECONFIG]) {
      let text: string;
      try {
        text = await Deno.readTextFile(path); // one read; absent means "try the next place"
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw new KubeconfigError(`cannot read kubeconfig ${path}: ${errorText(e)}`, { cause: e });
      }
      return await parseKubeconfig(text, path);
    }
  } catch (e) {
    if (e instanceof KubeconfigError) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `invalid chainsaw config key kubeconfig: ${e.message}`,
        "",
        { cause: e },
      );
    }
    throw e;
  }
  const inCluster = await inClusterCredentials(getenv);
  if (inCluster) return inCluster;
  throw new CniError(
    ErrorCode.TryAgainLater,
    `no Kubernetes credentials: neither ${DEFAULT_KUBECONFIG} nor ${OPENSHIFT_KUBECONFIG} exists ` +
      `(chainsaw daemon writes it; is the chainsaw DaemonSet running on this node?) and not running in a pod`,
  );
}

/**
 * The plugin's API access for one invocation: credentials are found and the client made on first use, then
 * shared by every call (one TLS connection when a namespace-scoped policy also needs the namespace's labels).
 * API failures map to CNI errors: 11 when transient, 102 otherwise. Call {@link ApiAccess.close} at the end.
 */
export class ApiAccess {
  readonly #find: () => Promise<Credentials>;
  readonly #timeoutMs: number;
  #session:
    | Promise<{ client: KubeClient; KubeApiError: typeof KubeApiErrorClass; origin: string }>
    | undefined;

  constructor(findCredentials: () => Promise<Credentials>, timeoutMs: number) {
    this.#find = findCredentials;
    this.#timeoutMs = timeoutMs;
  }

  #open() {
    this.#session ??= (async () => {
      const creds = await this.#find();
      const { KubeApiError, KubeClient } = await import("../kube/client.ts"); // only a GET pays for the client
      return { client: new KubeClient(creds, this.#timeoutMs), KubeApiError, origin: creds.origin };
    })();
    return this.#session;
  }

  async #call<T>(what: string, fn: (client: KubeClient) => Promise<T>): Promise<T> {
    const { client, KubeApiError, origin } = await this.#open();
    try {
      return await fn(client);
    } catch (e) {
      if (e instanceof KubeApiError) throw apiLookupError(e, what, origin);
      throw e;
    }
  }

  /** GETs the pod: its annotations and UID (the caller checks the UID against the runtime's). */
  podAnnotations(pod: PodRef): Promise<FoundPod> {
    return this.#call(`pod ${pod.namespace}/${pod.name}`, async (client) => {
      const obj = await client.getPod(pod.namespace, pod.name);
      return { annotations: obj.metadata.annotations ?? {}, uid: obj.metadata.uid ?? "", source: "api" };
    });
  }

  /** GETs the labels of `namespace`, for a policy scoped by namespace labels (`namespaceLabels`). */
  namespaceLabels(namespace: string): Promise<Record<string, string>> {
    return this.#call(`namespace ${namespace}`, (client) => client.getNamespaceLabels(namespace));
  }

  /** Releases the client's connections (when one was made). */
  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session) (await session.catch(() => undefined))?.client.close();
  }
}
