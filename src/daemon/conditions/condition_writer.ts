/**
 * The pod condition writer: keeps the last outcome of each attachment of the node's pods, computes the pod's
 * `chainsaw.cni.cncf.io/applied` condition ({@link wantedCondition}) and writes it with a strategic-merge PATCH
 * of `pods/{name}/status` when it differs from what the pod has (status, reason or message; the transition time
 * changes only with the status).
 *
 * - **Which pods**: mode `gated` (the default) only pods whose `spec.readinessGates` list the condition; `all`
 *   also every other pod of the node that is not `hostNetwork`. Terminating and finished pods are left alone.
 * - **Inputs**: {@link ConditionWriter.record} with an attachment's outcome (after ADD and every re-apply),
 *   {@link ConditionWriter.observe} with every pod update of the pod cache (a pod without the chainsaw annotation
 *   gets `True`/`NoCommands` from it, without any ADD report; the pod's current condition comes from it too).
 * - **Writes** are one per pod at a time, a few pods in parallel; changes while a write runs coalesce into one
 *   more. Errors never reach the caller: a 404 (the pod is gone) or 409 (the name is another pod now) stops; a
 *   transient error (unreachable, timeout, 429, 5xx) is retried with doubling back-off, a bounded number of
 *   times; anything else is logged and counted ({@link ConditionWriter.counters}).
 * @module
 */
import { ANNOTATION } from "../../annotation/annotation.ts";
import { KubeApiError, type KubeClient } from "../../kube/client.ts";
import { type CachedPod, cachedPodOf, type PodCache } from "../pods/pod_cache.ts";
import { abortableSleep } from "../../async/abortable_sleep.ts";
import { type BackoffBounds, backoffDelay } from "../../async/backoff.ts";
import { APPLIED_CONDITION, conditionPatch, type PodCondition } from "../../kube/pod_status.ts";
import type { Level } from "../reports/log_format.ts";
import { type AttachmentOutcome, nextCondition, wantedCondition, withDrift } from "./wanted_condition.ts";
import { KeyedQueue } from "../../async/keyed_queue.ts";
import { errorText } from "../../text/error_text.ts";

export type { ConditionMode } from "../flags.ts";

/** A pod an outcome is about (a report's `pod`). */
export interface ConditionPodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Retry bounds of one write: the delay doubles per attempt from `baseMs` (default 500) up to `maxMs` (8000). */
export interface ConditionBackoff extends BackoffBounds {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
}

/** Options of {@link ConditionWriter}. */
export interface ConditionWriterOptions {
  client: Pick<KubeClient, "patchPodStatus">;
  cache: Pick<PodCache, "get" | "getByUid">;
  mode: "gated" | "all";
  log(level: Level, msg: string): void;
  /** Clock (default `new Date()`). */
  now?(): Date;
  backoff?: Partial<ConditionBackoff>;
  /** Waits `ms` or until `signal` aborts; must not reject (default: a timer). */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  /** Aborted at the end of shutdown: no new write starts, back-off waits end (requests in flight finish). */
  signal?: AbortSignal;
  /** Pods written at the same time (default 4). */
  parallel?: number;
}

/** Counters for metrics; plain numbers that only grow. */
export interface ConditionCounters {
  /** Successful PATCHes. */
  written: number;
  /** Writes dropped because the pod is gone (404) or its name is another pod now (409). */
  gone: number;
  /** Writes given up (a non-retryable error, or the retries ran out). */
  failed: number;
  /** Retries after transient errors. */
  retries: number;
}

interface PodState {
  /** Last outcome per attachment, by `containerId\0ifname`. */
  outcomes: Map<string, AttachmentOutcome>;
  /** The first difference of each drifted attachment (drift checks, `drift: "report"`), same keys. */
  drifts?: Map<string, string>;
  /** What chainsaw last wrote, until the watch has caught up with it. */
  written?: { condition: PodCondition; resourceVersion: string };
}

const nameKey = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

function sameCondition(a: PodCondition | undefined, b: PodCondition): boolean {
  return !!a && a.status === b.status && (a.reason ?? "") === (b.reason ?? "") &&
    (a.message ?? "") === (b.message ?? "") && a.lastTransitionTime === b.lastTransitionTime;
}

/** True when resourceVersion `a` is known to be the same as or later than `b` (etcd revisions are decimal). */
function notOlder(a: string, b: string): boolean {
  return /^\d+$/.test(a) && /^\d+$/.test(b) && BigInt(a) >= BigInt(b);
}

/** The writer; see the module documentation. */
export class ConditionWriter {
  /** Counters for metrics. */
  readonly counters: ConditionCounters = { written: 0, gone: 0, failed: 0, retries: 0 };
  readonly #o: ConditionWriterOptions;
  readonly #backoff: ConditionBackoff;
  readonly #states = new Map<string, PodState>();
  readonly #queue: KeyedQueue<ConditionPodRef>;

  constructor(opts: ConditionWriterOptions) {
    this.#o = opts;
    this.#backoff = { baseMs: 500, maxMs: 8000, attempts: 5, ...opts.backoff };
    this.#queue = new KeyedQueue<ConditionPodRef>({
      run: (_key, ref) => this.#write(ref),
      merge: (waiting) => waiting,
      parallel: opts.parallel ?? 4,
      signal: opts.signal,
    });
  }

  get #stopped(): boolean {
    return this.#o.signal?.aborted ?? false;
  }

  /**
   * Whether the pod gets the condition in this mode: it declares the readiness gate (or, in mode `all`, it is
   * not `hostNetwork`), and it is neither terminating nor finished.
   *
   * @param pod a cached pod
   * @returns true when the writer writes its condition
   */
  wants(pod: CachedPod): boolean {
    if (pod.deletionTimestamp || pod.phase === "Succeeded" || pod.phase === "Failed") return false;
    if (pod.readinessGates?.includes(APPLIED_CONDITION)) return true;
    return this.#o.mode === "all" && !pod.hostNetwork;
  }

  /**
   * Records the outcome of one attachment's ADD or re-apply and writes the pod's condition if it changes. An
   * outcome from another sandbox (container id) of the pod replaces the old sandbox's outcomes.
   *
   * @param ref the pod (a report's `pod`)
   * @param outcome the attachment's outcome (see `outcomeOfReport`)
   * @example
   * ```ts
   * writer.record(report.pod, outcomeOfReport(report)!);
   * ```
   */
  record(ref: ConditionPodRef, outcome: AttachmentOutcome): void {
    const pod = cachedPodOf(this.#o.cache, ref);
    if (pod && !this.wants(pod)) return; // readiness gates are immutable: this pod never needs it
    const key = pod?.uid || ref.uid || nameKey(ref);
    let st = this.#states.get(key);
    if (!st) this.#states.set(key, st = { outcomes: new Map() });
    for (const [k, o] of st.outcomes) if (o.containerId !== outcome.containerId) st.outcomes.delete(k);
    for (const k of st.drifts?.keys() ?? []) {
      if (!k.startsWith(`${outcome.containerId}\u0000`)) st.drifts!.delete(k);
    }
    st.outcomes.set(`${outcome.containerId}\u0000${outcome.ifname}`, outcome);
    this.#schedule(key, ref);
  }

  /**
   * Sets (or, with `detail` undefined, clears) an attachment's drift: the drift checker found what chainsaw set
   * there changed since. The condition says `False`/`Drifted` while an applied attachment is drifted.
   *
   * @param ref the pod
   * @param containerId the attachment's container
   * @param ifname its interface
   * @param detail the first difference, or undefined when the drift is over
   */
  setDrift(ref: ConditionPodRef, containerId: string, ifname: string, detail: string | undefined): void {
    const pod = cachedPodOf(this.#o.cache, ref);
    if (pod && !this.wants(pod)) return;
    const key = pod?.uid || ref.uid || nameKey(ref);
    let st = this.#states.get(key);
    if (!st) {
      if (detail === undefined) return;
      this.#states.set(key, st = { outcomes: new Map() });
    }
    const k = `${containerId}\u0000${ifname}`;
    if (detail === undefined) {
      if (!st.drifts?.delete(k)) return;
    } else {
      if (st.drifts?.get(k) === detail) return;
      (st.drifts ??= new Map()).set(k, detail);
    }
    this.#schedule(key, ref);
  }

  /**
   * Forgets the outcome of a torn-down attachment (a DEL). The condition is not rewritten: the pod keeps what
   * it says until the next ADD or re-apply.
   *
   * @param ref the pod
   * @param containerId the sandbox's container id
   * @param ifname the interface (all of the container's when empty)
   */
  forgetAttachment(ref: ConditionPodRef, containerId: string, ifname = ""): void {
    const st = this.#states.get(ref.uid) ?? this.#states.get(nameKey(ref));
    if (!st) return;
    for (const [k, o] of st.outcomes) {
      if (o.containerId === containerId && (!ifname || o.ifname === ifname)) {
        st.outcomes.delete(k);
        st.drifts?.delete(k);
      }
    }
  }

  /**
   * Takes a pod update from the cache: writes the condition when what the pod should say differs from what it
   * says (e.g. a gated pod without the chainsaw annotation and without the condition yet).
   *
   * @param pod the updated pod
   */
  observe(pod: CachedPod): void {
    if (this.#stopped || !this.wants(pod)) return;
    if (this.#next(pod)) this.#schedule(pod.uid || nameKey(pod), pod);
  }

  /**
   * Forgets a pod that left the node.
   *
   * @param pod the deleted pod
   */
  forget(pod: CachedPod): void {
    this.#states.delete(pod.uid);
    this.#states.delete(nameKey(pod));
  }

  /** Resolves once no write is waiting or running (or after `timeoutMs`). */
  idle(timeoutMs = Infinity): Promise<void> {
    return this.#queue.idle(timeoutMs);
  }

  #stateOf(pod: CachedPod): PodState | undefined {
    return (pod.uid ? this.#states.get(pod.uid) : undefined) ?? this.#states.get(nameKey(pod));
  }

  /** What the pod says now: the cache's copy, unless chainsaw's own later write has not reached it yet. */
  #known(pod: CachedPod, st: PodState | undefined): PodCondition | undefined {
    const cached = pod.conditions?.[APPLIED_CONDITION];
    const w = st?.written;
    if (!w) return cached;
    if (notOlder(pod.resourceVersion, w.resourceVersion) || sameCondition(cached, w.condition)) {
      st.written = undefined;
      return cached;
    }
    return w.condition;
  }

  #next(pod: CachedPod): PodCondition | undefined {
    const st = this.#stateOf(pod);
    const annotated = (pod.annotations[ANNOTATION] ?? "").trim() !== "";
    const outcomes = [...st?.outcomes ?? []].map(([k, o]) => withDrift(o, st?.drifts?.get(k)));
    // A drift found before any outcome is known here (e.g. since the daemon started) still counts.
    for (const [k, detail] of st?.drifts ?? []) {
      if (st?.outcomes.has(k)) continue;
      const [containerId, ifname] = k.split("\u0000");
      outcomes.push({ containerId, ifname, network: "", result: "drifted", commands: 0, detail });
    }
    const wanted = wantedCondition(outcomes, annotated);
    if (!wanted) return undefined;
    return nextCondition(this.#known(pod, st), wanted, this.#o.now?.() ?? new Date());
  }

  #schedule(key: string, ref: ConditionPodRef): void {
    if (this.#stopped) return;
    this.#queue.add(key, ref);
  }

  async #write(ref: ConditionPodRef): Promise<void> {
    const { baseMs, maxMs, attempts } = this.#backoff;
    for (let attempt = 1;; attempt++) {
      if (this.#stopped) return;
      const pod = cachedPodOf(this.#o.cache, ref);
      if (!pod || !this.wants(pod)) return; // not (yet) in the cache: its first update brings it back here
      const next = this.#next(pod);
      if (!next) return;
      const who = `pod ${pod.namespace}/${pod.name}`;
      try {
        const updated = await this.#o.client.patchPodStatus(
          pod.namespace,
          pod.name,
          conditionPatch(pod.uid, next),
        );
        let st = this.#stateOf(pod);
        if (!st) this.#states.set(pod.uid || nameKey(pod), st = { outcomes: new Map() });
        st.written = { condition: next, resourceVersion: updated.metadata.resourceVersion ?? "" };
        this.counters.written++;
        this.#o.log(
          "info",
          `${who}: condition ${APPLIED_CONDITION}=${next.status} (${next.reason}): ${next.message}`,
        );
        return;
      } catch (e) {
        if (this.#stopped) return;
        const status = e instanceof KubeApiError ? e.status : -1;
        if (status === 404 || status === 409) {
          this.counters.gone++;
          this.#o.log(
            "info",
            `${who}: condition ${APPLIED_CONDITION} not written: the pod is gone (${errorText(e)})`,
          );
          return;
        }
        const transient = e instanceof KubeApiError && e.transient;
        if (!transient || attempt >= attempts) {
          this.counters.failed++;
          this.#o.log(
            "warn",
            `${who}: condition ${APPLIED_CONDITION} not written${
              transient ? ` after ${attempt} attempts` : ""
            }: ` +
              errorText(e),
          );
          return;
        }
        this.counters.retries++;
        const delay = backoffDelay(attempt - 1, { baseMs, maxMs });
        this.#o.log(
          "warn",
          `${who}: condition ${APPLIED_CONDITION} not written: ${errorText(e)}; retrying in ${delay} ms`,
        );
        await (this.#o.sleep ?? abortableSleep)(delay, this.#o.signal);
      }
    }
  }
}
