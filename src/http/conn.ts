/**
 * One HTTP/1.1 connection of the daemon's own server (server.ts): reads strict request heads
 * (head.ts), hands each request to a `(Request) => Response` handler, writes the answer, and keeps the
 * connection open between requests — every wait bounded:
 *
 * | wait | bound |
 * |---|---|
 * | for the first byte of a request (a new or kept-alive connection) | `idleTimeoutMs` |
 * | from the first byte to the end of the head | `headerTimeoutMs` (slowloris) |
 * | for the whole Content-Length body | `bodyTimeoutMs` |
 * | for any one write to complete (a peer that stops reading) | `writeTimeoutMs` |
 *
 * A timeout closes the connection (the server checks the deadlines with {@link HttpConnection.expire} on a
 * coarse tick: one timer per server instead of two per request). Answers are written with a Content-Length, in one write when small;
 * responses made with {@link streamingResponse} are sent chunked as their body produces data, and the
 * connection closes after them (or when the peer hangs up).
 *
 * An answer that ends the connection with the request not wholly read (a refused head such as 411 for a chunked
 * body, or an unread body too large to drain) closes the way servers do, a lingering close: the write side is
 * shut down (the client reads the answer, then end of stream), and what the client still sends is read and
 * dropped until it closes too, for at most `lingerMs` and {@link LINGER_BYTES}. Closing at once instead would
 * leave the client's bytes unread, and the kernel answers those with a reset that can destroy the answer before
 * the client reads it (a client still writing gets EPIPE or ECONNRESET and never sees the status).
 *
 * While it waits for a request head the connection tells the server ({@link ConnEvents.waiting}), which may
 * {@link HttpConnection.evict} it to make room: see {@link HttpConnection.waitingSince}.
 * @module
 */
import { writeAll } from "../bytes.ts";
import { headEnd, HttpHeadError, parseRequestHead, type RequestHead } from "./head.ts";

/** The bounds of one connection. */
export interface ConnLimits {
  idleTimeoutMs: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  writeTimeoutMs: number;
  /** Largest request head (431 beyond). */
  maxHeadBytes: number;
  /** Longest lingering close (default {@link DEFAULT_LINGER_MS}). */
  lingerMs?: number;
}

/** How long a lingering close drains what the client still sends, by default. */
export const DEFAULT_LINGER_MS = 2000;
/** Most bytes a lingering close reads and drops before it closes anyway. */
export const LINGER_BYTES = 1024 * 1024;

/** Which wait timed out. */
export type TimeoutPhase = "idle" | "header" | "body" | "write";

/** What a connection reports to its server. */
export interface ConnEvents {
  /** A wait took too long; the connection is being closed. */
  timeout(phase: TimeoutPhase): void;
  /** A request was refused before reaching the handler (malformed head: 400, 411, 417, 431, 505). */
  badRequest(status: number, message: string): void;
  /** The handler threw: the answer to send instead. */
  handlerError(error: unknown): Response;
  /**
   * The connection waits for a request head and read what there was (nothing yet, or part of a head), or it
   * started a lingering close: it may now be evicted.
   */
  waiting(): void; /** A complete request head was read: the connection is busy with a request. */
  request(): void;
}

/** A request handler. */
export type Handler = (req: Request) => Response | Promise<Response>;

/** What a {@link LineHandler} is given: the request line only (a `Request` is one too). */
export interface RequestLine {
  readonly method: string;
  /** `http://localhost/path?query`. */
  readonly url: string;
}

/**
 * A handler that needs neither headers nor body (the health port): it is spared the `Request` object, which
 * costs more than the rest of a small request's parsing.
 */
export type LineHandler = (req: RequestLine) => Response | Promise<Response>;

const streaming = new WeakSet<Response>();

/**
 * A response whose body is sent as it is produced (chunked), e.g. a log follow stream. Any other response's
 * body is read whole first and sent with a Content-Length.
 *
 * @param body the stream to send
 * @param init status and headers
 * @example
 * ```ts
 * const res = streamingResponse(new ReadableStream(), { headers: { "Content-Type": "application/x-ndjson" } });
 * ```
 */
export function streamingResponse(body: ReadableStream<Uint8Array>, init?: ResponseInit): Response {
  const res = new Response(body, init);
  streaming.add(res);
  return res;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
const STREAM_END = encoder.encode("0\r\n\r\n");
/** Bodies up to this size go out in the same write as the head. */
const COALESCE_BYTES = 64 * 1024;
const READ_BYTES = 16 * 1024;
/** Largest unread request body that is drained rather than reset. */
const DISCARD_BYTES = 8 * 1024 * 1024;

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  413: "Content Too Large",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

let dateSecond = 0;
let dateText = "";
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function responseHead(res: Response, framing: string, close: boolean): string {
  let head = `HTTP/1.1 ${res.status} ${
    REASONS[res.status] ?? res.statusText ?? ""
  }\r\ndate: ${httpDate()}\r\n`;
  for (const [k, v] of res.headers) {
    if (k !== "content-length" && k !== "transfer-encoding" && k !== "connection" && k !== "date") {
      head += `${k}: ${v}\r\n`;
    }
  }
  return `${head}${framing}${close ? "connection: close\r\n" : ""}\r\n`;
}

/** One accepted connection; {@link run} serves it until it closes. */
export class HttpConnection {
  readonly #conn: Deno.Conn;
  readonly #handler: Handler | { line: LineHandler };
  readonly #limits: ConnLimits;
  readonly #events: ConnEvents;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #deadline = Infinity;
  #phase: TimeoutPhase | "linger" = "idle";
  #closed = false;
  #idle = true;
  #draining = false;
  /** When the current wait for a request head began (accept, or the previous answer's end). */
  #waitingSince = performance.now();
  /** Requests answered on this connection. */
  #served = 0;
  /** A read came back during the current wait (the connection has had its chance to send a head). */
  #readInWait = false;
  /** Where small answers are framed (reused: each write completes before the next answer is framed). */
  #out = new Uint8Array(4096);

  /**
   * @param conn the accepted connection
   * @param handler answers each request (`{line}`: given only the request line)
   * @param limits the connection's bounds
   * @param events what the server counts
   */
  constructor(
    conn: Deno.Conn,
    handler: Handler | { line: LineHandler },
    limits: ConnLimits,
    events: ConnEvents,
  ) {
    this.#conn = conn;
    this.#handler = handler;
    this.#limits = limits;
    this.#events = events;
    this.#buf = new Uint8Array(Math.max(READ_BYTES, limits.maxHeadBytes));
  }

  /** No request is being handled (the connection waits for one). */
  get idle(): boolean {
    return this.#idle;
  }

  /**
   * Since when (`performance.now()`) the connection has waited for a request head, to choose whom to evict:
   * `undefined` while a request is being read or handled (and once closed); `-Infinity` during a lingering
   * close (its answer is out); otherwise when the wait began (accept, or the previous answer's end).
   */
  get waitingSince(): number | undefined {
    if (this.#closed) return undefined;
    if (this.#phase === "linger") return -Infinity;
    return this.#idle ? this.#waitingSince : undefined;
  }

  /**
   * Whether the connection, while it waits, has had its chance to send a head: a read came back during this
   * wait (nothing complete), or it already served a request (an idle keep-alive connection), or it lingers.
   * Until then its head may be waiting unread in the socket buffer, and the server gives it a grace.
   */
  get heard(): boolean {
    return this.#readInWait || this.#start !== this.#end || this.#served > 0 || this.#phase === "linger";
  }

  /** Closes a connection that waits for a request (see {@link waitingSince}): nothing of a request was taken. */
  evict(): void {
    this.close();
  }

  /** Finish the request in progress, if any, then close; an idle connection closes now. */
  drain(): void {
    this.#draining = true;
    if (this.#idle) this.close();
  }

  /** Closes the connection now. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadline = Infinity;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Serves requests until the connection closes; never rejects. */
  async run(): Promise<void> {
    try {
      while (!this.#closed && await this.#serveOne());
    } catch {
      // the peer went away, or a timeout closed the connection (counted when it fired)
    } finally {
      this.close();
    }
  }

  /**
   * Closes the connection if the current wait's deadline has passed (and reports the timeout).
   *
   * @param now `performance.now()`
   * @returns whether it timed out
   */
  expire(now: number): boolean {
    if (now < this.#deadline || this.#closed) return false;
    // A lingering close that runs out of time is its normal end, not a timeout.
    if (this.#phase !== "linger") this.#events.timeout(this.#phase);
    this.close();
    return this.#phase !== "linger";
  }

  #arm(phase: TimeoutPhase | "linger", ms: number): void {
    this.#phase = phase;
    this.#deadline = performance.now() + ms;
  }

  #disarm(): void {
    this.#deadline = Infinity;
  }

  /** Reads more bytes after the buffered ones; false at end of stream. */
  async #fill(): Promise<boolean> {
    if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Head text and payload as one byte array (in {@link #out} when small). */
  #frame(head: string, payload: Uint8Array = EMPTY): Uint8Array {
    const need = head.length * 3 + payload.length;
    const out = need <= COALESCE_BYTES * 2
      ? (this.#out.length >= need ? this.#out : (this.#out = new Uint8Array(need * 2)))
      : new Uint8Array(need);
    const { written } = encoder.encodeInto(head, out);
    out.set(payload, written);
    return out.subarray(0, written + payload.length);
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#arm("write", this.#limits.writeTimeoutMs);
    await writeAll(this.#conn, bytes);
    this.#disarm();
  }

  /** Serves one request; true when the connection stays open for another. */
  async #serveOne(): Promise<boolean> {
    this.#idle = true;
    if (this.#draining) return false;
    const limits = this.#limits;
    if (this.#served > 0) {
      this.#waitingSince = performance.now();
      this.#readInWait = false;
      this.#events.waiting();
    }
    if (this.#start === this.#end) this.#arm("idle", limits.idleTimeoutMs);
    else this.#arm("header", limits.headerTimeoutMs);
    let scanned = 0; // bytes of the head searched so far
    let end: number;
    for (;;) {
      end = headEnd(this.#buf, this.#start, this.#end, this.#start + scanned);
      if (end >= 0) break;
      if (this.#end - this.#start >= limits.maxHeadBytes) {
        return await this.#refuse(
          new HttpHeadError(431, `request head larger than ${limits.maxHeadBytes} bytes`),
        );
      }
      const wasEmpty = this.#start === this.#end;
      scanned = this.#end - this.#start;
      if (this.#readInWait) this.#events.waiting(); // a read came back without the head's end
      if (!await this.#fill()) return false;
      this.#readInWait = true;
      if (wasEmpty) this.#arm("header", limits.headerTimeoutMs);
    }
    let head: RequestHead;
    try {
      head = parseRequestHead(decoder.decode(this.#buf.subarray(this.#start, end - 4)));
    } catch (e) {
      if (e instanceof HttpHeadError) return await this.#refuse(e);
      throw e;
    }
    this.#start = end;
    this.#idle = false;
    this.#served++;
    this.#disarm();
    this.#events.request();

    let remaining = head.contentLength;
    let body: ReadableStream<Uint8Array> | null = null;
    if (remaining > 0) {
      this.#arm("body", limits.bodyTimeoutMs);
      let continued = !head.expectContinue;
      body = new ReadableStream<Uint8Array>({
        pull: async (controller) => {
          if (!continued) {
            continued = true;
            await writeAll(this.#conn, CONTINUE);
          }
          if (this.#start === this.#end && !await this.#fill()) {
            this.#disarm();
            controller.error(new Error("the connection closed before the request body's end"));
            return;
          }
          const n = Math.min(remaining, this.#end - this.#start);
          controller.enqueue(this.#buf.slice(this.#start, this.#start + n));
          this.#start += n;
          remaining -= n;
          if (remaining === 0) {
            this.#disarm();
            controller.close();
          }
        },
        cancel: () => this.#disarm(),
      }, { highWaterMark: 0 });
    }

    const url = `http://localhost${head.target}`;
    let res: Response;
    try {
      if ("line" in this.#handler) {
        res = await this.#handler.line({ method: head.method, url });
      } else {
        let req: Request;
        try {
          req = new Request(url, { method: head.method, headers: head.headers, body });
        } catch (e) {
          return await this.#refuse(new HttpHeadError(400, (e as Error).message, { cause: e }));
        }
        res = await this.#handler(req);
      }
    } catch (e) {
      res = this.#events.handlerError(e);
    }
    this.#disarm(); // an unread body's timer: the connection closes after the answer instead
    const noBody = head.method === "HEAD" || res.status === 204 || res.status === 304;

    if (streaming.has(res) && res.body) {
      await this.#write(this.#frame(responseHead(res, noBody ? "" : "transfer-encoding: chunked\r\n", true)));
      if (noBody) {
        await res.body.cancel();
        return false;
      }
      await this.#stream(res.body);
      return false;
    }

    const bodyless = res.status === 204 || res.status === 304;
    // HEAD: the length the GET would have, without the bytes.
    // `bytes()` without touching `res.body`: the getter would build a stream around a static body (4x the cost).
    const payload = bodyless ? EMPTY : await res.bytes();
    const close = !head.keepAlive || this.#draining || remaining > 0;
    const text = responseHead(res, bodyless ? "" : `content-length: ${payload.length}\r\n`, close);
    if (noBody || payload.length === 0) await this.#write(this.#frame(text));
    else if (payload.length <= COALESCE_BYTES) await this.#write(this.#frame(text, payload));
    else {
      await this.#write(this.#frame(text));
      await this.#write(payload);
    }
    // A body the handler did not read (e.g. refused with 413): read and drop it before closing, so that the
    // client, still sending, reads the answer instead of a reset; one too large to drain: a lingering close.
    if (remaining > DISCARD_BYTES) await this.#linger();
    else if (remaining > 0) await this.#discard(remaining);
    return !close;
  }

  /** Reads and drops `n` bytes (at most {@link DISCARD_BYTES}), within the body timeout. */
  async #discard(n: number): Promise<void> {
    this.#arm("body", this.#limits.bodyTimeoutMs);
    while (n > 0) {
      if (this.#start === this.#end && !await this.#fill()) break;
      const k = Math.min(n, this.#end - this.#start);
      this.#start += k;
      n -= k;
    }
    this.#disarm();
  }

  /** Sends a streaming body chunked; stops it when the peer hangs up or a write fails. */
  async #stream(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    // The peer sends nothing more on this connection: a read ending means it hung up.
    const hangup = this.#fill().then(() => false, () => false).then(() => reader.cancel().catch(() => {}));
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#closed) break;
        if (value.length === 0) continue;
        const size = encoder.encode(`${value.length.toString(16)}\r\n`);
        const frame = new Uint8Array(size.length + value.length + 2);
        frame.set(size, 0);
        frame.set(value, size.length);
        frame.set([13, 10], size.length + value.length);
        await this.#write(frame);
      }
      if (!this.#closed) await this.#write(STREAM_END);
    } finally {
      await reader.cancel().catch(() => {});
      this.close();
      await hangup;
    }
  }

  async #refuse(e: HttpHeadError): Promise<false> {
    this.#events.badRequest(e.status, e.message);
    const res = new Response(`${e.message}\n`, {
      status: e.status,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
    const payload = encoder.encode(`${e.message}\n`);
    await this.#write(this.#frame(responseHead(res, `content-length: ${payload.length}\r\n`, true), payload));
    await this.#linger();
    return false;
  }

  /**
   * A lingering close, after an answer that ends the connection with the request not wholly read: shuts down
   * the write side, then reads and drops what the client still sends until it closes, for at most `lingerMs`
   * and {@link LINGER_BYTES}. The caller closes.
   */
  async #linger(): Promise<void> {
    this.#idle = true;
    this.#arm("linger", this.#limits.lingerMs ?? DEFAULT_LINGER_MS);
    this.#events.waiting();
    try {
      await this.#conn.closeWrite();
      let budget = LINGER_BYTES;
      while (budget > 0 && !this.#closed) {
        const n = await this.#conn.read(this.#buf);
        if (n === null) break;
        budget -= n;
      }
    } catch {
      // the peer is gone, or the linger's time ran out (the connection was closed)
    }
    this.#disarm();
  }
}
