/**
 * The daemon process's own gauges, refreshed before every scrape: resident memory and start time under the names
 * every Prometheus exporter uses (`process_resident_memory_bytes`, `process_start_time_seconds`, so the usual
 * dashboards and restart queries work), and V8's heap. `Deno.memoryUsage()` needs no permission; the CPU time
 * and open files that other exporters read from `/proc/self` would widen the daemon's read scope, so they are
 * left to the container metrics (cAdvisor).
 *
 * ```ts
 * registerProcessMetrics(registry);
 * registry.render(); // "... process_resident_memory_bytes 52871168 ..."
 * ```
 * @module
 */
import type { MetricsRegistry } from "./metrics_registry.ts";

/** Memory figures in bytes, as `Deno.memoryUsage()` gives them. */
export interface MemoryFigures {
  rss: number;
  heapTotal: number;
  heapUsed: number;
}

/**
 * Registers the process gauges and their collector on `registry`.
 *
 * @param registry the daemon's registry
 * @param memory where the figures come from (default `Deno.memoryUsage`)
 * @param startSeconds the process's start, in seconds since the epoch (default: the time origin of this process)
 */
export function registerProcessMetrics(
  registry: MetricsRegistry,
  memory: () => MemoryFigures = () => Deno.memoryUsage(),
  startSeconds: number = performance.timeOrigin / 1000,
): void {
  const rss = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  const start = registry.gauge(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
  );
  const heapUsed = registry.gauge("chainsaw_heap_used_bytes", "JavaScript (V8) heap in use, in bytes.");
  const heapTotal = registry.gauge("chainsaw_heap_total_bytes", "JavaScript (V8) heap reserved, in bytes.");
  start.set(startSeconds);
  registry.addCollector(() => {
    const m = memory();
    rss.set(m.rss);
    heapUsed.set(m.heapUsed);
    heapTotal.set(m.heapTotal);
  });
}
