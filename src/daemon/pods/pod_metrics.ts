/**
 * The metrics of the pod cache and its watch, and of where ADDs found their pod, on the daemon's registry. The
 * watcher's counters are plain numbers kept by the watcher; a collector copies them into the registry before
 * every scrape. Label values are fixed sets, as for the daemon's other metrics.
 * @module
 */
import { followCounter, type Gauge, type MetricsRegistry } from "../metrics/metrics_registry.ts";
import type { PodWatchCounters } from "./pod_watch.ts";
import type { LookupResult } from "./pod_route.ts";

/** The pod watch, when it runs: where the collected values come from. */
export interface PodWatchSource {
  counters: Readonly<PodWatchCounters>;
  synced(): boolean;
  /** Pods in the cache. */
  pods(): number;
}

/** The handles the features increment themselves. */
export interface PodMetrics {
  /** `chainsaw_pod_lookups_total{result}`: ADDs' pod cache lookups, the daemon's and the socket's (hit, miss, unsynced). */
  lookups(result: LookupResult): void;
  /** `chainsaw_pod_annotation_sources_total{source}`: where ADD reports got the annotation. */
  annotationSource(source: string): void;
}

/** The annotation sources an ADD report may name (anything else counts as "none"). */
const SOURCES = new Set(["runtime", "daemon", "api", "none"]);

function setGauge(g: Gauge, value: number): void {
  g.set(value);
}

/**
 * Registers the families (the watch's only when it runs) and the collector.
 *
 * @param registry the daemon's registry
 * @param watch the pod watch, when it runs
 * @returns the handles
 */
export function createPodMetrics(registry: MetricsRegistry, watch: PodWatchSource | undefined): PodMetrics {
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
    registry.addCollector(() => {
      const c = watch.counters;
      followCounter(lists, c.lists);
      followCounter(streams, c.watches);
      followCounter(relists, c.relists410);
      followCounter(errors, c.errors);
      followCounter(events, c.events, { type: "pod" });
      followCounter(events, c.bookmarks, { type: "bookmark" });
      setGauge(pods, watch.pods());
      setGauge(synced, watch.synced() ? 1 : 0);
    });
  }

  return {
    lookups: (result) => lookups.inc({ result }),
    annotationSource: (source) => annotationSources.inc({ source: SOURCES.has(source) ? source : "none" }),
  };
}
