/**
 * The node-local pod watch: LIST the pods of one node (`fieldSelector=spec.nodeName=NODE`, paged with
 * `limit`/`continue`), then WATCH from the list's resourceVersion with bookmarks, resuming from the last seen
 * resourceVersion when a stream ends or breaks, re-listing on `410 Gone`/`Expired`, and backing off with full
 * jitter on errors. It never GETs single pods: everything comes from the list and the watch stream.
 *
 * ```ts
 * const cache = new PodCache();
 * const watcher = new PodWatcher({
 *   client, nodeName,
 *   onList: (pods) => cache.replace(pods),
 *   onEvent: (type, pod) => cache.apply(type, pod),
 * });
 * watcher.start();
 * await watcher.waitSynced(10_000);
 * // …
 * await watcher.stop();
 * ```
 * @module
 */
import * as z from "zod/mini";
import { ndjsonLines } from "../../bytes.ts";
import { KubeApiError, type KubeClient, type Pod, PodSchema } from "../../kube/client.ts";
import { errorText } from "../../text/error_text.ts";
import { abortableSleep } from "../../async/abortable_sleep.ts";
import { type BackoffBounds, backoffDelay } from "../../async/backoff.ts";

/** The watch event types that carry a pod. */
export type PodEventType = "ADDED" | "MODIFIED" | "DELETED";

/** The part of {@link KubeClient} the watcher uses. */
export type PodWatchClient = Pick<KubeClient, "fetch">;

/** Options of {@link PodWatcher}. */
export interface PodWatcherOptions {
  client: PodWatchClient;
  /** The node whose pods are watched (`spec.nodeName`). */
  nodeName: string;
  /** Called for every pod event of the watch stream (after the initial list). */
  onEvent?(type: PodEventType, pod: Pod): void;
  /** Called with the complete pod set after every (re-)list: replace the cache's content with it. */
  onList?(pods: Pod[]): void;
  /** Diagnostics. */
  log?(msg: string): void;
  /** Uniform random in [0, 1) for jitter (default `Math.random`). */
  random?(): number;
  /** Waits `ms` or until `signal` aborts, whichever comes first; must not reject. */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  /** Back-off bounds (defaults: 500 ms, 30 s). */
  backoff?: Partial<BackoffBounds>;
  /** Page size of the list (default 500). */
  pageSize?: number;
  /** Server-side watch timeout; each watch asks for this plus up to 100% jitter (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Timeout of one list page request (default: the client's). */
  listTimeoutMs?: number;
  /** A watch that ends cleanly sooner than this without any event counts as a failure (default 1000 ms). */
  minWatchMs?: number;
}

/** Counters for metrics; plain numbers that only grow. */
export interface PodWatchCounters {
  /** Completed lists (all pages). */
  lists: number;
  /** Watch streams opened. */
  watches: number;
  /** Re-lists caused by 410 Gone / Expired. */
  relists410: number;
  /** Failed requests, broken streams, ERROR events and undecodable lines. */
  errors: number;
  /** Pod events (ADDED/MODIFIED/DELETED) received on watch streams. */
  events: number;
  /** BOOKMARK events received. */
  bookmarks: number;
}

const WatchEventSchema = z.object({
  type: z.enum(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]),
  object: z.unknown(),
});

const BookmarkSchema = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string() }),
});

const WatchStatusSchema = z.looseObject({
  code: z.optional(z.number()),
  reason: z.optional(z.string()),
  message: z.optional(z.string()),
});

const PodListSchema = z.looseObject({
  metadata: z.looseObject({
    resourceVersion: z.optional(z.string()),
    continue: z.optional(z.string()),
  }),
  items: z.nullable(z.array(z.unknown())),
});

/** One decoded watch line. */
export type DecodedWatchEvent =
  | { kind: "pod"; type: PodEventType; pod: Pod }
  | { kind: "bookmark"; resourceVersion: string }
  | { kind: "error"; code: number; reason: string; message: string }
  | { kind: "invalid"; why: string };

/** Decodes one NDJSON watch line (zod-validated); never throws. */
export function decodeWatchLine(line: string): DecodedWatchEvent {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (e) {
    return { kind: "invalid", why: `not JSON: ${errorText(e)}` };
  }
  const ev = WatchEventSchema.safeParse(data);
  if (!ev.success) return { kind: "invalid", why: "not a watch event" };
  if (ev.data.type === "BOOKMARK") {
    const b = BookmarkSchema.safeParse(ev.data.object);
    if (!b.success) return { kind: "invalid", why: "BOOKMARK without metadata.resourceVersion" };
    return { kind: "bookmark", resourceVersion: b.data.metadata.resourceVersion };
  }
  if (ev.data.type === "ERROR") {
    const st = WatchStatusSchema.safeParse(ev.data.object);
    const s = st.success ? st.data : {};
    return { kind: "error", code: s.code ?? 0, reason: s.reason ?? "", message: s.message ?? "" };
  }
  const pod = PodSchema.safeParse(ev.data.object);
  if (!pod.success) return { kind: "invalid", why: `${ev.data.type} event without a valid pod` };
  return { kind: "pod", type: ev.data.type, pod: pod.data };
}

/** Signals that the stored resourceVersion is gone and a fresh list is needed. */
class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoneError";
  }
}

function isGone(e: unknown): boolean {
  return e instanceof GoneError || (e instanceof KubeApiError && e.status === 410);
}

/** How one watch stream ended. */
type WatchEnd = "clean" | "stopped";

/**
 * Watches the pods of one node and reports them through `onList`/`onEvent`. `start()` runs the loop in the
 * background until `stop()`; errors are logged, counted and retried with back-off, never thrown.
 */
export class PodWatcher {
  /** Counters for metrics. */
  readonly counters: PodWatchCounters = {
    lists: 0,
    watches: 0,
    relists410: 0,
    errors: 0,
    events: 0,
    bookmarks: 0,
  };
  readonly #opts: PodWatcherOptions;
  readonly #backoff: BackoffBounds;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #synced = false;
  #rv = "";
  #failures = 0;
  #syncWaiters = new Set<() => void>();

  constructor(opts: PodWatcherOptions) {
    this.#opts = opts;
    this.#backoff = { baseMs: opts.backoff?.baseMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000 };
    this.#random = opts.random ?? Math.random;
    this.#sleep = opts.sleep ?? abortableSleep;
  }

  /** True once the first complete list has been delivered (and ever after: the cache keeps serving). */
  synced(): boolean {
    return this.#synced;
  }

  /** The last resourceVersion seen (list, event or bookmark); empty before the first list. */
  get resourceVersion(): string {
    return this.#rv;
  }

  /** True while the loop runs. */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Resolves true once synced, or false after `ms` milliseconds (or when stopped) without a sync. */
  waitSynced(ms: number): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#syncWaiters.delete(done);
        resolve(this.#synced);
      };
      const timer = setTimeout(done, ms);
      this.#syncWaiters.add(done);
    });
  }

  /** Starts the list/watch loop in the background; a second call does nothing. */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    this.#loop = this.#run(signal).catch((e) =>
      this.#log(`pod watch loop ended unexpectedly: ${errorText(e)}`)
    );
  }

  /** Stops the loop, cancels the open request or stream and resolves once everything is closed. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    const loop = this.#loop;
    await loop;
    this.#loop = undefined;
    this.#abort = undefined;
    for (const w of [...this.#syncWaiters]) w();
  }

  #log(msg: string): void {
    this.#opts.log?.(msg);
  }

  /** Runs a consumer callback; its exceptions are logged, never mistaken for watch failures. */
  #deliver(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log(`pod watch: consumer failed: ${errorText(e)}`);
    }
  }

  #selector(): string {
    return `spec.nodeName=${this.#opts.nodeName}`;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
          this.#failures = 0;
        }
        const end = await this.#watch(signal);
        if (end === "stopped") return;
      } catch (e) {
        if (signal.aborted) return;
        if (isGone(e)) {
          this.counters.relists410++;
          this.#log(`pod watch: resourceVersion ${this.#rv} is gone (${errorText(e)}); re-listing`);
          needList = true;
          // a 410 after a healthy watch re-lists at once; repeated ones back off like other failures
          if (this.#failures++ === 0) continue;
          await this.#sleep(backoffDelay(this.#failures - 1, this.#backoff, this.#random), signal);
          continue;
        }
        this.counters.errors++;
        const delay = backoffDelay(this.#failures++, this.#backoff, this.#random);
        this.#log(
          `pod watch: ${needList ? "list" : "watch"} failed: ${errorText(e)}; retrying in ${delay} ms`,
        );
        await this.#sleep(delay, signal);
      }
    }
  }

  /** Lists every page; delivers the pods through `onList` and sets the resourceVersion. */
  async #list(signal: AbortSignal): Promise<void> {
    const pods: Pod[] = [];
    let cont = "";
    let rv = "";
    do {
      const q = new URLSearchParams({
        fieldSelector: this.#selector(),
        limit: String(this.#opts.pageSize ?? 500),
      });
      if (cont) q.set("continue", cont);
      const data = await this.#opts.client.fetch(`/api/v1/pods?${q}`, {
        signal,
        timeoutMs: this.#opts.listTimeoutMs,
      }).then((res) => res.json());
      const list = PodListSchema.safeParse(data);
      if (!list.success) throw new KubeApiError(0, "BadResponse", "pod list: unexpected list object");
      for (const item of list.data.items ?? []) {
        const pod = PodSchema.safeParse(item);
        if (pod.success) pods.push(pod.data);
        else this.#log("pod watch: skipping an undecodable pod in the list");
      }
      if (!rv) rv = list.data.metadata.resourceVersion ?? "";
      cont = list.data.metadata.continue ?? "";
    } while (cont);
    if (!rv) throw new KubeApiError(0, "BadResponse", "pod list without metadata.resourceVersion");
    this.#rv = rv;
    this.counters.lists++;
    this.#deliver(() => this.#opts.onList?.(pods));
    if (!this.#synced) {
      this.#synced = true;
      this.#log(
        `pod watch: synced ${pods.length} pods of node ${this.#opts.nodeName} at resourceVersion ${rv}`,
      );
      for (const w of [...this.#syncWaiters]) w();
    }
  }

  /**
   * Runs one watch stream from the current resourceVersion to its end. Returns "clean" when the server ended
   * it (resume), "stopped" when stopped; throws on errors ({@link GoneError} for 410).
   */
  async #watch(signal: AbortSignal): Promise<WatchEnd> {
    const base = this.#opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.round(base * (1 + this.#random())));
    const q = new URLSearchParams({
      fieldSelector: this.#selector(),
      watch: "1",
      resourceVersion: this.#rv,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(timeoutSeconds),
    });
    const started = Date.now();
    // the client's timeout bounds the whole exchange, body included: give the server time to end it itself
    const res = await this.#opts.client.fetch(`/api/v1/pods?${q}`, {
      signal,
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
    this.counters.watches++;
    if (!res.body) throw new KubeApiError(0, "BadResponse", "watch answered without a body");
    let seen = 0;
    try {
      for await (const line of ndjsonLines(res.body)) {
        const ev = decodeWatchLine(line);
        if (ev.kind === "invalid") {
          this.counters.errors++;
          this.#log(`pod watch: skipping an undecodable watch event: ${ev.why}`);
          continue;
        }
        seen++;
        if (ev.kind === "error") {
          const what = `watch ERROR ${ev.code} ${ev.reason}: ${ev.message}`;
          if (ev.code === 410 || ev.reason === "Expired" || ev.reason === "Gone") throw new GoneError(what);
          throw new KubeApiError(ev.code || 0, ev.reason || "WatchError", what);
        }
        if (ev.kind === "bookmark") {
          this.counters.bookmarks++;
          this.#rv = ev.resourceVersion;
          continue;
        }
        this.counters.events++;
        if (ev.pod.metadata.resourceVersion) this.#rv = ev.pod.metadata.resourceVersion;
        this.#deliver(() => this.#opts.onEvent?.(ev.type, ev.pod));
        this.#failures = 0;
      }
    } catch (e) {
      if (signal.aborted) return "stopped";
      throw e;
    } finally {
      await res.body.cancel().catch(() => {});
    }
    if (signal.aborted) return "stopped";
    if (seen === 0 && Date.now() - started < (this.#opts.minWatchMs ?? 1000)) {
      throw new KubeApiError(0, "WatchClosed", "the watch ended at once without events");
    }
    this.#failures = 0;
    return "clean";
  }
}
