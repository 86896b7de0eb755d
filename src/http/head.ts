/**
 * The strict HTTP/1.1 request-head parser behind the daemon's listeners (see server.ts): origin-form
 * targets (`/path?query`) or absolute-form `http://` ones (what a client speaking through a unix-socket "proxy"
 * sends, e.g. `Deno.createHttpClient({proxy: {transport: "unix"}})`; the authority is ignored), CRLF line ends, ASCII only, no obs-fold, one Host, bodies framed by Content-Length only
 * (a `Transfer-Encoding` is refused with 411: nothing that talks to the daemon sends chunked bodies, and
 * accepting both framings is how requests are smuggled).
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The target in origin form (`/path?query`). */
  target: string;
  /** `1.0` or `1.1`. */
  version: string;
  /** Header fields in order, names as sent. */
  headers: [string, string][];
  /** The body's length (0 without Content-Length). */
  contentLength: number;
  /** Whether the client asked to keep the connection open after the answer. */
  keepAlive: boolean;
  /** `Expect: 100-continue` was sent. */
  expectContinue: boolean;
}

/** A request the daemon refuses before it reaches a handler; `status` is the answer (400, 411, 417, 431, 505). */
export class HttpHeadError extends Error {
  /** The HTTP status to answer with. */
  readonly status: number;

  /**
   * @param status the HTTP status to answer with
   * @param message what is wrong, for the answer's body
   * @param options the underlying error, if any
   */
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpHeadError";
    this.status = status;
  }
}

/** Most header fields in one request. */
export const MAX_HEADER_FIELDS = 100;

const REQUEST_LINE =
  /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (?:([hH][tT][tT][pP]:\/\/[\x21-\x2e\x30-\x7e]+)(\/[\x21-\x7e]*)?|(\/[\x21-\x7e]*)) HTTP\/(\d)\.(\d)$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `text` has only visible ASCII, SP, HTAB, and CR only as part of CRLF (a char loop: cheaper than a regex). */
function cleanAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e || c === 9) continue;
    if (c === 13 && text.charCodeAt(i + 1) === 10) {
      i++;
      continue;
    }
    return false;
  }
  return true;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Where the head in `buf[from, to)` ends: the index just past its blank line, or -1 when it is not complete.
 *
 * @param buf the bytes read so far
 * @param from where the head starts
 * @param to where the bytes read end
 * @param scanFrom where to resume the search (bytes before it were searched already)
 * @example
 * ```ts
 * const b = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nrest");
 * headEnd(b, 0, b.length, 0); // 27
 * ```
 */
export function headEnd(buf: Uint8Array, from: number, to: number, scanFrom = from): number {
  for (let i = Math.max(from, scanFrom - 3); i + 3 < to; i++) {
    if (buf[i + 3] === 10 && buf[i + 2] === 13 && buf[i + 1] === 10 && buf[i] === 13) return i + 4;
  }
  return -1;
}

/**
 * Parses a request head (the text up to, without, its blank line); throws {@link HttpHeadError}.
 *
 * @param text the head, decoded as ASCII
 * @example
 * ```ts
 * const h = parseRequestHead("GET /healthz HTTP/1.1\r\nHost: chainsaw");
 * h.target; // "/healthz"
 * ```
 */
export function parseRequestHead(text: string): RequestHead {
  if (!cleanAscii(text)) {
    throw new HttpHeadError(400, "the request head has a control or non-ASCII character, or a bare CR or LF");
  }
  const lines = text.split("\r\n");
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m) {
    throw new HttpHeadError(
      400,
      `malformed request line ${JSON.stringify(lines[0].slice(0, 80))}: want METHOD /path HTTP/1.1`,
    );
  }
  const [, method, , absolutePath, originPath, major, minor] = m;
  const target = originPath ?? absolutePath ?? "/";
  if (major !== "1" || (minor !== "0" && minor !== "1")) {
    throw new HttpHeadError(505, `HTTP/${major}.${minor} is not supported: use HTTP/1.1`);
  }
  if (lines.length - 1 > MAX_HEADER_FIELDS) {
    throw new HttpHeadError(431, `more than ${MAX_HEADER_FIELDS} header fields`);
  }
  const headers: [string, string][] = [];
  let contentLength: string | undefined;
  let hosts = 0;
  let connection = "";
  let expect: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new HttpHeadError(400, `malformed header field ${JSON.stringify(line.slice(0, 80))}`);
    }
    let from = colon + 1;
    let to = line.length;
    while (from < to && isBlank(line.charCodeAt(from))) from++;
    while (to > from && isBlank(line.charCodeAt(to - 1))) to--;
    const value = line.slice(from, to);
    headers.push([name, value]);
    switch (name.toLowerCase()) {
      case "content-length":
        if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== value)) {
          throw new HttpHeadError(400, `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
        }
        contentLength = value;
        break;
      case "transfer-encoding":
        throw new HttpHeadError(
          411,
          "Transfer-Encoding is not accepted: send the body with a Content-Length",
        );
      case "host":
        hosts++;
        break;
      case "connection":
        connection += `,${value.toLowerCase()}`;
        break;
      case "expect":
        expect = value.toLowerCase();
        break;
    }
  }
  const version = `${major}.${minor}`;
  if (version === "1.1" && hosts !== 1) {
    throw new HttpHeadError(400, hosts === 0 ? "no Host header" : "more than one Host header");
  }
  if (expect !== undefined && expect !== "100-continue") {
    throw new HttpHeadError(417, `unsupported Expect ${JSON.stringify(expect.slice(0, 40))}`);
  }
  const tokens = connection.split(",").map((t) => t.trim());
  const keepAlive = version === "1.1" ? !tokens.includes("close") : tokens.includes("keep-alive");
  return {
    method,
    target,
    version,
    headers,
    contentLength: contentLength === undefined ? 0 : Number(contentLength),
    keepAlive,
    expectContinue: expect === "100-continue",
  };
}
