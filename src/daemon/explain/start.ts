/**
 * The explain feature: `GET /v1/explain` (`chainsaw explain`) says what the daemon would do with a pod's current
 * annotation on each of its attachments here, with the executor's own policy and netns checks, running nothing.
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { createExplainRoute, EXPLAIN_ROUTE } from "./explain_route.ts";

/** Starts the feature; see the module documentation. */
export function start(ctx: FeatureContext): Stop | undefined {
  const pods = ctx.pods;
  ctx.addSocketRoute(
    EXPLAIN_ROUTE,
    createExplainRoute({
      ...ctx.exec,
      attachments: (ns, name) => ctx.store.forPodName(ns, name),
      cache: pods?.cache,
      synced: () => pods?.watcher.synced() ?? false,
    }),
  );
  return undefined;
}
