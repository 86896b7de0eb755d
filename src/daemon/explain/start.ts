/**
 * The explain feature: `GET /v1/explain` (`chainsaw explain`) says what the daemon would do with a pod's current
 * annotation on each of its attachments here, with the executor's own policy and netns checks, running nothing;
 * and what chainsaw owns in each (its effect) and whether it still holds, observed with one read-only `ip`.
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { createExplainRoute, EXPLAIN_ROUTE } from "./explain_route.ts";
import { effectView } from "../effect/effect_view.ts";
import { observeAttachment } from "../effect/observe.ts";

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  const pods = ctx.pods;
  ctx.addSocketRoute(
    EXPLAIN_ROUTE,
    createExplainRoute({
      ...ctx.exec,
      attachments: (ns, name) => ctx.store.forPodName(ns, name),
      cache: pods?.cache,
      synced: () => pods?.watcher.synced() ?? false,
      effect: (a) => effectView(a, () => observeAttachment(a)),
    }),
  );
  return undefined;
}
