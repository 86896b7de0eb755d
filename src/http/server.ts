/**
 * An HTTP/1.1 server on a TCP port or a unix socket: an accept loop over `Deno.listen` that never ends on an
 * accept error (EMFILE and the like are counted, and the loop backs off), a cap on concurrent connections, and
 * connections served by conn.ts with idle, header, body and write timeouts.
 *
 * At the cap the server neither refuses nor drops a newcomer:
 * - **Eviction.** When a served connection waits for a request head (idle, or part of a head sent), the server
 *   accepts the newcomer and closes the connection that has gone longest without a complete request (a
 *   lingering close first). So a flood of idle or slowloris connections cannot lock real clients out: each
 *   newcomer pushes the oldest waiter out, and a complete request is served as soon as it is accepted. A
 *   connection that has sent nothing yet and whose first read has not come back gets a grace
 *   ({@link ServeOptions.evictGraceMs}) while the server makes progress: its client may be about to write, or
 *   its head may be in the socket buffer, not yet read. Once one such connection was evicted (a flood of
 *   them), the next ones get {@link FLOOD_GRACE_MS} for a while.
 * - **Back-pressure.** When every connection is busy with a request, the server stops accepting until one ends
 *   or waits again; newcomers wait in the kernel's listen backlog (1024 on a unix socket, 511 on TCP with
 *   Deno 2.9.6), so a burst of complete requests is served in full, in arrival order.
 * Nothing evicted had a request read, so nothing it asked for was done.
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

/** What the server reports (e.g. as metrics and log lines). */
export interface ServerEvents {
  /** A connection was accepted and is being served. */
  opened?(): void;
  /** A served connection closed. */
  closed?(): void;
  /** At the cap, a connection waiting for a request head was closed to make room for a newcomer. */
  evicted?(): void;
  /**
   * At the cap with no connection to evict (all busy, or spared), the server did not accept for `ms` more
   * (back-pressure); said at least every second while it lasts.
   */
  paused?(ms: number): void;
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
  /**
   * At the cap, how long a connection that has sent nothing (no read came back) is spared eviction, counted from
   * the later of its accept and the last request head read on any connection; default {@link EVICT_GRACE_MS}.
   */
  evictGraceMs?: number;
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

/**
 * Default of {@link ServeOptions.evictGraceMs}. Counted from the later of the connection's accept and the last
 * request head read on any connection: while a burst is being served, a connection whose client has not written
 * yet (or whose bytes wait unread) is not a flood. Measured on a loaded 2-core machine (load average 10-20), a
 * burst of 1000 complete requests at a cap of 24: its first connections were still silent 50-90 ms after their
 * accept (the clients had not written yet), and a grace of 0 or 50 ms evicted 6-72 of them.
 */
export const EVICT_GRACE_MS = 200;

/** The grace of a connection that has sent nothing while such connections are being evicted (a flood). */
export const FLOOD_GRACE_MS = 25;
/** How long after evicting a connection that had sent nothing the shorter grace holds. */
const FLOOD_MEMORY_MS = 2000;

/** How often a listener paused at its cap reports the pause ({@link ServerEvents.paused}). */
const PAUSE_REPORT_MS = 1000;

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
    waiting: () => wake(),
    request: () => void (lastRequest = performance.now()),
  };
  const conns = new Set<HttpConnection>();
  const running = new Set<Promise<void>>();
  let closing = false;
  const grace = opts.evictGraceMs ?? EVICT_GRACE_MS;
  /** When a request head was last read on any connection (the server making progress). */
  let lastRequest = -Infinity;
  /** When a connection that had sent nothing was last evicted. */
  let silentEvictedAt = -Infinity;

  // The accept loop, at the cap, sleeps until a connection closes or starts waiting (or a grace ends).
  let woken: (() => void) | undefined;
  const wake = () => {
    const w = woken;
    woken = undefined;
    w?.();
  };

  /** The connection to evict now (the longest without a complete request), and when the next one may be. */
  const pickVictim = (now: number): { victim?: HttpConnection; next: number } => {
    let victim: HttpConnection | undefined;
    let best = Infinity;
    let next = Infinity;
    // During a flood of connections that send nothing (one of them was just evicted), a shorter grace.
    const g = now - silentEvictedAt < FLOOD_MEMORY_MS ? Math.min(grace, FLOOD_GRACE_MS) : grace;
    for (const c of conns) {
      const since = c.waitingSince;
      if (since === undefined) continue;
      // One that has sent nothing: spared while the server makes progress (a burst whose clients are slow to
      // write, or whose bytes are not read yet), evictable once nothing happened for the grace.
      const quietSince = Math.max(since, lastRequest);
      if (!c.heard && now - quietSince < g) {
        next = Math.min(next, quietSince + g);
        continue;
      }
      if (since < best) {
        best = since;
        victim = c;
      }
    }
    return { victim, next };
  };

  /** Resolves once there is room below the cap or a connection to evict for a newcomer (or on shutdown). */
  const room = async (): Promise<void> => {
    let pausedAt: number | undefined;
    // The pause is reported as it goes (at least every PAUSE_REPORT_MS), not only when it ends.
    const reportPause = () => {
      if (pausedAt === undefined) return;
      const now = performance.now();
      ev.paused?.(now - pausedAt);
      pausedAt = now;
    };
    try {
      for (;;) {
        if (closing || conns.size < opts.maxConnections) return;
        const now = performance.now();
        const { victim, next } = pickVictim(now);
        if (victim) {
          // One that has sent nothing: one more turn of the event loop, so that a read whose bytes are in the
          // socket buffer can come back first (it helps; it does not replace the grace).
          if (!victim.heard) await new Promise((r) => setTimeout(r, 0));
          if (victim.waitingSince !== undefined) return;
          continue;
        }
        pausedAt ??= now;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          woken = resolve;
          timer = setTimeout(wake, Math.min(Math.max(0, next - now) + 1, PAUSE_REPORT_MS));
        });
        clearTimeout(timer);
        reportPause();
      }
    } finally {
      reportPause();
    }
  };
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
      await room();
      if (closing) break;
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
      if (closing) {
        conn.close();
        break;
      }
      if (conns.size >= opts.maxConnections) {
        // Chosen now, not before the accept: the one found then may have sent its head meanwhile. When none
        // is left the newcomer is served anyway (one over the cap, until a connection ends).
        const { victim } = pickVictim(performance.now());
        if (victim) {
          if (!victim.heard) silentEvictedAt = performance.now();
          victim.evict();
          ev.evicted?.();
        }
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
        wake();
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
        wake();
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
