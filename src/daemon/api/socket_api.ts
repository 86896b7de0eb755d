/**
 * The HTTP API on the daemon's unix socket (root-only, 0600; the routes are src/wire/routes.ts): where
 * plugins hand over ADDs and hand in the reports of ADDs they ran themselves, and where `chainsaw logs` reads
 * them back.
 *
 * | request | answer |
 * |---|---|
 * | `GET /healthz` | 200 `ok` (the plugin's STATUS asks this) |
 * | `POST /v1/reports` (a Report as JSON) | 204; 400 malformed; 413 over 1 MiB |
 * | `GET /v1/logs?pod=ns/name&trace=ID&limit=N` | 200 NDJSON: the last N (default 100) matching reports, oldest first |
 * | `GET /v1/logs?...&follow=1` | 200 NDJSON stream: the same, then each new matching report as it arrives; a follower more than `followerMaxBytes` behind is dropped (follow_stream.ts) |
 *
 * The daemon's pod features add their own paths with {@link SocketApi.addRoute} (`/v1/pods`, `/v1/add`, …);
 * every route is in src/wire/routes.ts.
 * @module
 */
import type * as z from "zod/mini";
import { concatBytes } from "../../bytes.ts";
import { describeZodIssue } from "../../text/zod_issue.ts";
import type { Report } from "../../report/report.ts";
import { ROUTES } from "../../wire/routes.ts";
import type { DaemonMetrics } from "../metrics/daemon_metrics.ts";
import { DAEMON_DEFAULTS } from "../flags.ts";
import { followStream } from "../reports/follow_stream.ts";
import { streamingResponse } from "../../http/conn.ts";
import { LOGS_PATH, LogsQueryError, parseLogsQuery } from "../../wire/logs.ts";
import type { ReportRing } from "../reports/report_ring.ts";
import { decodeReport, MAX_REPORT_BYTES, ReportDecodeError } from "../../wire/report.ts";

/** The reports path. */
const REPORTS_PATH: string = ROUTES.reports.path;
/** The NDJSON content type. */
export const NDJSON = "application/x-ndjson";

/** What the API works on. */
export interface SocketApiDeps {
  ring: ReportRing;
  metrics: DaemonMetrics;
  /** Takes an accepted report (stores, counts, prints it). */
  accept(report: Report): void;
  /** Largest report body; default {@link MAX_REPORT_BYTES}. */
  maxReportBytes?: number;
  /** Most bytes of new reports a log follower may fall behind before it is dropped; default the daemon's. */
  followerMaxBytes?: number;
}

/** Handles requests under an added path prefix. */
export type SocketRouteHandler = (req: Request, url: URL) => Response | Promise<Response>;

/** The socket API: its handler, extra routes, and a way to end all follow streams (at shutdown). */
export interface SocketApi {
  handler(req: Request): Promise<Response>;
  /** Routes `prefix` and everything under `prefix/` to `handle` (built-in paths cannot be taken). */
  addRoute(prefix: string, handle: SocketRouteHandler): void;
  closeFollowers(): void;
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Reads a body as text, or returns undefined once it exceeds `max` bytes. */
export async function readBodyCapped(req: Request, max: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("Content-Length") ?? "0");
  if (declared > max) {
    await req.body?.cancel();
    return undefined;
  }
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/** What a posted body is decoded with: a zod schema. */
export interface BodySchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: z.core.$ZodError };
}

/**
 * The JSON body of a `POST`, decoded by `schema`, or the answer to give instead: 405 for another method (with
 * `Allow: POST`), 413 for a body over `max` bytes, 400 for one that is not JSON or not what the schema wants
 * (its first issue, worded by `describeZodIssue`). The one reading of every JSON route of the socket.
 *
 * @param req the request
 * @param max the body's bound in bytes
 * @param schema what the body must be
 * @param refuse how the route words a 413 or 400 (default: the message as a line of text)
 * @returns the decoded body, or the response to give
 * @example
 * ```ts
 * import { postedJson } from "./socket_api.ts";
 * import { GcRequestSchema, MAX_GC_BODY_BYTES } from "../../wire/gc.ts";
 * declare const req: Request;
 * const body = await postedJson(req, MAX_GC_BODY_BYTES, GcRequestSchema);
 * if (!body.ok) return body.response;
 * body.data; // the GcRequest
 * ```
 */
export async function postedJson<T>(
  req: Request,
  max: number,
  schema: BodySchema<T>,
  refuse: (status: 400 | 413, message: string) => Response = text,
): Promise<{ ok: true; data: T } | { ok: false; response: Response }> {
  if (req.method !== "POST") {
    return { ok: false, response: new Response("use POST\n", { status: 405, headers: { Allow: "POST" } }) };
  }
  const body = await readBodyCapped(req, max);
  if (body === undefined) return { ok: false, response: refuse(413, `body larger than ${max} bytes`) };
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { ok: false, response: refuse(400, "body is not JSON") };
  }
  const r = schema.safeParse(data);
  if (!r.success) return { ok: false, response: refuse(400, describeZodIssue(r.error)) };
  return { ok: true, data: r.data };
}

/** Builds the socket API over a ring and metrics. */
export function createSocketApi(deps: SocketApiDeps): SocketApi {
  const maxBytes = deps.maxReportBytes ?? MAX_REPORT_BYTES;
  const followerMaxBytes = deps.followerMaxBytes ?? DAEMON_DEFAULTS.followerMaxBytes;
  const closers = new Set<() => void>();
  const routes: Array<{ prefix: string; handle: SocketRouteHandler }> = [];

  async function postReport(req: Request): Promise<Response> {
    const body = await readBodyCapped(req, maxBytes);
    if (body === undefined) {
      deps.metrics.dropped.inc({ reason: "too_large" });
      return text(413, `report larger than ${maxBytes} bytes`);
    }
    let report: Report;
    try {
      report = decodeReport(body);
    } catch (e) {
      if (!(e instanceof ReportDecodeError)) throw e;
      deps.metrics.dropped.inc({ reason: "malformed" });
      return text(400, `invalid report: ${e.message}`);
    }
    deps.accept(report);
    return new Response(null, { status: 204 });
  }

  function getLogs(url: URL): Response {
    let q;
    try {
      q = parseLogsQuery(url.searchParams);
    } catch (e) {
      if (e instanceof LogsQueryError) return text(400, e.message);
      throw e;
    }
    const filter = { pod: q.pod, trace: q.trace };
    const backlog = deps.ring.recent(filter, q.limit);
    if (!q.follow) {
      return new Response(backlog.map((e) => e.json + "\n").join(""), {
        headers: { "Content-Type": NDJSON },
      });
    }
    const follower = followStream({
      ring: deps.ring,
      filter,
      backlog,
      maxBytes: followerMaxBytes,
      onDrop: () => deps.metrics.followersDropped.inc({ reason: "too_slow" }),
      onEnd: () => {
        closers.delete(follower.close);
        deps.metrics.followers.dec();
      },
    });
    closers.add(follower.close);
    deps.metrics.followers.inc();
    return streamingResponse(follower.body, {
      headers: { "Content-Type": NDJSON, "Cache-Control": "no-store" },
    });
  }

  async function handler(req: Request): Promise<Response> {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/healthz":
        return req.method === "GET" || req.method === "HEAD"
          ? text(200, "ok")
          : text(405, "use GET", { Allow: "GET" });
      case REPORTS_PATH:
        return req.method === "POST" ? await postReport(req) : text(405, "use POST", { Allow: "POST" });
      case LOGS_PATH:
        return req.method === "GET" ? getLogs(url) : text(405, "use GET", { Allow: "GET" });
      default: {
        const route = routes.find((r) =>
          url.pathname === r.prefix || url.pathname.startsWith(`${r.prefix}/`)
        );
        return route ? await route.handle(req, url) : text(404, `no such path ${url.pathname}`);
      }
    }
  }

  return {
    handler,
    addRoute(prefix, handle) {
      if (!/^\/[^?#]*[^/]$/.test(prefix) || [REPORTS_PATH, LOGS_PATH, "/healthz"].includes(prefix)) {
        throw new Error(`cannot route ${prefix}`);
      }
      routes.push({ prefix, handle });
    },
    closeFollowers() {
      for (const close of [...closers]) close();
    },
  };
}
