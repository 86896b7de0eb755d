/**
 * The pods feature: the node's pod cache (built by features.ts with its watch) answers the plugin's
 * `GET /v1/pods/{ns}/{name}` on the socket and holds `/readyz` at 503 until the first list; every ADD report
 * counts where its annotation came from.
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { createPodRoute, POD_ROUTE } from "./pod_route.ts";

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  ctx.onReport((r) => {
    if (r.verb === "ADD" && r.pod) ctx.podMetrics.annotationSource(r.source ?? "none");
  });
  const pods = ctx.pods;
  if (!pods) return undefined;
  ctx.addSocketRoute(
    POD_ROUTE,
    createPodRoute({
      cache: pods.cache,
      synced: () => pods.watcher.synced(),
      count: ctx.podMetrics.lookups,
      signal: ctx.state.drainSignal,
    }),
  );
  ctx.state.addCondition("pod list not synced", () => pods.watcher.synced());
  return undefined;
}
