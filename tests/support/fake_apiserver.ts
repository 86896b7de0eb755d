/**
 * A fake Kubernetes API server for tests of chainsaw's Kubernetes client: HTTPS on 127.0.0.1 (random port) with
 * the test CA in `tests/support/certs/`, bearer-token or client-certificate authentication, pods (get, list,
 * watch; the status subresource: get, and patch with strategic merge of conditions by `type`), core/v1 and events.k8s.io/v1 Events (create, patch, get, list), and knobs for failures: 401, 403,
 * 5xx, slow answers, watch drops and `410 Expired` after a compaction.
 *
 * Answers are shaped like the real server's: `Status` objects for errors, list objects with
 * `metadata.resourceVersion` whose items carry no kind/apiVersion, newline-delimited watch events in a chunked
 * body, BOOKMARK events that only carry `metadata.resourceVersion`, and a too-old `resourceVersion` on a watch
 * answered with HTTP 200 and a single `ERROR` event holding a 410 `Status`.
 *
 * It runs on `node:https` and not on `Deno.serve`: neither `Deno.serve` nor `Deno.listenTls` can ask for or
 * verify a client certificate (Deno 2.9), while Deno's `node:https` honours `requestCert` + `ca`.
 *
 * ```ts
 * const api = await startFakeApiServer();
 * api.setPod(makePod({ namespace: "default", name: "p1", annotations: { k: "v" }, nodeName: "node-a" }));
 * const client = Deno.createHttpClient({ caCerts: [api.caPem] });
 * const res = await fetch(`${api.url}/api/v1/namespaces/default/pods/p1`, {
 *   client, headers: { authorization: `Bearer ${api.token}` } });
 * await api.close(); client.close();
 * ```
 *
 * @module
 */

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

/** Kubernetes ObjectMeta (the fields the fake uses; anything else is kept as is). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | null;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** A core/v1 Pod as plain JSON. */
export interface Pod {
  apiVersion: "v1";
  kind: "Pod";
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: { nodeName?: string; [key: string]: unknown };
  status: { phase?: string; podIP?: string; [key: string]: unknown };
}

/** A core/v1 or events.k8s.io/v1 Event as plain JSON (`apiVersion` tells which). */
export interface KubeEvent {
  apiVersion: string;
  kind: "Event";
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A Kubernetes `Status` (error body). */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<Record<string, string>> };
  code: number;
}

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  /** URL path without the query. */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  /** How the request authenticated: bearer token, client certificate, nothing, or a rejected token. */
  auth: "bearer" | "cert" | "none" | "invalid";
  /** The bearer token sent, if any (valid or not). */
  token?: string;
  /** CN of a verified client certificate. */
  clientCN?: string;
  userAgent?: string;
  contentType?: string;
  /** Parsed JSON body (or the raw text when it is not JSON) of POST/PATCH/PUT. */
  body?: unknown;
  /** HTTP status answered (0 until the answer starts). */
  status: number;
}

/** Which requests an injected failure applies to (all when empty). */
export interface FailureFilter {
  method?: string;
  /** Tested against the path without the query. */
  path?: RegExp;
}

/** Options of {@linkcode startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** The initial accepted bearer token (default: a random one). */
  token?: string;
  /** Pods present at start. */
  pods?: Pod[];
  /** Send BOOKMARK events to watches that allow them every this many ms (default: only on `bookmark()`). */
  bookmarkIntervalMs?: number;
  /** User name reported in 403 messages for bearer-token requests. */
  tokenUser?: string;
}

/** A running fake API server. */
export interface FakeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server and client certificates. */
  readonly caPem: string;
  /** The initial bearer token (also in `tokens`). */
  readonly token: string;
  /** Client certificate (CN `chainsaw-test`) accepted for client-certificate authentication. */
  readonly clientCertPem: string;
  /** Key of `clientCertPem` (PKCS#8 PEM). */
  readonly clientKeyPem: string;
  /** Accepted bearer tokens; mutate it to rotate or revoke tokens. */
  readonly tokens: Set<string>;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Ends all watches, closes all connections and stops listening. */
  close(): Promise<void>;
  /** Creates or replaces a pod (ADDED / MODIFIED); returns the stored copy with its new resourceVersion. */
  setPod(pod: Pod): Pod;
  /** Deletes a pod (DELETED); false when it did not exist. */
  deletePod(namespace: string, name: string): boolean;
  /** Copies of the current pods. */
  pods(): Pod[];
  /** Creates or relabels a namespace (`GET /api/v1/namespaces/{name}`; pods' namespaces exist unlabelled). */
  setNamespace(name: string, labels: Record<string, string>): void;
  /** Copies of the Events created or patched through the API (both API groups), in creation order. */
  events(): KubeEvent[];
  /**
   * Answers the next `count` (default 1) authenticated requests with `status` (500, 503, 429, …); with `method`
   * and/or `path`, only requests that match (others pass).
   */
  failNext(
    status: number,
    count?: number,
    opts?: { retryAfterSeconds?: number; message?: string } & FailureFilter,
  ): void;
  /** The requests that patched a pod's status (`PATCH …/pods/{name}/status`), oldest first. */
  statusPatches(): RecordedRequest[];
  /** Delays every following answer by `ms` (0 turns it off). */
  delay(ms: number): void;
  /**
   * Holds every following answer until the returned function is called (or the server closes): a client's
   * deadline then fires whatever the machine's load, so a timeout seen proves the deadline, not a slow answer.
   */
  hold(): () => void;
  /** Answers 403 Forbidden to every authenticated request whose path starts with `pathPrefix`. */
  forbid(pathPrefix: string): void;
  /** Undoes {@linkcode FakeApiServer.forbid} for that prefix. */
  unforbid(pathPrefix: string): void;
  /** The current (latest) resourceVersion. */
  resourceVersion(): number;
  /**
   * Forgets history up to `rv` (default: the current resourceVersion): a watch from an older resourceVersion
   * gets a 410 `Expired` ERROR event, and an older `continue` token a 410.
   */
  compact(rv?: number): void;
  /** Cuts every open watch: a clean end of the chunked body, or a reset connection when `abrupt`. */
  dropWatches(opts?: { abrupt?: boolean }): void;
  /** Sends a BOOKMARK at the current resourceVersion to every open watch that allows bookmarks. */
  bookmark(): void;
  /** Number of open watch streams. */
  watchCount(): number;
  /** Resolves once at least `count` (default 1) watches are open; rejects after `timeoutMs` (default 5000). */
  waitForWatches(count?: number, timeoutMs?: number): Promise<void>;
  /** A kubeconfig (YAML) pointing at this server, using the bearer token or the client certificate. */
  kubeconfig(opts?: { auth?: "token" | "cert"; namespace?: string }): string;
}

/** The PEM files of `tests/support/certs/`. */
export interface TestCerts {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/** Reads the committed test CA, server and client certificates. */
export function readTestCerts(): TestCerts {
  const read = (file: string) => Deno.readTextFileSync(new URL(`./certs/${file}`, import.meta.url));
  return {
    caPem: read("ca.crt"),
    serverCertPem: read("server.crt"),
    serverKeyPem: read("server.key"),
    clientCertPem: read("client.crt"),
    clientKeyPem: read("client.key"),
  };
}

const REASONS: Record<number, [string, string]> = {
  400: ["BadRequest", "the server rejected our request for an unknown reason"],
  401: ["Unauthorized", "Unauthorized"],
  403: ["Forbidden", "forbidden"],
  404: ["NotFound", "the server could not find the requested resource"],
  405: ["MethodNotAllowed", "the server does not allow this method on the requested resource"],
  409: [
    "Conflict",
    "the object has been modified; please apply your changes to the latest version and try again",
  ],
  410: ["Expired", "the resource version is too old"],
  415: ["UnsupportedMediaType", "the body of the request was in an unknown format"],
  422: ["Invalid", "the object is invalid"],
  429: ["TooManyRequests", "the server has received too many requests and has asked us to try again later"],
  500: ["InternalError", "Internal error occurred: fake apiserver was told to fail"],
  502: ["InternalError", 'an error on the server ("") has prevented the request from succeeding'],
  503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
  504: [
    "Timeout",
    "the server was unable to return a response in the time allotted, but may still be processing",
  ],
};

/**
 * A Kubernetes `Status` failure object.
 *
 * @param code HTTP status code
 * @param reason Kubernetes reason (`NotFound`, `AlreadyExists`, …); default from the code
 * @param message human-readable message; default from the code
 * @param details optional `details`
 */
export function kubeStatus(
  code: number,
  reason?: string,
  message?: string,
  details?: KubeStatus["details"],
): KubeStatus {
  const [defReason, defMessage] = REASONS[code] ?? ["Unknown", `unknown error (${code})`];
  const status: KubeStatus = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: message ?? defMessage,
    reason: reason ?? defReason,
    code,
  };
  if (details) status.details = details;
  return status;
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * A pod shaped like one read from a real API server.
 *
 * @param opts namespace and name, optional uid (default random), annotations, labels, node, phase, pod IP
 */
export function makePod(opts: {
  namespace: string;
  name: string;
  uid?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  nodeName?: string;
  phase?: string;
  podIP?: string;
}): Pod {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: opts.name,
      namespace: opts.namespace,
      uid: opts.uid ?? crypto.randomUUID(),
      creationTimestamp: nowTimestamp(),
    },
    spec: {
      containers: [{ name: "app", image: "registry.k8s.io/pause:3.9" }],
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      serviceAccountName: "default",
    },
    status: { phase: opts.phase ?? (opts.nodeName ? "Running" : "Pending") },
  };
  if (opts.annotations) pod.metadata.annotations = { ...opts.annotations };
  if (opts.labels) pod.metadata.labels = { ...opts.labels };
  if (opts.nodeName) pod.spec.nodeName = opts.nodeName;
  if (opts.podIP) pod.status.podIP = opts.podIP;
  return pod;
}

// ---------------------------------------------------------------------------------------------------------------
// Selectors

type Matcher = (obj: Pod) => boolean;

class HttpError extends Error {
  constructor(readonly body: KubeStatus, readonly headers: Record<string, string> = {}) {
    super(body.message);
  }
}

const POD_FIELDS: Record<string, (p: Pod) => string> = {
  "metadata.name": (p) => p.metadata.name,
  "metadata.namespace": (p) => p.metadata.namespace,
  "spec.nodeName": (p) => p.spec.nodeName ?? "",
  "spec.restartPolicy": (p) => String(p.spec.restartPolicy ?? ""),
  "spec.schedulerName": (p) => String(p.spec.schedulerName ?? ""),
  "spec.serviceAccountName": (p) => String(p.spec.serviceAccountName ?? ""),
  "spec.hostNetwork": (p) => String(p.spec.hostNetwork ?? false),
  "status.phase": (p) => p.status.phase ?? "",
  "status.podIP": (p) => p.status.podIP ?? "",
  "status.nominatedNodeName": (p) => String(p.status.nominatedNodeName ?? ""),
};

function fieldMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const terms = selector.split(",").filter((t) => t !== "").map((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) {
      throw new HttpError(kubeStatus(400, "BadRequest", `invalid field selector: ${JSON.stringify(term)}`));
    }
    const [, key, op, value] = m;
    const get = POD_FIELDS[key.trim()];
    if (!get) {
      throw new HttpError(
        kubeStatus(400, "BadRequest", `field label not supported: ${key.trim()}`),
      );
    }
    return (p: Pod) => (get(p) === value) === (op !== "!=");
  });
  return (p) => terms.every((t) => t(p));
}

function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  // Split on commas outside parentheses.
  const terms: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(cur);
      cur = "";
    } else cur += ch;
  }
  terms.push(cur);
  const tests = terms.map((t) => t.trim()).filter((t) => t !== "").map((term): Matcher => {
    const labels = (p: Pod) => p.metadata.labels ?? {};
    let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (m) {
      const [, k, op, v] = m;
      return op === "!=" ? (p) => labels(p)[k] !== v : (p) => labels(p)[k] === v;
    }
    m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, k, op, list] = m;
      const set = new Set(list.split(",").map((s) => s.trim()));
      return op === "in" ? (p) => k in labels(p) && set.has(labels(p)[k]) : (p) => !set.has(labels(p)[k]);
    }
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) {
      const [, not, k] = m;
      return not ? (p) => !(k in labels(p)) : (p) => k in labels(p);
    }
    throw new HttpError(
      kubeStatus(400, "BadRequest", `unable to parse requirement: ${JSON.stringify(term)}`),
    );
  });
  return (p) => tests.every((t) => t(p));
}

// ---------------------------------------------------------------------------------------------------------------
// Patches

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The list fields of core/v1 PodStatus that merge by a key in a strategic-merge patch (the others replace). */
const STATUS_MERGE_KEYS: Record<string, string> = { conditions: "type" };

/**
 * A strategic-merge patch of a PodStatus: objects merge, `null` deletes a field, `$`-directives such as
 * `$setElementOrder/conditions` are dropped, `conditions` merge by `type` (an entry with `"$patch": "delete"`
 * removes that type; other entries update the fields of the entry with the same type or are appended), and every
 * other list is replaced. A condition without `type` is refused like the real server refuses it.
 */
function strategicMergeStatus(target: unknown, patch: unknown): unknown {
  if (patch === undefined) return structuredClone(target ?? {});
  if (!isObject(patch)) throw new HttpError(kubeStatus(400, "BadRequest", "status must be an object"));
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = STATUS_MERGE_KEYS[k];
    if (mergeKey && Array.isArray(v)) {
      const list = Array.isArray(out[k]) ? [...out[k] as unknown[]] : [];
      for (const item of v) {
        if (!isObject(item) || typeof item[mergeKey] !== "string") {
          throw new HttpError(
            kubeStatus(
              500,
              "InternalError",
              `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`,
            ),
          );
        }
        const at = list.findIndex((e) => isObject(e) && e[mergeKey] === item[mergeKey]);
        if (item.$patch === "delete") {
          if (at >= 0) list.splice(at, 1);
          continue;
        }
        const merged = mergePatch(at >= 0 ? list[at] : {}, item) as Record<string, unknown>;
        if (at >= 0) list[at] = merged;
        else list.push(merged);
      }
      out[k] = list;
      continue;
    }
    out[k] = isObject(v) ? mergePatch(out[k], v) : structuredClone(v);
  }
  return out;
}

function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new HttpError(kubeStatus(400, "BadRequest", "json patch must be an array"));
  let root = structuredClone(doc);
  for (const op of ops as Array<{ op: string; path: string; value?: unknown; from?: string }>) {
    const parts = op.path.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (parts.length === 0) {
      if (op.op === "replace" || op.op === "add") root = structuredClone(op.value);
      continue;
    }
    let parent = root as Record<string, unknown> | unknown[];
    for (const p of parts.slice(0, -1)) {
      const next = (parent as Record<string, unknown>)[p];
      if (typeof next !== "object" || next === null) {
        throw new HttpError(
          kubeStatus(
            422,
            "Invalid",
            `jsonpatch ${op.op} operation does not apply: doc is missing path: "${op.path}"`,
          ),
        );
      }
      parent = next as Record<string, unknown>;
    }
    const last = parts[parts.length - 1];
    if (Array.isArray(parent)) {
      const idx = last === "-" ? parent.length : Number(last);
      if (op.op === "add") parent.splice(idx, 0, structuredClone(op.value));
      else if (op.op === "replace") parent[idx] = structuredClone(op.value);
      else if (op.op === "remove") parent.splice(idx, 1);
      else if (op.op === "test" && JSON.stringify(parent[idx]) !== JSON.stringify(op.value)) {
        throw new HttpError(kubeStatus(422, "Invalid", `testing value ${op.path} failed`));
      }
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op === "add" || op.op === "replace") {
        if (op.op === "replace" && !(last in obj)) {
          throw new HttpError(
            kubeStatus(
              422,
              "Invalid",
              `jsonpatch replace operation does not apply: doc is missing key: ${op.path}`,
            ),
          );
        }
        obj[last] = structuredClone(op.value);
      } else if (op.op === "remove") {
        if (!(last in obj)) {
          throw new HttpError(
            kubeStatus(
              422,
              "Invalid",
              `jsonpatch remove operation does not apply: doc is missing path: "${op.path}"`,
            ),
          );
        }
        delete obj[last];
      } else if (op.op === "test") {
        if (JSON.stringify(obj[last]) !== JSON.stringify(op.value)) {
          throw new HttpError(kubeStatus(422, "Invalid", `testing value ${op.path} failed`));
        }
      } else {
        throw new HttpError(kubeStatus(400, "BadRequest", `unsupported json patch operation ${op.op}`));
      }
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------------------------
// The server

interface HistoryEntry {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  old?: Pod;
  obj: Pod;
}

interface Watcher {
  res: ServerResponse;
  matches: Matcher;
  bookmarks: boolean;
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
}

type Route =
  | { kind: "pods"; namespace?: string; name?: string; subresource?: "status" }
  | { kind: "namespaces"; namespace?: undefined; name: string }
  | { kind: "events"; group: "" | "events.k8s.io"; namespace?: string; name?: string }
  | { kind: "info"; body: unknown };

const EVENTS_V1 = "events.k8s.io/v1";

function parseRoute(path: string): Route | undefined {
  let m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/status\/?$/.exec(path);
  if (m) return { kind: "pods", namespace: m[1], name: m[2], subresource: "status" };
  m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|events)(?:\/([^/]+))?\/?$/.exec(path);
  if (m) {
    const [, namespace, res, name] = m;
    return res === "pods"
      ? { kind: "pods", namespace, name }
      : { kind: "events", group: "", namespace, name };
  }
  m = /^\/api\/v1\/namespaces\/([^/]+)\/?$/.exec(path);
  if (m) return { kind: "namespaces", name: m[1] };
  m = /^\/api\/v1\/(pods|events)\/?$/.exec(path);
  if (m) return m[1] === "pods" ? { kind: "pods" } : { kind: "events", group: "" };
  m = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?\/?$/.exec(path);
  if (m) return { kind: "events", group: "events.k8s.io", namespace: m[1], name: m[2] };
  if (/^\/apis\/events\.k8s\.io\/v1\/events\/?$/.test(path)) {
    return { kind: "events", group: "events.k8s.io" };
  }
  if (path === "/version") {
    return {
      kind: "info",
      body: {
        major: "1",
        minor: "31",
        gitVersion: "v1.31.0-chainsaw-fake",
        platform: "linux/amd64",
      },
    };
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const buf = new Uint8Array(total);
      let off = 0;
      for (const c of chunks) {
        buf.set(c, off);
        off += c.length;
      }
      resolve(new TextDecoder().decode(buf));
    });
    req.on("error", reject);
  });
}

function withoutTypeMeta<T extends { apiVersion?: string; kind?: string }>(
  obj: T,
): Omit<T, "apiVersion" | "kind"> {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

function sortKey(o: { metadata: ObjectMeta }): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
}

function randomSuffix(n: number): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % alphabet.length]).join("");
}

/**
 * Starts a fake Kubernetes API server on `https://127.0.0.1:<random port>`.
 *
 * @param opts initial token and pods, automatic bookmark interval
 */
export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const certs = readTestCerts();
  const token = opts.token ?? `cs-test-token-${crypto.randomUUID()}`;
  const tokens = new Set<string>([token]);
  const requests: RecordedRequest[] = [];
  const podStore = new Map<string, Pod>();
  const eventStore = new Map<string, KubeEvent>();
  const history: HistoryEntry[] = [];
  const watchers = new Set<Watcher>();
  const forbidden = new Set<string>();
  const failures: Array<{ status: number; retryAfterSeconds?: number; message?: string } & FailureFilter> =
    [];
  const pendingTimers = new Set<ReturnType<typeof setTimeout>>();
  let delayMs = 0;
  let held: PromiseWithResolvers<void> | undefined;
  let rv = 100;
  let compactedRv = 0;
  let closed = false;

  const writeEvent = (w: Watcher, type: string, object: unknown) => {
    if (!w.closed) w.res.write(JSON.stringify({ type, object }) + "\n");
  };

  const endWatch = (w: Watcher, abrupt = false) => {
    if (w.closed) return;
    w.closed = true;
    watchers.delete(w);
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (abrupt) w.res.destroy();
    else w.res.end();
  };

  const bookmarkObject = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(rv), creationTimestamp: null };
    if (annotations) metadata.annotations = annotations;
    return { kind: "Pod", apiVersion: "v1", metadata, spec: { containers: null }, status: {} };
  };

  /** Sends one change to a watcher, turning selector transitions into ADDED/DELETED the way the server does. */
  const deliver = (w: Watcher, e: HistoryEntry) => {
    const newMatch = w.matches(e.obj);
    const oldMatch = e.old !== undefined && w.matches(e.old);
    if (e.type === "DELETED") {
      if (newMatch || oldMatch) writeEvent(w, "DELETED", e.obj);
    } else if (e.type === "ADDED") {
      if (newMatch) writeEvent(w, "ADDED", e.obj);
    } else if (newMatch && oldMatch) writeEvent(w, "MODIFIED", e.obj);
    else if (newMatch) writeEvent(w, "ADDED", e.obj);
    else if (oldMatch) writeEvent(w, "DELETED", e.obj);
  };

  const record = (entry: HistoryEntry) => {
    history.push(entry);
    for (const w of watchers) deliver(w, entry);
  };

  const setPod = (pod: Pod): Pod => {
    const key = sortKey(pod);
    const old = podStore.get(key);
    const stored = structuredClone(pod) as Pod;
    stored.apiVersion = "v1";
    stored.kind = "Pod";
    stored.metadata.uid ??= old?.metadata.uid ?? crypto.randomUUID();
    stored.metadata.creationTimestamp ??= old?.metadata.creationTimestamp ?? nowTimestamp();
    stored.metadata.resourceVersion = String(++rv);
    podStore.set(key, stored);
    record({ rv, type: old ? "MODIFIED" : "ADDED", old, obj: stored });
    return structuredClone(stored);
  };

  const deletePod = (namespace: string, name: string): boolean => {
    const key = `${namespace}/${name}`;
    const old = podStore.get(key);
    if (!old) return false;
    podStore.delete(key);
    const obj = structuredClone(old);
    obj.metadata.resourceVersion = String(++rv);
    record({ rv, type: "DELETED", old, obj });
    return true;
  };

  for (const p of opts.pods ?? []) setPod(p);

  // Namespaces (GET only): a pod's namespace exists unlabelled; setNamespace creates or relabels one.
  const namespaceStore = new Map<string, Record<string, string>>();

  const send = (
    rec: RecordedRequest,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    rec.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(new TextEncoder().encode(text).length),
      "cache-control": "no-cache, private",
      ...headers,
    });
    res.end(text);
  };

  const userOf = (rec: RecordedRequest) =>
    rec.auth === "cert" ? rec.clientCN! : opts.tokenUser ?? "system:serviceaccount:kube-system:chainsaw";

  const verbOf = (method: string, route: Route | undefined, query: Record<string, string>) => {
    const hasName = route && "name" in route && route.name !== undefined;
    if (method === "GET") {
      return query.watch === "1" || query.watch === "true" ? "watch" : hasName ? "get" : "list";
    }
    return { POST: "create", PATCH: "patch", PUT: "update", DELETE: "delete" }[method] ??
      method.toLowerCase();
  };

  const forbiddenStatus = (rec: RecordedRequest, route: Route | undefined): KubeStatus => {
    const verb = verbOf(rec.method, route, rec.query);
    const user = userOf(rec);
    if (!route || route.kind === "info") {
      return kubeStatus(403, "Forbidden", `forbidden: User "${user}" cannot ${verb} path "${rec.path}"`, {});
    }
    const resource = route.kind;
    const sub = route.kind === "pods" && route.subresource ? `/${route.subresource}` : "";
    const group = route.kind === "events" ? route.group : "";
    const where = route.namespace ? ` in the namespace "${route.namespace}"` : " at the cluster scope";
    const subject = route.name ? `${resource}${group ? "." + group : ""} "${route.name}"` : resource +
      (group ? "." + group : "");
    return kubeStatus(
      403,
      "Forbidden",
      `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}${sub}" in API group "${group}"${where}`,
      { name: route.name, group: group || undefined, kind: resource },
    );
  };

  const notFound = (resource: string, name: string, group = "") =>
    kubeStatus(404, "NotFound", `${resource}${group ? "." + group : ""} "${name}" not found`, {
      name,
      ...(group ? { group } : {}),
      kind: resource,
    });

  const listMeta = (query: Record<string, string>, total: number, start: number, limit: number) => {
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (limit > 0 && start + limit < total) {
      meta.continue = btoa(JSON.stringify({ rv, start: start + limit }));
      meta.remainingItemCount = total - start - limit;
    }
    void query;
    return meta;
  };

  const page = <T>(
    items: T[],
    query: Record<string, string>,
  ): { items: T[]; start: number; limit: number } => {
    const limit = Number(query.limit ?? 0) || 0;
    let start = 0;
    if (query.continue) {
      let token: { rv: number; start: number };
      try {
        token = JSON.parse(atob(query.continue));
      } catch {
        throw new HttpError(kubeStatus(400, "BadRequest", "continue key is not valid: illegal base64 data"));
      }
      if (token.rv < compactedRv) {
        throw new HttpError(
          kubeStatus(
            410,
            "Expired",
            "The provided continue parameter is too old to display a consistent list result. You can start a new " +
              "list without the continue parameter, or use the continue token in this response to retrieve the " +
              "remainder of the results. Continuing with the provided token results in an inconsistent list - " +
              "objects that were created, modified, or deleted between the time the first chunk was returned and " +
              "now may show up in the list.",
          ),
        );
      }
      start = token.start;
    }
    return { items: limit > 0 ? items.slice(start, start + limit) : items.slice(start), start, limit };
  };

  const startWatch = (
    rec: RecordedRequest,
    res: ServerResponse,
    query: Record<string, string>,
    matches: Matcher,
  ) => {
    rec.status = 200;
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "no-cache, private",
      "transfer-encoding": "chunked",
    });
    res.flushHeaders();
    const w: Watcher = { res, matches, bookmarks: query.allowWatchBookmarks === "true", closed: false };
    watchers.add(w);
    res.on("close", () => endWatch(w));
    const timeout = Number(query.timeoutSeconds ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => endWatch(w), timeout * 1000);

    const from = query.resourceVersion;
    const sendInitial = query.sendInitialEvents === "true" ||
      (query.sendInitialEvents !== "false" && (from === undefined || from === "" || from === "0"));
    if (from !== undefined && from !== "" && from !== "0") {
      const n = Number(from);
      if (!Number.isInteger(n) || n < 0) {
        writeEvent(w, "ERROR", kubeStatus(400, "BadRequest", `invalid resource version: ${from}`));
        endWatch(w);
        return;
      }
      if (n < compactedRv) {
        writeEvent(w, "ERROR", kubeStatus(410, "Expired", `too old resource version: ${n} (${compactedRv})`));
        endWatch(w);
        return;
      }
      if (!sendInitial) {
        for (const e of history) if (e.rv > n) deliver(w, e);
      }
    }
    if (sendInitial) {
      const current = [...podStore.values()].filter(matches).sort((a, b) => sortKey(a) < sortKey(b) ? -1 : 1);
      for (const p of current) writeEvent(w, "ADDED", p);
      if (query.sendInitialEvents === "true" && w.bookmarks) {
        writeEvent(w, "BOOKMARK", bookmarkObject({ "k8s.io/initial-events-end": "true" }));
      }
    }
  };

  /**
   * `pods/{name}/status`: GET, and PATCH the way the real server does it: only `status` changes (the status
   * subresource ignores the rest), a strategic-merge patch merges `status.conditions` by `type`, a
   * `metadata.uid` in the patch is a precondition (409 when the name is another pod now), 404 for a gone pod;
   * the resourceVersion goes up and watches see MODIFIED.
   */
  const handlePodStatus = (
    rec: RecordedRequest,
    res: ServerResponse,
    route: Extract<Route, { kind: "pods" }>,
    contentType: string,
  ) => {
    const key = `${route.namespace}/${route.name}`;
    const existing = podStore.get(key);
    if (rec.method === "GET") {
      if (!existing) throw new HttpError(notFound("pods", route.name!));
      return send(rec, res, 200, existing);
    }
    if (rec.method !== "PATCH") throw new HttpError(kubeStatus(405));
    if (!existing) throw new HttpError(notFound("pods", route.name!));
    const mediaType = contentType.split(";")[0].trim();
    let patched: Pod;
    if (mediaType === "application/json-patch+json") {
      patched = jsonPatch(existing, rec.body) as Pod;
    } else if (
      mediaType === "application/merge-patch+json" || mediaType === "application/strategic-merge-patch+json"
    ) {
      if (!isObject(rec.body)) throw new HttpError(kubeStatus(400, "BadRequest", "invalid merge patch"));
      const uid = isObject(rec.body.metadata) ? rec.body.metadata.uid : undefined;
      if (uid !== undefined && uid !== existing.metadata.uid) {
        throw new HttpError(
          kubeStatus(
            409,
            "Conflict",
            `Operation cannot be fulfilled on pods "${route.name}": Precondition failed: UID in precondition: ` +
              `${uid}, UID in object meta: ${existing.metadata.uid}`,
            { name: route.name, kind: "pods" },
          ),
        );
      }
      const status = mediaType === "application/strategic-merge-patch+json"
        ? strategicMergeStatus(existing.status, rec.body.status)
        : mergePatch(existing.status, rec.body.status ?? {});
      patched = { ...structuredClone(existing), status: status as Pod["status"] };
    } else {
      throw new HttpError(
        kubeStatus(
          415,
          "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: " +
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, " +
            "application/strategic-merge-patch+json",
        ),
      );
    }
    // Only the status changes through this subresource.
    const stored = setPod({ ...structuredClone(existing), status: patched.status ?? {} });
    return send(rec, res, 200, stored);
  };

  const handlePods = (
    rec: RecordedRequest,
    res: ServerResponse,
    route: Extract<Route, { kind: "pods" }>,
    query: Record<string, string>,
    contentType: string,
  ) => {
    if (route.subresource === "status") return handlePodStatus(rec, res, route, contentType);
    if (rec.method !== "GET") throw new HttpError(kubeStatus(405));
    if (route.name !== undefined) {
      const pod = podStore.get(`${route.namespace}/${route.name}`);
      if (!pod) throw new HttpError(notFound("pods", route.name));
      return send(rec, res, 200, pod);
    }
    const byField = fieldMatcher(query.fieldSelector);
    const byLabel = labelMatcher(query.labelSelector);
    const matches: Matcher = (p) =>
      (route.namespace === undefined || p.metadata.namespace === route.namespace) && byField(p) && byLabel(p);
    if (query.watch === "1" || query.watch === "true") return startWatch(rec, res, query, matches);
    const all = [...podStore.values()].filter(matches).sort((a, b) => sortKey(a) < sortKey(b) ? -1 : 1);
    const { items, start, limit } = page(all, query);
    send(rec, res, 200, {
      kind: "PodList",
      apiVersion: "v1",
      metadata: listMeta(query, all.length, start, limit),
      items: items.map(withoutTypeMeta),
    });
  };

  const handleEvents = (
    rec: RecordedRequest,
    res: ServerResponse,
    route: Extract<Route, { kind: "events" }>,
    query: Record<string, string>,
    contentType: string,
  ) => {
    const apiVersion = route.group === "" ? "v1" : EVENTS_V1;
    const key = (ns: string, name: string) => `${route.group}/${ns}/${name}`;
    const group = route.group;
    if (rec.method === "GET") {
      if (route.name !== undefined) {
        const ev = eventStore.get(key(route.namespace!, route.name));
        if (!ev) throw new HttpError(notFound("events", route.name, group));
        return send(rec, res, 200, ev);
      }
      const all = [...eventStore.entries()]
        .filter(([k]) =>
          k.startsWith(`${group}/${route.namespace !== undefined ? route.namespace + "/" : ""}`)
        )
        .map(([, v]) => v);
      const { items, start, limit } = page(all, query);
      return send(rec, res, 200, {
        kind: "EventList",
        apiVersion,
        metadata: listMeta(query, all.length, start, limit),
        items: items.map(withoutTypeMeta),
      });
    }
    if (route.namespace === undefined) throw new HttpError(kubeStatus(405));
    const ns = route.namespace;
    if (rec.method === "POST" && route.name === undefined) {
      if (!isObject(rec.body)) {
        throw new HttpError(
          kubeStatus(400, "BadRequest", "the body of the request was in an unknown format"),
        );
      }
      const ev = structuredClone(rec.body) as KubeEvent;
      ev.metadata = isObject(ev.metadata) ? ev.metadata : {};
      if (ev.metadata.namespace !== undefined && ev.metadata.namespace !== ns) {
        throw new HttpError(
          kubeStatus(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
          ),
        );
      }
      if (!ev.metadata.name) {
        if (!ev.metadata.generateName) {
          throw new HttpError(
            kubeStatus(
              422,
              "Invalid",
              `Event.${group ? "events.k8s.io" : ""} "" is invalid: metadata.name: Required value: name or ` +
                "generateName is required",
              { kind: "Event", group: group || undefined },
            ),
          );
        }
        ev.metadata.name = ev.metadata.generateName + randomSuffix(5);
      }
      const name = ev.metadata.name;
      if (eventStore.has(key(ns, name))) {
        throw new HttpError(
          kubeStatus(409, "AlreadyExists", `events${group ? "." + group : ""} "${name}" already exists`, {
            name,
            ...(group ? { group } : {}),
            kind: "events",
          }),
        );
      }
      ev.apiVersion = apiVersion;
      ev.kind = "Event";
      ev.metadata.namespace = ns;
      ev.metadata.uid = crypto.randomUUID();
      ev.metadata.resourceVersion = String(++rv);
      ev.metadata.creationTimestamp = nowTimestamp();
      eventStore.set(key(ns, name), ev);
      return send(rec, res, 201, ev);
    }
    if (rec.method === "PATCH" && route.name !== undefined) {
      const existing = eventStore.get(key(ns, route.name));
      const mediaType = contentType.split(";")[0].trim();
      let patched: unknown;
      if (mediaType === "application/json-patch+json") {
        if (!existing) throw new HttpError(notFound("events", route.name, group));
        patched = jsonPatch(existing, rec.body);
      } else if (
        mediaType === "application/merge-patch+json" || mediaType === "application/strategic-merge-patch+json"
      ) {
        if (!existing) throw new HttpError(notFound("events", route.name, group));
        if (!isObject(rec.body)) throw new HttpError(kubeStatus(400, "BadRequest", "invalid merge patch"));
        patched = mergePatch(existing, rec.body);
      } else {
        throw new HttpError(
          kubeStatus(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
          ),
        );
      }
      const ev = patched as KubeEvent;
      ev.apiVersion = apiVersion;
      ev.kind = "Event";
      ev.metadata = { ...ev.metadata, name: route.name, namespace: ns, uid: existing!.metadata.uid };
      ev.metadata.resourceVersion = String(++rv);
      eventStore.set(key(ns, route.name), ev);
      return send(rec, res, 200, ev);
    }
    throw new HttpError(kubeStatus(405));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      auth: "none",
      status: 0,
    };
    requests.push(rec);
    if (req.headers["user-agent"]) rec.userAgent = String(req.headers["user-agent"]);
    const contentType = String(req.headers["content-type"] ?? "");
    if (contentType) rec.contentType = contentType;
    try {
      const text = await readBody(req);
      if (text !== "") {
        try {
          rec.body = JSON.parse(text);
        } catch {
          rec.body = text;
        }
      }
      if (delayMs > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            pendingTimers.delete(t);
            resolve();
          }, delayMs);
          pendingTimers.add(t);
        });
        if (closed) return;
      }
      if (held) {
        await held.promise;
        if (closed) return;
      }

      const authorization = String(req.headers.authorization ?? "");
      const bearer = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
      const socket = req.socket as TLSSocket;
      if (socket.authorized) {
        const cn = socket.getPeerCertificate()?.subject?.CN;
        rec.clientCN = Array.isArray(cn) ? cn[0] : cn;
      }
      if (bearer !== undefined) rec.token = bearer;
      if (bearer !== undefined && tokens.has(bearer)) rec.auth = "bearer";
      else if (rec.clientCN) rec.auth = "cert";
      else if (bearer !== undefined) rec.auth = "invalid";

      const route = parseRoute(url.pathname);
      if (route?.kind === "info" || /^\/(healthz|livez|readyz)$/.test(url.pathname)) {
        if (route?.kind === "info") return send(rec, res, 200, route.body);
        rec.status = 200;
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        return res.end("ok");
      }
      if (rec.auth === "none" || rec.auth === "invalid") throw new HttpError(kubeStatus(401));
      for (const prefix of forbidden) {
        if (url.pathname.startsWith(prefix)) throw new HttpError(forbiddenStatus(rec, route));
      }
      const at = failures.findIndex((f) =>
        (f.method === undefined || f.method === rec.method) && (f.path === undefined || f.path.test(rec.path))
      );
      const failure = at < 0 ? undefined : failures.splice(at, 1)[0];
      if (failure) {
        const headers: Record<string, string> = {};
        if (failure.retryAfterSeconds !== undefined) {
          headers["retry-after"] = String(failure.retryAfterSeconds);
        }
        throw new HttpError(kubeStatus(failure.status, undefined, failure.message), headers);
      }
      if (!route) throw new HttpError(kubeStatus(404, "NotFound", undefined, {}));
      if (route.kind === "pods") return handlePods(rec, res, route, query, contentType);
      if (route.kind === "namespaces") {
        if (rec.method !== "GET") throw new HttpError(kubeStatus(405));
        const hasPods = [...podStore.values()].some((p) => p.metadata.namespace === route.name);
        const labels = namespaceStore.get(route.name) ?? (hasPods ? {} : undefined);
        if (!labels) throw new HttpError(notFound("namespaces", route.name));
        return send(rec, res, 200, {
          kind: "Namespace",
          apiVersion: "v1",
          metadata: { name: route.name, labels: { "kubernetes.io/metadata.name": route.name, ...labels } },
          status: { phase: "Active" },
        });
      }
      return handleEvents(rec, res, route, query, contentType);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) return send(rec, res, e.body.code, e.body, e.headers);
      const msg = e instanceof Error ? e.message : String(e);
      send(rec, res, 500, kubeStatus(500, "InternalError", `Internal error occurred: ${msg}`));
    }
  };

  const server = https.createServer({
    key: certs.serverKeyPem,
    cert: certs.serverCertPem,
    ca: certs.caPem,
    requestCert: true,
    rejectUnauthorized: false,
  }, (req, res) => void handle(req, res));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `https://127.0.0.1:${port}`;

  const bookmark = () => {
    for (const w of watchers) if (w.bookmarks) writeEvent(w, "BOOKMARK", bookmarkObject());
  };
  const bookmarkTimer = opts.bookmarkIntervalMs ? setInterval(bookmark, opts.bookmarkIntervalMs) : undefined;

  const api: FakeApiServer = {
    url,
    port,
    caPem: certs.caPem,
    token,
    clientCertPem: certs.clientCertPem,
    clientKeyPem: certs.clientKeyPem,
    tokens,
    requests,
    close: async () => {
      if (closed) return;
      closed = true;
      if (bookmarkTimer !== undefined) clearInterval(bookmarkTimer);
      for (const t of pendingTimers) clearTimeout(t);
      pendingTimers.clear();
      held?.resolve();
      for (const w of [...watchers]) endWatch(w);
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
    setPod,
    deletePod,
    pods: () => [...podStore.values()].map((p) => structuredClone(p)),
    setNamespace: (name, labels) => void namespaceStore.set(name, { ...labels }),
    events: () => [...eventStore.values()].map((e) => structuredClone(e)),
    failNext: (status, count = 1, o = {}) => {
      for (let i = 0; i < count; i++) failures.push({ status, ...o });
    },
    statusPatches: () =>
      requests.filter((r) => r.method === "PATCH" && /\/pods\/[^/]+\/status$/.test(r.path)),
    delay: (ms) => {
      delayMs = ms;
    },
    hold: () => {
      const h = held ??= Promise.withResolvers<void>();
      return () => {
        if (held === h) held = undefined;
        h.resolve();
      };
    },
    forbid: (prefix) => void forbidden.add(prefix),
    unforbid: (prefix) => void forbidden.delete(prefix),
    resourceVersion: () => rv,
    compact: (to = rv) => {
      compactedRv = Math.max(compactedRv, to);
      while (history.length > 0 && history[0].rv <= compactedRv) history.shift();
    },
    dropWatches: (o = {}) => {
      for (const w of [...watchers]) endWatch(w, o.abrupt);
    },
    bookmark,
    watchCount: () => watchers.size,
    waitForWatches: async (count = 1, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (watchers.size < count) {
        if (Date.now() > deadline) {
          throw new Error(`fake apiserver: ${watchers.size} of ${count} watches open`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    kubeconfig: (o = {}) => {
      const b64 = (s: string) => btoa(s);
      const user = o.auth === "cert"
        ? `    client-certificate-data: ${b64(certs.clientCertPem)}\n    client-key-data: ${
          b64(certs.clientKeyPem)
        }\n`
        : `    token: ${token}\n`;
      return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: fake",
        "  cluster:",
        `    server: ${url}`,
        `    certificate-authority-data: ${b64(certs.caPem)}`,
        "users:",
        "- name: fake-user",
        "  user:",
        user.trimEnd(),
        "contexts:",
        "- name: fake",
        "  context:",
        "    cluster: fake",
        "    user: fake-user",
        `    namespace: ${o.namespace ?? "default"}`,
        "current-context: fake",
        "",
      ].join("\n");
    },
  };
  return api;
}
