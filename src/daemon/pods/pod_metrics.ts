/**
 * The metrics of the pod cache, live re-apply and Events, on the daemon's registry. The watcher's and the event
 * recorder's counters are plain numbers kept by those classes; a collector copies them into the registry before
 * every scrape. Label values are fixed sets, as for the daemon's other metrics.
 * @module
 */
import type { Counter, Gauge, MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { EventCounters } from "../events/event_recorder.ts";
import type { PodWatchCounters } from "./pod_watch.ts";
import type { LookupResult } from "./pod_route.ts";
import type { PruneReason } from "../reapply/reapplier.ts";

/** Where the collected values come from; families are registered only for the features that run. */
export interface ReapplySources {
  /** The number of attachments kept. */
  attachments(): number;
  /** The pod watch, when it runs. */
  watch?: {
    counters: Readonly<PodWatchCounters>;
    synced(): boolean;
    /** Pods in the cache. */
    pods(): number;
  };
  /** The event recorder, when Events are on. */
  events?: Readonly<EventCounters>;
}

/** The handles the extension increments itself. */
export interface ReapplyMetrics {
  /** `chainsaw_pod_lookups_total{result}`: ADDs' pod cache lookups, the daemon's and the socket's (hit, miss, unsynced). */
  lookups(result: LookupResult): void;
  /** `chainsaw_pod_annotation_sources_total{source}`: where ADD reports got the annotation. */
  annotationSource(source: string): void;
  /** `chainsaw_attachments_pruned_total{reason}`: attachments forgotten without a DEL. */
  pruned(reason: PruneReason, count: number): void;
  /** `chainsaw_state_writes_total{result}`: state file writes (ok, error). */
  stateWrite(ok: boolean): void;
}

/** The annotation sources an ADD report may name (anything else counts as "none"). */
const SOURCES = new Set(["runtime", "daemon", "api", "none"]);

/** Brings a counter up to a value kept elsewhere (counters only grow). */
function follow(counter: Counter, value: number, labels?: Record<string, string>): void {
  const delta = value - counter.get(labels);
  if (delta > 0) counter.inc(labels, delta);
}

function setGauge(g: Gauge, value: number): void {
  g.set(value);
}

/** Registers the families and the collector. */
export function createReapplyMetrics(registry: MetricsRegistry, sources: ReapplySources): ReapplyMetrics {
  const lookups = registry.counter(
    "chainsaw_pod_lookups_total",
    "Pod lookups in the pod cache for ADDs (the daemon's own and the plugin's on the socket), by result (hit: " +
      "answered from the pod cache; miss: not cached, the API server is asked; unsynced: the cache has not " +
      "listed the node's pods yet).",
    ["result"],
  );
  const annotationSources = registry.counter(
    "chainsaw_pod_annotation_sources_total",
    "ADDs by where the pod's annotation came from (runtime, daemon: the pod cache, api: a GET by the " +
      "daemon or the plugin, none: not read).",
    ["source"],
  );
  const attachments = registry.gauge("chainsaw_attachments", "Pod interfaces chainsaw keeps for re-apply.");
  const pruned = registry.counter(
    "chainsaw_attachments_pruned_total",
    "Attachments forgotten without a DEL, by reason (netns_gone, pod_gone, gc).",
    ["reason"],
  );
  const writes = registry.counter(
    "chainsaw_state_writes_total",
    "Writes of the attachments state file, by result (ok, error).",
    ["result"],
  );
  const collectors: Array<() => void> = [() => setGauge(attachments, sources.attachments())];

  const watch = sources.watch;
  if (watch) {
    const lists = registry.counter("chainsaw_pod_watch_lists_total", "Complete pod lists of this node.");
    const streams = registry.counter("chainsaw_pod_watch_streams_total", "Pod watch streams opened.");
    const relists = registry.counter(
      "chainsaw_pod_watch_relists_total",
      "Re-lists because the watched resourceVersion was gone (410 Gone / Expired).",
    );
    const errors = registry.counter(
      "chainsaw_pod_watch_errors_total",
      "Failed list or watch requests, broken streams, ERROR events and undecodable watch events.",
    );
    const events = registry.counter(
      "chainsaw_pod_watch_events_total",
      "Watch events received, by type (pod: ADDED/MODIFIED/DELETED, bookmark).",
      ["type"],
    );
    const pods = registry.gauge("chainsaw_pod_cache_pods", "Pods of this node in the pod cache.");
    const synced = registry.gauge("chainsaw_pod_cache_synced", "1 once the pod cache holds a complete list.");
    collectors.push(() => {
      const c = watch.counters;
      follow(lists, c.lists);
      follow(streams, c.watches);
      follow(relists, c.relists410);
      follow(errors, c.errors);
      follow(events, c.events, { type: "pod" });
      follow(events, c.bookmarks, { type: "bookmark" });
      setGauge(pods, watch.pods());
      setGauge(synced, watch.synced() ? 1 : 0);
    });
  }

  const recorder = sources.events;
  if (recorder) {
    const posted = registry.counter(
      "chainsaw_events_total",
      "Kubernetes Events about executions, by result (created: a new Event; counted: a repeat raised the count " +
        "of an existing one; failed: not recorded, the pod is unaffected).",
      ["result"],
    );
    collectors.push(() => {
      follow(posted, recorder.posted - recorder.patched, { result: "created" });
      follow(posted, recorder.patched, { result: "counted" });
      follow(posted, recorder.failed, { result: "failed" });
    });
  }
  registry.addCollector(() => {
    for (const c of collectors) c();
  });

  return {
    lookups: (result) => lookups.inc({ result }),
    annotationSource: (source) => annotationSources.inc({ source: SOURCES.has(source) ? source : "none" }),
    pruned: (reason, count) => pruned.inc({ reason }, count),
    stateWrite: (ok) => writes.inc({ result: ok ? "ok" : "error" }),
  };
}
