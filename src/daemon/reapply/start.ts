/**
 * The live re-apply feature: a change of a pod's chainsaw annotation in the pod cache, or the pod's leaving the
 * node, goes to the re-apply controller (built by features.ts, since registrations and ADDs go through it too).
 * At shutdown running re-applies finish and the state file is written.
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";

/** At shutdown: how long running re-applies may take to finish. */
const STOP_REAPPLY_MS = 5000;

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  const pods = ctx.pods;
  if (pods) {
    pods.cache.onAnnotationChange((pod, oldValue) => ctx.reapplier.onAnnotationChange(pod, oldValue));
    pods.cache.onDelete((pod) => ctx.reapplier.onPodGone(pod));
  }
  return () => ctx.reapplier.idle(STOP_REAPPLY_MS);
}
