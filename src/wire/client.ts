/**
 * The plugin's side of the daemon socket: one bounded HTTP/1.1 exchange over the unix socket per call, and one
 * typed function per route of {@link ROUTES}. The daemon never imports this module (it serves the routes).
 *
 * It speaks HTTP/1.1 itself over `Deno.connect({ transport: "unix" })` instead of `fetch` with
 * `Deno.createHttpClient`: the first `fetch` of a process costs ≈ 10 ms (client set-up) and building a
 * `Response` another ≈ 3 ms, against ≈ 1 ms for the whole exchange here, on every ADD and DEL of every pod.
 *
 * An exchange ends in one of four states, which ADD depends on to never run a list twice:
 * `unreachable` (no socket, connection refused: the daemon certainly did nothing), `refused` (connected, but the
 * daemon closed with the request unread — a broken pipe or a reset, e.g. evicted at its connection cap: it
 * did nothing), `lost` (the request was read, no whole answer in time: the daemon may have acted), `answered`.
 *
 * Nothing here loads zod at start-up (every pod's ADD and DEL load this module): the ADD answer is accepted by a
 * plain check that defers to `AddAnswerSchema` for anything it does not accept, and the schemas of the other
 * answers are imported when such an answer arrives.
 * @module
 */
import { concatBytes, writeAll } from "../bytes.ts";
import { errorText } from "../text/error_text.ts";
import type { AddAnswer, AddRequest } from "./add.ts";
import type { AttachmentForget, AttachmentRegistration } from "./attachment.ts";
import { CHECK_ANSWER_WAIT_MS, type CheckAnswer, type CheckRequest, plainCheckAnswer } from "./check.ts";
import type { GcRequest } from "./gc.ts";
import { DAEMON_WAIT_MS, type PodAnswer, podLookupPath } from "./pod_lookup.ts";
import { ROUTES } from "./routes.ts";

/** The answer: the parts of a fetch `Response` the plugin uses. */
export interface DaemonResponse {
  status: number;
  ok: boolean;
  text(): string;
  json(): unknown;
}

/** What a request carries. */
export interface DaemonRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** How an exchange ended. */
export type Exchange =
  | { state: "unreachable" }
  /** Connected, but the daemon closed without reading the request (broken pipe, reset): it did nothing. */
  | { state: "refused"; reason: string }
  | { state: "lost"; reason: string }
  | { state: "answered"; res: DaemonResponse };

/** Largest answer read (pod lookups and health checks are small). */
const MAX_RESPONSE_BYTES = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function indexOfCrlfCrlf(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function dechunk(body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  for (;;) {
    let eol = off;
    while (eol + 1 < body.length && !(body[eol] === 13 && body[eol + 1] === 10)) eol++;
    const size = parseInt(decoder.decode(body.subarray(off, eol)).split(";")[0], 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    off = eol + 2 + size + 2;
  }
  return concatBytes(parts);
}

/**
 * Parses a whole HTTP/1.1 response (the server closed the connection after it).
 *
 * @param raw the bytes read until EOF
 * @returns the response
 * @throws Error when the bytes are not an HTTP/1.x response
 */
export function parseHttpResponse(raw: Uint8Array): DaemonResponse {
  const end = indexOfCrlfCrlf(raw);
  if (end < 0) throw new Error("incomplete HTTP response");
  const head = decoder.decode(raw.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1]);
  if (!Number.isInteger(status)) throw new Error(`bad HTTP status line ${JSON.stringify(head[0])}`);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) body = dechunk(body);
  else if (headers.has("content-length")) body = body.subarray(0, Number(headers.get("content-length")));
  const text = decoder.decode(body);
  return { status, ok: status >= 200 && status < 300, text: () => text, json: () => JSON.parse(text) };
}

/**
 * One exchange with the daemon at `socket`.
 *
 * @param socket the daemon's socket path
 * @param path the request path (with query)
 * @param init method, headers, body
 * @param timeoutMs bound on the exchange once connected
 * @returns how it ended; never throws
 */
export async function exchange(
  socket: string,
  path: string,
  init: DaemonRequestInit,
  timeoutMs: number,
): Promise<Exchange> {
  // No socket, no daemon: a stat says so without loading Deno's networking code (≈ 9 ms in a fresh process).
  try {
    if (!Deno.statSync(socket).isSocket) return { state: "unreachable" };
  } catch {
    return { state: "unreachable" };
  }
  // Connect before arming the deadline: a refused connection (a stale socket file) fails at once.
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socket });
  } catch {
    return { state: "unreachable" };
  }
  // AbortSignal.timeout, not setTimeout: the first `setTimeout` of a Deno 2.9 process costs 5–9 ms (its timer
  // code is set up lazily), the signal's timer < 1 ms; it does not keep the process alive (the read does).
  let timedOut = false;
  const deadline = AbortSignal.timeout(timeoutMs);
  const onDeadline = () => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  deadline.addEventListener("abort", onDeadline);
  try {
    const body = encoder.encode(init.body ?? "");
    let head = `${init.method ?? "GET"} ${path} HTTP/1.1\r\nHost: chainsaw\r\nConnection: close\r\n`;
    for (const [k, v] of Object.entries(init.headers ?? {})) head += `${k}: ${v}\r\n`;
    if (init.body !== undefined) head += `Content-Length: ${body.length}\r\n`;
    // A server that answers and closes without reading the whole request may make the write fail (EPIPE),
    // and what it said is still to be read.
    let writeError: unknown;
    try {
      await writeAll(conn, concatBytes([encoder.encode(head + "\r\n"), body]));
    } catch (e) {
      writeError = e;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        chunks.push(buf.slice(0, n));
        total += n;
        if (total > MAX_RESPONSE_BYTES) return { state: "lost", reason: "answer too large" };
      }
    } catch (e) {
      if (chunks.length === 0) throw writeError ?? e;
      // Reset after an answer arrived (the refusal's close with our request unread): the answer stands.
    }
    if (chunks.length === 0 && writeError) throw writeError;
    return { state: "answered", res: parseHttpResponse(concatBytes(chunks)) };
  } catch (e) {
    if (timedOut) return { state: "lost", reason: `no answer within ${timeoutMs} ms` };
    // A broken pipe or a reset before any answer means the daemon closed with our request unread: its server
    // reads a whole request (head and Content-Length body) before any handler runs, and a daemon that dies
    // after reading it closes cleanly (EOF, below "lost"), so nothing ran.
    if (e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset) {
      return {
        state: "refused",
        reason: `the daemon closed the connection unread (${e.message})`,
      };
    }
    return { state: "lost", reason: errorText(e) };
  } finally {
    deadline.removeEventListener("abort", onDeadline);
    try {
      conn.close();
    } catch {
      // closed by the timeout
    }
  }
}

/**
 * Sends `init` to `path` and hands a whole answer to `read`; undefined when the daemon is absent, slow, or
 * `read` throws. For the best-effort routes (reports, lookups, registration, GC, STATUS).
 */
export async function daemonRequest<T>(
  socket: string,
  path: string,
  init: DaemonRequestInit,
  timeoutMs: number,
  read: (res: DaemonResponse) => T | Promise<T>,
): Promise<T | undefined> {
  const x = await exchange(socket, path, init, timeoutMs);
  if (x.state !== "answered") return undefined;
  try {
    return await read(x.res);
  } catch {
    return undefined;
  }
}

function postJson(body: unknown): DaemonRequestInit {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** Bound on the best-effort exchanges (reports, registration, forget). */
export const SEND_TIMEOUT_MS = 1000;

/** POSTs a report; true when the daemon took it. */
export async function sendReport(
  socket: string,
  report: unknown,
  timeoutMs = SEND_TIMEOUT_MS,
): Promise<boolean> {
  return (await daemonRequest(socket, ROUTES.reports.path, postJson(report), timeoutMs, (r) => r.ok)) ??
    false;
}

/** Registers an attachment after an ADD the plugin ran itself; true when the daemon took it. */
export async function registerAttachment(
  socket: string,
  registration: AttachmentRegistration,
  timeoutMs = SEND_TIMEOUT_MS,
): Promise<boolean> {
  return (await daemonRequest(
    socket,
    ROUTES.register.path,
    postJson(registration),
    timeoutMs,
    (r) => r.ok,
  )) ??
    false;
}

/** Tells the daemon to forget a container's attachments (DEL); true when it answered. */
export async function forgetAttachment(
  socket: string,
  forget: AttachmentForget,
  timeoutMs = SEND_TIMEOUT_MS,
): Promise<boolean> {
  return (await daemonRequest(socket, ROUTES.forget.path, postJson(forget), timeoutMs, (r) => r.ok)) ?? false;
}

/** True when the daemon answers its health route. */
export async function daemonHealthy(socket: string, timeoutMs: number): Promise<boolean> {
  return (await daemonRequest(socket, ROUTES.health.path, {}, timeoutMs, (r) => r.ok)) ?? false;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The plain check of an ADD answer: the answer as `AddAnswerSchema` decodes it when it is plainly valid, undefined
 * when the schema must decide (never a different answer than the schema's; `client_test.ts` holds them to it).
 */
export function plainAddAnswer(v: unknown): AddAnswer | undefined {
  if (!isObject(v)) return undefined;
  if (v.ran === false) {
    return typeof v.reason === "string" && v.reason.length <= 4096
      ? { ran: false, reason: v.reason }
      : undefined;
  }
  if (v.ran !== true) return undefined;
  const e = v.error;
  if (e === undefined) return { ran: true };
  if (!isObject(e) || !Number.isSafeInteger(e.code) || typeof e.msg !== "string") return undefined;
  if (e.details === undefined) return { ran: true, error: { code: e.code as number, msg: e.msg } };
  if (typeof e.details !== "string") return undefined;
  return { ran: true, error: { code: e.code as number, msg: e.msg, details: e.details } };
}

/** How an ADD request to the daemon ended. */
export type AddExchange =
  /** The daemon did not run it: absent, or it declined before doing anything. The plugin runs it. */
  | { state: "declined"; reason: string; daemonUp: boolean }
  /** The daemon may have run it but gave no usable answer: never run again. */
  | { state: "lost"; reason: string }
  /** The daemon ran it. */
  | { state: "ran"; answer: Extract<AddAnswer, { ran: true }> };

/**
 * Hands an ADD to the daemon (`POST /v1/add`).
 *
 * @param socket the daemon's socket
 * @param request what the plugin's ADD knows
 * @param timeoutMs bound on the whole exchange once connected (the list's own bound plus a margin)
 * @returns declined (run it here), lost (an error: it may have run), or ran
 */
export async function requestAdd(
  socket: string,
  request: AddRequest,
  timeoutMs: number,
): Promise<AddExchange> {
  const x = await exchange(socket, ROUTES.add.path, postJson(request), timeoutMs);
  if (x.state === "unreachable") {
    return { state: "declined", reason: "the daemon is not running", daemonUp: false };
  }
  if (x.state === "refused") return { state: "declined", reason: x.reason, daemonUp: true };
  if (x.state === "lost") return x;
  const { res } = x;
  // A 503 is the server refusing the connection before reading it (older daemons did so over their
  // connection cap): nothing ran.
  if (res.status === 503) {
    return { state: "declined", reason: "the daemon is busy (503)", daemonUp: true };
  }
  // A 4xx is answered before anything runs (an older daemon without the route, a request it cannot read).
  if (res.status >= 400 && res.status < 500) {
    return {
      state: "declined",
      reason: `the daemon answered ${res.status}: ${res.text().trim().slice(0, 200)}`,
      daemonUp: true,
    };
  }
  if (!res.ok) return { state: "lost", reason: `the daemon answered ${res.status}` };
  let body: unknown;
  try {
    body = res.json();
  } catch {
    return { state: "lost", reason: "the daemon's answer is not JSON" };
  }
  let answer = plainAddAnswer(body);
  if (!answer) {
    const r = (await import("./add.ts")).AddAnswerSchema.safeParse(body);
    if (!r.success) return { state: "lost", reason: "the daemon's answer is malformed" };
    answer = r.data;
  }
  return answer.ran ? { state: "ran", answer } : { state: "declined", reason: answer.reason, daemonUp: true };
}

/**
 * Asks the daemon's pod cache for `pod`. Undefined when the daemon is absent, not synced, slow, or does not have
 * it: the caller then asks the API server itself.
 *
 * @param socket the daemon's socket
 * @param pod the pod
 * @param waitMs how long the daemon may wait for a pod its watch has not seen yet
 * @returns the pod's UID and chainsaw's annotations, or undefined
 */
export async function lookUpPod(
  socket: string,
  pod: { namespace: string; name: string; uid: string },
  waitMs: number = DAEMON_WAIT_MS,
): Promise<PodAnswer | undefined> {
  return await daemonRequest(socket, podLookupPath(pod, waitMs), {}, waitMs + 500, async (res) => {
    if (!res.ok) return undefined;
    const r = (await import("./pod_lookup_schema.ts")).PodAnswerSchema.safeParse(res.json());
    return r.success ? r.data : undefined;
  });
}

/**
 * Hands the valid attachments of `network` to the daemon. Resolves how many attachments the daemon forgot, or
 * undefined when it is down, slow, or refused the request; never throws.
 */
export async function forwardGc(
  socket: string,
  request: GcRequest,
  timeoutMs: number,
): Promise<number | undefined> {
  return await daemonRequest(socket, ROUTES.gc.path, postJson(request), timeoutMs, async (res) => {
    if (!res.ok) return undefined;
    const r = (await import("./gc.ts")).GcAnswerSchema.safeParse(res.json());
    return r.success ? r.data.removed : undefined;
  });
}

/** How a CHECK request to the daemon ended. */
export type CheckExchange =
  /** The daemon answered with a verdict. */
  | { state: "answered"; answer: CheckAnswer }
  /** No verdict: the daemon is not running, did not answer in time, or answered something else. */
  | { state: "none"; reason: string };

/**
 * Asks the daemon whether chainsaw's effect in an attachment still holds (`POST /v1/check`). Never throws.
 *
 * @param socket the daemon's socket
 * @param request the attachment (container, interface, network)
 * @param timeoutMs bound on the exchange once connected
 * @returns the verdict, or why there is none
 */
export async function requestCheck(
  socket: string,
  request: CheckRequest,
  timeoutMs: number = CHECK_ANSWER_WAIT_MS,
): Promise<CheckExchange> {
  const x = await exchange(socket, ROUTES.check.path, postJson(request), timeoutMs);
  if (x.state === "unreachable") return { state: "none", reason: "the daemon is not running" };
  if (x.state !== "answered") return { state: "none", reason: x.reason };
  const { res } = x;
  if (!res.ok) return { state: "none", reason: `the daemon answered ${res.status}` };
  let body: unknown;
  try {
    body = res.json();
  } catch {
    return { state: "none", reason: "the daemon's answer is not JSON" };
  }
  let answer = plainCheckAnswer(body);
  if (!answer) {
    const r = (await import("./check_schema.ts")).CheckAnswerSchema.safeParse(body);
    if (!r.success) return { state: "none", reason: "the daemon's answer is malformed" };
    answer = r.data;
  }
  return { state: "answered", answer };
}
