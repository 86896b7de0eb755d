/**
 * The Events feature: with API access and `--events` (the default), every ADD and REAPPLY execution report is
 * recorded as a Kubernetes Event on its pod (report_events.ts), counted in `chainsaw_events_total`.
 * @module
 */
import { settledWithin } from "../../async/abortable_sleep.ts";
import type { FeatureContext, Stop } from "../context.ts";
import { registerEventMetrics } from "./event_metrics.ts";
import { EventRecorder } from "./event_recorder.ts";
import { reportEventListener } from "./report_events.ts";

/** At shutdown: how long Event posts may take to finish. */
const STOP_EVENTS_MS = 2000;

/**
 * Starts the feature; see the module documentation.
 *
 * @param ctx what the pod features share (`FeatureContext`, built once by `src/daemon/features.ts`)
 * @returns what stops it at shutdown, or undefined when it has nothing to stop
 */
export function start(ctx: FeatureContext): Stop | undefined {
  if (!ctx.client || !ctx.options.events) return undefined;
  const recorder = new EventRecorder({
    client: ctx.client,
    node: ctx.node ?? "",
    log: (m) => ctx.log("warn", m),
  });
  registerEventMetrics(ctx.metrics.registry, recorder.counters);
  ctx.onReport(reportEventListener(recorder));
  ctx.handles.recordEvent = (pod, spec) => void recorder.record(pod, spec);
  ctx.log("info", `recording Events on pods as ${ctx.node}`);
  return async () => void await settledWithin(recorder.flush(), STOP_EVENTS_MS);
}
