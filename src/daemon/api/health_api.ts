/**
 * The HTTP API on the health port (TCP, `--health-addr`): probes and Prometheus scraping. It serves nothing
 * sensitive — no command output, no pod names or annotations — only states and counts.
 *
 * | request | answer |
 * |---|---|
 * | `GET /healthz` | 200 `ok` while the process serves (liveness) |
 * | `GET /readyz` | 200 `ready`, or 503 with the reasons (not installed yet, socket down, shutting down) |
 * | `GET /metrics` | 200, Prometheus text format 0.0.4 |
 * @module
 */
import type { DaemonState } from "../daemon_state.ts";
import type { RequestLine } from "../../http/conn.ts";
import { METRICS_CONTENT_TYPE, type MetricsRegistry } from "../metrics/metrics_registry.ts";

/** What the health API looks at. */
export interface HealthApiDeps {
  state: DaemonState;
  registry: MetricsRegistry;
  /** Called before rendering metrics, to refresh gauges. */
  beforeScrape?: () => void;
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** Builds the health port's handler (it reads only the request line; a `Request` will do). */
export function createHealthHandler(deps: HealthApiDeps): (req: RequestLine) => Response {
  return (req: RequestLine): Response => {
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "use GET");
    switch (new URL(req.url).pathname) {
      case "/healthz":
        return text(200, "ok");
      case "/readyz": {
        const why = deps.state.notReadyReasons();
        return why.length === 0 ? text(200, "ready") : text(503, `not ready: ${why.join(", ")}`);
      }
      case "/metrics":
        deps.beforeScrape?.();
        return new Response(deps.registry.render(), { headers: { "Content-Type": METRICS_CONTENT_TYPE } });
      default:
        return text(404, "not found");
    }
  };
}
