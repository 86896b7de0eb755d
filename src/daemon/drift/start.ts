/**
 * The drift feature: whether what chainsaw's annotation set in each attachment (its effect, declarative mode)
 * still holds, checked periodically (CNI CHECK, on request, is `src/daemon/effect/`).
 *
 * - Drift checks: every `--drift-check-seconds` (0: off) each attachment is observed once, spread over the
 *   interval, two at a time, never while its pod's sync runs ({@link DriftChecker}); what a difference does is the
 *   chain key `drift` (`report`: a Warning Event `ChainsawDrifted`, the pod condition `False`/`Drifted`, cleared
 *   when it holds again or the annotation is edited; `heal`: the drifted objects set again ({@link healEffect}) in
 *   the pod's turn of the re-apply queue, a Normal Event `ChainsawHealed`; `off`). Metrics:
 *   {@link createDriftMetrics}.
 *
 * Observations are {@link observeNetns}: one `ip -j -d -batch` process per check (the full snapshot only for an
 * effect owning an IPv6 rule).
 * @module
 */
import type { FeatureContext, Stop } from "../context.ts";
import { settledWithin } from "../../async/abortable_sleep.ts";
import { restoreNetns, snapshotNetns } from "../../exec/netns_snapshot.ts";
import { binariesOf, observeAttachment, reapplyInFlight } from "../effect/observe.ts";
import { healEffect } from "./heal.ts";
import type { EffectDifference } from "../../declarative/effect.ts";
import { visible } from "../../text/visible.ts";
import { REAPPLY_VERB } from "../reapply/reapply_step.ts";
import type { Attachment } from "../attachments/attachment_store.ts";
import { DriftChecker } from "./drift_checker.ts";
import { createDriftMetrics } from "./drift_metrics.ts";

/** Differences named in an Event or a log line (the rest are counted). */
const NAMED_DIFFERENCES = 3;

/** At shutdown: how long checks in flight may take to finish. */
const STOP_DRIFT_MS = 3000;

/** "first; second; third (and N more)" of the differences' lines, each neutralised. */
export function namedDifferences(diffs: readonly EffectDifference[]): string {
  const named = diffs.slice(0, NAMED_DIFFERENCES).map((d) => visible(d.text)).join("; ");
  const more = diffs.length - NAMED_DIFFERENCES;
  return more > 0 ? `${named} (and ${more} more)` : named;
}

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  const podOf = (a: Attachment) => ({ namespace: a.namespace, name: a.name, uid: a.podUid });
  const busy = (a: Attachment) => reapplyInFlight(ctx.reapplier, a);
  const observe = observeAttachment;

  const seconds = ctx.options.driftCheckSeconds;
  if (seconds === 0) {
    ctx.log("info", "drift checks off (--drift-check-seconds=0); CNI CHECK still observes on request");
    return undefined;
  }
  if (!ctx.pods) {
    // Without the pod watch there is no re-apply queue fed with the pods' values, no condition and no Events.
    ctx.log("info", "drift checks off: they need the pod watch; CNI CHECK still observes on request");
    return undefined;
  }
  let metrics: ReturnType<typeof createDriftMetrics> | undefined = undefined;
  const where = (a: Attachment) => `pod ${a.namespace}/${a.name} ${a.ifname} (network ${a.network})`;
  const checker = new DriftChecker<Attachment>({
    attachments: () => ctx.store.all(),
    observe,
    busy,
    heal: (a) =>
      ctx.reapplier.heal(podOf(a), a.containerId, a.ifname, async (now) => {
        const r = await healEffect(now.netns, binariesOf(now), now.effect?.items ?? [], {
          snapshot: (n, b) => snapshotNetns(n, b),
          restore: (t, b) => restoreNetns(t, b),
        });
        if (!r.ok) ctx.log("warn", `${where(now)}: heal failed: ${r.failures.slice(0, 3).join("; ")}`);
        return r.ok && r.healed.length > 0;
      }),
    onDrift: (a, diffs, action) => {
      metrics?.drift(action);
      const what = namedDifferences(diffs);
      if (action === "reported") {
        ctx.log("warn", `${where(a)}: drifted: ${what}`);
        ctx.handles.setDrift?.(podOf(a), a.containerId, a.ifname, diffs[0].text);
        ctx.handles.recordEvent?.(podOf(a), {
          reason: "ChainsawDrifted",
          type: "Warning",
          action: "DRIFT",
          message: `${visible(a.ifname)} (network ${
            visible(a.network)
          }): what chainsaw set no longer holds: ${what}`,
        });
      } else {
        ctx.log("info", `${where(a)}: healed: ${what}`);
        ctx.handles.recordEvent?.(podOf(a), {
          reason: "ChainsawHealed",
          type: "Normal",
          action: "DRIFT",
          message: `${visible(a.ifname)} (network ${
            visible(a.network)
          }): set back to chainsaw's values: ${what}`,
        });
      }
    },
    onClear: (a, why) => {
      ctx.handles.setDrift?.(podOf(a), a.containerId, a.ifname, undefined);
      const said = why === "holds" ? "holds again" : why === "reapplied" ? "re-applied" : "no longer checked";
      ctx.log("info", `${where(a)}: drift over: ${said}`);
    },
    onCheck: (result) => metrics?.check(result),
    log: ctx.log,
  }, { intervalMs: seconds * 1000 });
  metrics = createDriftMetrics(ctx.metrics.registry, () => checker.drifted);
  // An edit (or deletion, or heal) of the attachment replaces its effect: a reported drift is over.
  ctx.onReport((r) => {
    if (r.verb === REAPPLY_VERB) checker.onReapplied(r.containerId, r.ifname);
  });
  // A removed attachment (DEL, GC, netns or pod gone) is drifted no more.
  ctx.store.onRemove((a) => checker.onRemoved(a.containerId, a.ifname));
  checker.start();
  ctx.log("info", `drift checks every ${seconds} s`);
  return async () => void await settledWithin(checker.stop(), STOP_DRIFT_MS);
}
