/**
 * The effect feature: what chainsaw's annotation set in an attachment (its effect, declarative mode), observed on
 * request and compared with the netns.
 *
 * - CNI CHECK: `POST /v1/check` ({@link createCheckRoute}) observes one attachment on the plugin's request;
 * - `chainsaw explain`'s effect view (`effect_view.ts`, used by `src/daemon/explain/`);
 * - the observation drift checks, CHECK and explain share ({@link observeAttachment}, {@link reapplyInFlight}).
 *
 * The periodic drift checks are `src/daemon/drift/`.
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { CHECK_ROUTE, createCheckRoute } from "./check_route.ts";
import { observeAttachment, reapplyInFlight } from "./observe.ts";

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  const find = (containerId: string, ifname: string) => ctx.store.get(containerId, ifname);
  ctx.addSocketRoute(
    CHECK_ROUTE,
    createCheckRoute({ find, observe: observeAttachment, busy: (a) => reapplyInFlight(ctx.reapplier, a) }),
  );
  return undefined;
}
