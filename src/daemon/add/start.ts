/**
 * The ADD feature: `POST /v1/add`, ADDs the plugin hands to the daemon. The pod comes from the pod cache (else the
 * API server with the daemon's credentials), the one ADD pipeline runs with the executor's deps, the attachment
 * is registered with the re-apply controller and the report accepted like a plugin's.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import type { FoundPod } from "../../exec/add.ts";
import { apiLookupError } from "../../exec/lookup_error.ts";
import { KubeApiError, type KubeClient } from "../../kube/client.ts";
import { DAEMON_WAIT_MS } from "../../wire/pod_lookup.ts";
import type { PodRef } from "../../wire/pod_ref.ts";
import { ROUTES } from "../../wire/routes.ts";
import type { FeatureContext, Stop } from "../context.ts";
import type { PodCache } from "../pods/pod_cache.ts";
import { attachmentNameOf } from "../attachments/attachment_store.ts";
import type { LookupResult } from "../pods/pod_route.ts";
import { createAddRoute } from "./add_route.ts";

/**
 * Finds a pod for an ADD the daemon runs: its cache first (waiting a little for a pod racing the watch, like the
 * pod route), then the API server with the daemon's own credentials. Errors map like the plugin's (11 / 102).
 */
async function lookUpPod(
  pod: PodRef,
  cache: { cache: PodCache; synced(): boolean; count(result: LookupResult): void } | undefined,
  client: KubeClient | undefined,
  signal: AbortSignal,
): Promise<FoundPod> {
  // Like the pod route: an unsynced cache is not asked; every lookup counts in chainsaw_pod_lookups_total.
  if (cache && !cache.synced()) {
    cache.count("unsynced");
  } else if (cache) {
    const { namespace, name } = pod;
    const cached = await cache.cache.waitFor(namespace, name, pod.uid || undefined, DAEMON_WAIT_MS, signal);
    cache.count(cached ? "hit" : "miss");
    if (cached) return { annotations: { ...cached.annotations }, uid: cached.uid, source: "daemon" };
  }
  if (!client) {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `cannot look up pod ${pod.namespace}/${pod.name}: the daemon has no API access`,
    );
  }
  try {
    const obj = await client.getPod(pod.namespace, pod.name, signal);
    return { annotations: obj.metadata.annotations ?? {}, uid: obj.metadata.uid ?? "", source: "api" };
  } catch (e) {
    if (e instanceof KubeApiError) throw apiLookupError(e, `pod ${pod.namespace}/${pod.name}`, "the daemon");
    throw e;
  }
}

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  const { client, pods } = ctx;
  const cache = pods &&
    { cache: pods.cache, synced: () => pods.watcher.synced(), count: ctx.podMetrics.lookups };
  ctx.addSocketRoute(
    ROUTES.add.path,
    createAddRoute({
      ...ctx.exec,
      lookUp: (pod) => lookUpPod(pod, cache, client, ctx.state.drainSignal),
      // The pod's other attachments (registered by earlier ADDs, here or in the plugin): at the pod's last ADD,
      // keys naming none of them are warned about. By pod, like re-apply and explain.
      otherAttachments: (t) =>
        ctx.store.all().filter((a) =>
          (t.pod.uid ? a.podUid === t.pod.uid : a.namespace === t.pod.namespace && a.name === t.pod.name) &&
          !(a.containerId === t.containerId && a.ifname === t.ifname)
        ).map(attachmentNameOf),
      register: (reg) => ctx.reapplier.onRegister(reg),
      accept: ctx.accept,
      draining: () => ctx.state.draining,
      apiAccess: client !== undefined,
    }),
  );
  return undefined;
}
