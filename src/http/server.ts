/**
 * The daemon's HTTP server on a TCP port or a unix socket: an accept loop over `Deno.listen` that never ends on
 * an accept error (EMFILE and the like are counted, and the loop backs off), a cap on concurrent connections
 * (the excess is closed at once and counted), and connections served by conn.ts with idle, header, body
 * and write timeouts.
 *
 * Why not `Deno.serve`: in Deno 2.9.6 it has no connection cap and no timeouts, and one failed accept ends its
 * server for good (its `finished` promise rejects, the listener is closed), so a flood of idle connections takes
 * the daemon's port away even when the rejection is handled.
 * @module
 */
import {
  type ConnLimits,
  type Handler,
  HttpConnection,
  type LineHandler,
  type TimeoutPhase,
} from "./conn.ts";

/** What the server reports (the daemon turns these into metrics and log lines). */

/** The whole answer to a connection over the cap (or arriving while the server closes). */
const BUSY = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 18\r\nconnection: close\r\n\r\n" +
    "too many requests\n",
);
export interface ServerEvents {
  /** A connection was accepted and is being served. */
  opened?(): void;
  /** A served connection closed. */
  closed?(): void;
  /** A connection over the cap was closed at once. */
  refused?(): void;
  /** `accept` failed (e.g. EMFILE); the loop waits `backoffMs` before it accepts again. */
  acceptError?(error: Error, backoffMs: number): void;
  timeout?(phase: TimeoutPhase): void;
  badRequest?(status: number, message: string): void;
  /** The handler threw (the server answers 500). */
  handlerError?(error: unknown): void;
}

/** Where and how to serve. */
export interface ServeOptions {
  /** A TCP address, or a unix socket path. */
  listen: { hostname: string; port: number } | { path: string };
  /** Answers each request; `{line}` for a handler that needs only the request line (cheaper). */
  handler: Handler | { line: LineHandler };
  /** Most connections served at once. */
  maxConnections: number;
  limits: ConnLimits;
  events?: ServerEvents;
}

/** A running server. */
export interface HttpServer {
  /** The bound address (the port chosen for port 0). */
  readonly addr: Deno.Addr;
  /** Connections being served. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, lets requests in progress finish; resolves when all closed. */
  shutdown(): Promise<void>;
}

/** Default bounds of a connection. */
export const DEFAULT_CONN_LIMITS: ConnLimits = {
  idleTimeoutMs: 10_000,
  headerTimeoutMs: 5_000,
  bodyTimeoutMs: 10_000,
  writeTimeoutMs: 30_000,
  maxHeadBytes: 16 * 1024,
};

/** First and longest pause after a failed accept. */
export const ACCEPT_BACKOFF_MS = { min: 5, max: 1000 } as const;

function internalError(): Response {
  return new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
}

/**
 * Listens and serves until {@link HttpServer.shutdown}. Throws when the address cannot be bound.
 *
 * @param opts address, handler, cap, bounds, events
 * @example
 * ```ts
 * const server = serveHttp({
 *   listen: { hostname: "127.0.0.1", port: 0 },
 *   handler: () => new Response("ok\n"),
 *   maxConnections: 64,
 *   limits: DEFAULT_CONN_LIMITS,
 * });
 * await server.shutdown();
 * ```
 */
export function serveHttp(opts: ServeOptions): HttpServer {
  const ev = opts.events ?? {};
  const listener: Deno.Listener = "path" in opts.listen
    ? Deno.listen({ transport: "unix", path: opts.listen.path })
    : Deno.listen({ hostname: opts.listen.hostname, port: opts.listen.port });
  const tcp = !("path" in opts.listen);
  const connEvents = {
    timeout: (phase: TimeoutPhase) => ev.timeout?.(phase),
    badRequest: (status: number, message: string) => ev.badRequest?.(status, message),
    handlerError: (e: unknown) => {
      ev.handlerError?.(e);
      return internalError();
    },
  };
  const conns = new Set<HttpConnection>();
  const running = new Set<Promise<void>>();
  let closing = false;
  // One coarse tick checks every connection's deadline (a timer per wait would cost two per request).
  const shortest = Math.min(
    opts.limits.idleTimeoutMs,
    opts.limits.headerTimeoutMs,
    opts.limits.bodyTimeoutMs,
    opts.limits.writeTimeoutMs,
  );
  const expireAll = () => {
    const now = performance.now();
    for (const c of conns) c.expire(now);
  };
  const sweep = setInterval(expireAll, Math.min(Math.max(shortest / 4, 10), 500));

  const loop = (async () => {
    let backoff = 0;
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (e) {
        if (closing || e instanceof Deno.errors.BadResource) break;
        backoff = Math.min(Math.max(backoff * 2, ACCEPT_BACKOFF_MS.min), ACCEPT_BACKOFF_MS.max);
        ev.acceptError?.(e instanceof Error ? e : new Error(String(e)), backoff);
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      if (closing || conns.size >= opts.maxConnections) {
        // Said before any byte is read, so a client knows nothing was done (the plugin then runs its ADD
        // itself); the write fits the socket buffer and is not awaited, a flood cannot hold it.
        const refuse = conn;
        refuse.write(BUSY).catch(() => {}).finally(() => {
          try {
            refuse.close();
          } catch {
            // already gone
          }
        });
        if (!closing) ev.refused?.();
        continue;
      }
      if (tcp) {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // the peer is already gone: serving fails at once
        }
      }
      const c = new HttpConnection(conn, opts.handler, opts.limits, connEvents);
      conns.add(c);
      ev.opened?.();
      const p = c.run().finally(() => {
        conns.delete(c);
        running.delete(p);
        ev.closed?.();
      });
      running.add(p);
    }
  })();

  return {
    addr: listener.addr,
    get connections() {
      return conns.size;
    },
    async shutdown() {
      if (!closing) {
        closing = true;
        clearInterval(sweep);
        try {
          listener.close();
        } catch {
          // already closed
        }
      }
      await loop;
      for (const c of conns) c.drain();
      // Requests in progress still finish within their own bounds.
      const finishing = setInterval(expireAll, 100);
      try {
        await Promise.all([...running]);
      } finally {
        clearInterval(finishing);
      }
    },
  };
}
