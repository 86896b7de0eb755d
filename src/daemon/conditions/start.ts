/**
 * The pod condition feature of `chainsaw daemon` (`--pod-condition=gated|all|off`), wired where the daemon
 * learns outcomes: every accepted execution report (ADD, run by the daemon or reported by a plugin, and the
 * daemon's REAPPLY) is recorded, an attachment's removal from the store (a DEL's forget, GC, its netns or pod
 * gone) drops its outcome, and every pod update of the node-local pod cache is observed (a gated pod without the
 * chainsaw annotation gets `True`/`NoCommands` from it). It needs the pod watch: the cache says which pods
 * declare the readiness gate and what their condition says now.
 *
 * ```ts
 * const conditions = startPodConditions({ mode: "gated", client, cache, registry, log });
 * if (conditions) ctx.onReport(conditions.onReport);
 * // at shutdown:
 * await conditions?.stop(2000);
 * ```
 * @module
 */
import type { KubeClient } from "../../kube/client.ts";
import type { FeatureContext, Stop } from "../context.ts";
import type { PodCache } from "../pods/pod_cache.ts";
import type { Report } from "../../report/report.ts";
import type { Level } from "../reports/log_format.ts";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";
import { registerConditionMetrics } from "./condition_metrics.ts";
import { type ConditionBackoff, type ConditionMode, ConditionWriter } from "./condition_writer.ts";
import { APPLIED_CONDITION, outcomeOfReport } from "./wanted_condition.ts";

/** What the feature needs. */
export interface PodConditionsDeps {
  mode: ConditionMode;
  /** The daemon's API client; undefined when it has no credentials or node name. */
  client: Pick<KubeClient, "patchPodStatus"> | undefined;
  /** The pod cache fed by the watch; undefined with `--no-pod-watch`. */
  cache: Pick<PodCache, "get" | "getByUid" | "onUpdate" | "onDelete"> | undefined;
  registry: MetricsRegistry;
  log(level: Level, msg: string): void;
  now?(): Date;
  backoff?: Partial<ConditionBackoff>;
}

/** The running feature. */
export interface PodConditions {
  readonly writer: ConditionWriter;
  /** The report listener (pass it to `ctx.onReport`). */
  readonly onReport: (report: Report) => void;
  /**
   * Unsubscribes from the cache and waits up to `timeoutMs` for writes in flight, then ends them. Call it after
   * the report socket closed: writes go on while the daemon drains, so an ADD in that window still gets its
   * condition.
   */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * A report listener for a writer: ADD and REAPPLY reports with a pod are recorded (a DEL sends no report: its
 * forget reaches the writer from the attachment route).
 *
 * @param writer the condition writer
 * @returns the listener
 */
export function conditionReportListener(
  writer: Pick<ConditionWriter, "record">,
): (report: Report) => void {
  return (report) => {
    if (!report.pod) return;
    const outcome = outcomeOfReport(report);
    if (outcome) writer.record(report.pod, outcome);
  };
}

/**
 * Starts the feature, or returns undefined (logged) when it is off or cannot run.
 *
 * @param deps the mode, the API client, the pod cache and the daemon's registry and logger
 * @returns the running feature
 */
export function startPodConditions(deps: PodConditionsDeps): PodConditions | undefined {
  if (deps.mode === "off") {
    deps.log("info", `pod condition ${APPLIED_CONDITION} off (--pod-condition=off)`);
    return undefined;
  }
  if (!deps.client || !deps.cache) {
    if (deps.client) {
      deps.log(
        "warn",
        `pod condition ${APPLIED_CONDITION} off: it needs the pod watch (--no-pod-watch is set)`,
      );
    }
    return undefined;
  }
  const cache = deps.cache;
  const stopped = new AbortController();
  const writer = new ConditionWriter({
    client: deps.client,
    cache,
    mode: deps.mode,
    log: deps.log,
    signal: stopped.signal,
    now: deps.now,
    backoff: deps.backoff,
  });
  registerConditionMetrics(deps.registry, writer.counters);
  const offUpdate = cache.onUpdate((pod) => writer.observe(pod));
  const offDelete = cache.onDelete((pod) => writer.forget(pod));
  deps.log(
    "info",
    `pod condition ${APPLIED_CONDITION} on for ${
      deps.mode === "all" ? "every pod of this node" : "pods that declare it in spec.readinessGates"
    }`,
  );
  return {
    writer,
    onReport: conditionReportListener(writer),
    async stop(timeoutMs) {
      offUpdate();
      offDelete();
      await writer.idle(timeoutMs);
      stopped.abort();
    },
  };
}

/** At shutdown: how long condition writes in flight may take to finish. */
const STOP_CONDITIONS_MS = 2000;

/** Starts the feature with the pod features' context (see {@link startPodConditions}). */
export function start(ctx: FeatureContext): Stop | undefined {
  const conditions = startPodConditions({
    mode: ctx.options.podCondition,
    client: ctx.client,
    cache: ctx.pods?.cache,
    registry: ctx.metrics.registry,
    log: ctx.log,
  });
  if (!conditions) return undefined;
  // Whatever removes an attachment (DEL, GC, netns or pod gone), its outcome leaves the pod condition's too.
  ctx.store.onRemove((a) =>
    conditions.writer.forgetAttachment(
      { namespace: a.namespace, name: a.name, uid: a.podUid },
      a.containerId,
      a.ifname,
    )
  );
  ctx.onReport(conditions.onReport);
  ctx.handles.setDrift = (pod, containerId, ifname, detail) =>
    conditions.writer.setDrift(pod, containerId, ifname, detail);
  return () => conditions.stop(STOP_CONDITIONS_MS);
}
