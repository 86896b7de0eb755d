/**
 * The attachments feature: the routes that keep the attachment store in step with the runtime —
 * registrations (`POST /v1/attachments`, from a plugin that ran an ADD itself), forgets (`POST
 * /v1/attachments/forget`, sent on DEL), both through the re-apply controller, and CNI GC (`POST /v1/gc`).
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { ROUTES } from "../../wire/routes.ts";
import { createAttachmentRoute } from "./attachment_route.ts";
import { createGcRoute, GC_ROUTE } from "./gc_route.ts";

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  ctx.addSocketRoute(
    ROUTES.register.path,
    createAttachmentRoute({
      register: (reg) => ctx.reapplier.onRegister(reg),
      forget: (f) => ctx.reapplier.onForget(f),
    }),
  );
  ctx.addSocketRoute(
    GC_ROUTE,
    createGcRoute({
      all: () => ctx.store.all(),
      remove: async (stale) => {
        for (const a of stale) ctx.store.remove(a.containerId, a.ifname);
        ctx.attachmentMetrics.pruned("gc", stale.length);
        await ctx.reapplier.save();
      },
      log: (msg) => ctx.log("info", msg),
    }),
  );
  return undefined;
}
