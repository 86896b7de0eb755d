/**
 * Where the plugin gets a pod's annotations: the runtime's `io.kubernetes.cri.pod-annotations` capability
 * first (no API call at all), then the Kubernetes API with the plugin kubeconfig or in-cluster credentials.
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { DEFAULT_KUBECONFIG, OPENSHIFT_KUBECONFIG } from "../cni/config.ts";
import type { PodRef } from "../cni/env.ts";
import type { Credentials } from "../kube/kubeconfig.ts";
import type { KubeApiError as KubeApiErrorClass, KubeClient } from "../kube/client.ts";
import { daemonRequest } from "../report/daemon_socket.ts";

/** The runtimeConfig key CRI runtimes fill with the pod's annotations when a plugin declares the capability. */
export const POD_ANNOTATIONS_CAPABILITY = "io.kubernetes.cri.pod-annotations";

const Annotations = z.record(z.string(), z.string());

/** A pod's annotations and where they came from. */
export interface PodAnnotations {
  annotations: Record<string, string>;
  source: "runtime" | "daemon" | "api";
}

/** The daemon's pod lookup path on its socket: `GET /v1/pods/{namespace}/{name}?uid=U&waitMs=N`. */
export const DAEMON_POD_PATH = "/v1/pods";

/** How long the daemon may wait for a pod its watch has not seen yet (a fresh pod racing the watch). */
export const DAEMON_WAIT_MS = 1000;

const DaemonPodAnswer = z.object({ uid: z.string(), annotations: Annotations });

/**
 * Asks the daemon's node-local pod cache. Undefined when the daemon is absent, not synced, slow, or does not
 * have the pod: the caller then asks the API server itself.
 */
export async function daemonAnnotations(socket: string, pod: PodRef): Promise<PodAnnotations | undefined> {
  const q = new URLSearchParams({ waitMs: String(DAEMON_WAIT_MS) });
  if (pod.uid) q.set("uid", pod.uid);
  const path = `${DAEMON_POD_PATH}/${encodeURIComponent(pod.namespace)}/${encodeURIComponent(pod.name)}?${q}`;
  const answer = await daemonRequest(socket, path, {}, DAEMON_WAIT_MS + 500, async (res) => {
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const r = DaemonPodAnswer.safeParse(await res.json());
    return r.success ? r.data : undefined;
  });
  if (!answer) return undefined;
  if (pod.uid && answer.uid !== pod.uid) {
    const has = answer.uid ? `has UID ${answer.uid}` : "has no UID";
    throw new CniError(
      ErrorCode.PodLookupFailed,
      `pod ${pod.namespace}/${pod.name} ${has} but the runtime is setting up UID ${pod.uid}: stale pod, nothing run`,
    );
  }
  return { annotations: answer.annotations, source: "daemon" };
}

/**
 * The annotations the runtime passed in `runtimeConfig`, if it did. JSON `null` is a pod without annotations:
 * containerd sends a nil Go map that way.
 */
export function runtimeAnnotations(raw: Record<string, unknown>): Record<string, string> | undefined {
  const rc = raw.runtimeConfig;
  if (typeof rc !== "object" || rc === null) return undefined;
  const value = (rc as Record<string, unknown>)[POD_ANNOTATIONS_CAPABILITY];
  if (value === undefined) return undefined;
  if (value === null) return {};
  const r = Annotations.safeParse(value);
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
        throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
      }
      return await parseKubeconfig(text, path);
    }
  } catch (e) {
    if (e instanceof KubeconfigError) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `invalid chainsaw config key kubeconfig: ${e.message}`,
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

/** Maps a failed API call about `what` to a CNI error: 11 when transient, 102 otherwise. */
function lookupError(e: KubeApiErrorLike, what: string, origin: string): CniError {
  if (e.transient) {
    return new CniError(ErrorCode.TryAgainLater, `cannot look up ${what}: ${e.message}`, origin);
  }
  const how = e.status === 404
    ? "not found"
    : e.status === 401 || e.status === 403
    ? "access denied"
    : "failed";
  return new CniError(ErrorCode.PodLookupFailed, `${what} lookup ${how}: ${e.message}`, origin);
}

/** The fields of a KubeApiError the mapping reads (the class itself is imported lazily). */
interface KubeApiErrorLike {
  transient: boolean;
  status: number;
  message: string;
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
      if (e instanceof KubeApiError) throw lookupError(e, what, origin);
      throw e;
    }
  }

  /** GETs the pod and checks its UID against the runtime's. */
  podAnnotations(pod: PodRef): Promise<PodAnnotations> {
    const who = `${pod.namespace}/${pod.name}`;
    return this.#call(`pod ${who}`, async (client) => {
      const obj = await client.getPod(pod.namespace, pod.name);
      // A pod without metadata.uid cannot be shown to be the one the runtime sets up: stale as well.
      if (pod.uid && obj.metadata.uid !== pod.uid) {
        const has = obj.metadata.uid ? `has UID ${obj.metadata.uid}` : "has no metadata.uid";
        throw new CniError(
          ErrorCode.PodLookupFailed,
          `pod ${who} ${has} but the runtime is setting up UID ${pod.uid}: stale pod, nothing run`,
        );
      }
      return { annotations: obj.metadata.annotations ?? {}, source: "api" };
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
