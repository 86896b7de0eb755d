/**
 * The node-local pod cache fed by {@link PodWatcher}: a small record per pod (identity, phase, deletion mark, the
 * readiness gates' condition types, chainsaw's own pod condition and only the annotations chainsaw reads: its own
 * and Multus's network selection), lookups
 * by name or UID, waiting for a pod the watch has not delivered yet, and listeners for changes of the chainsaw
 * annotation, for every update, and for deletions.
 *
 * Wiring: `new PodWatcher({ …, onList: (pods) => cache.replace(pods), onEvent: (t, pod) => cache.apply(t, pod) })`.
 * @module
 */
import { errorText } from "../../text/error_text.ts";
import { ANNOTATION, NETWORKS_ANNOTATION } from "../../annotation/annotation_key.ts";
import type { Pod } from "../../kube/client.ts";
import type { PodEventType } from "./pod_watch.ts";
import {
  APPLIED_CONDITION,
  type PodCondition,
  podConditions,
  readinessGates,
} from "../../kube/pod_status.ts";

/** What the cache keeps of one pod. */
export interface CachedPod {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** `status.phase`, empty when unknown. */
  phase: string;
  /** `metadata.deletionTimestamp` when the pod is terminating. */
  deletionTimestamp?: string;
  /** Only the annotations listed in {@link PodCacheOptions.annotationKeys}. */
  annotations: Record<string, string>;
  /** The condition types of `spec.readinessGates` (absent when the pod declares none). */
  readinessGates?: string[];
  /** `spec.hostNetwork` when true (such a pod has no CNI attachments). */
  hostNetwork?: true;
  /** Only the conditions listed in {@link PodCacheOptions.conditionTypes}, by type (absent when none). */
  conditions?: Record<string, PodCondition>;
}

/** Called after a pod was added or changed (`old` is undefined for a new pod). */
export type PodUpdateListener = (pod: CachedPod, old: CachedPod | undefined) => void;

/** Called when the chainsaw annotation of a known pod changes (`undefined` = absent). */
export type AnnotationChangeListener = (
  pod: CachedPod,
  oldValue: string | undefined,
  newValue: string | undefined,
) => void;

/** Called when a pod leaves the cache (deleted, moved off the node, or missing from a re-list). */
export type PodDeleteListener = (pod: CachedPod) => void;

/** Options of {@link PodCache}. */
export interface PodCacheOptions {
  /**
   * Annotation keys to keep (default: chainsaw's, {@link ANNOTATION}, and Multus's selection,
   * {@link NETWORKS_ANNOTATION}, which names each attachment's NAD).
   */
  annotationKeys?: readonly string[];
  /** Condition types to keep (default: only chainsaw's, {@link APPLIED_CONDITION}). */
  conditionTypes?: readonly string[];
  /** Where listener exceptions are reported (they never reach the watcher). */
  log?(msg: string): void;
}

/** The annotations the cache keeps by default: chainsaw's and Multus's selection (each attachment's NAD). */
export const CACHED_ANNOTATIONS: readonly string[] = [ANNOTATION, NETWORKS_ANNOTATION];

/** Reduces a pod to the fields chainsaw needs. */
export function slimPod(
  pod: Pod,
  keys: readonly string[] = CACHED_ANNOTATIONS,
  conditionTypes: readonly string[] = [APPLIED_CONDITION],
): CachedPod {
  const md = pod.metadata;
  const annotations: Record<string, string> = {};
  for (const k of keys) {
    const v = md.annotations?.[k];
    if (v !== undefined) annotations[k] = v;
  }
  const out: CachedPod = {
    namespace: md.namespace ?? "",
    name: md.name,
    uid: md.uid ?? "",
    resourceVersion: md.resourceVersion ?? "",
    phase: pod.status?.phase ?? "",
    annotations,
  };
  if (md.deletionTimestamp) out.deletionTimestamp = md.deletionTimestamp;
  const gates = readinessGates(pod);
  if (gates.length > 0) out.readinessGates = gates;
  if (pod.spec?.hostNetwork === true) out.hostNetwork = true;
  const conditions = podConditions(pod, conditionTypes);
  if (Object.keys(conditions).length > 0) out.conditions = conditions;
  return out;
}

interface Waiter {
  uid?: string;
  resolve(pod: CachedPod | undefined): void;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * The cached pod a reference means: the pod with its UID, else the pod of its name unless the two UIDs differ (a
 * pod recreated under the same name is another pod).
 *
 * @param cache the pod cache
 * @param ref a pod reference (a report's, an attachment's); `uid` may be empty
 * @returns the cached pod, or undefined
 */
export function cachedPodOf(
  cache: Pick<PodCache, "get" | "getByUid">,
  ref: { namespace: string; name: string; uid?: string },
): CachedPod | undefined {
  const byUid = ref.uid ? cache.getByUid(ref.uid) : undefined;
  if (byUid) return byUid;
  const byName = cache.get(ref.namespace, ref.name);
  return byName && (!ref.uid || !byName.uid || byName.uid === ref.uid) ? byName : undefined;
}

/** The store. Synchronous updates; listeners run synchronously after the store changed. */
export class PodCache {
  readonly #pods = new Map<string, CachedPod>();
  readonly #byUid = new Map<string, string>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #changeListeners = new Set<AnnotationChangeListener>();
  readonly #deleteListeners = new Set<PodDeleteListener>();
  readonly #updateListeners = new Set<PodUpdateListener>();
  readonly #keys: readonly string[];
  readonly #conditionTypes: readonly string[];
  readonly #log: (msg: string) => void;

  constructor(opts: PodCacheOptions = {}) {
    this.#keys = opts.annotationKeys ?? CACHED_ANNOTATIONS;
    this.#conditionTypes = opts.conditionTypes ?? [APPLIED_CONDITION];
    this.#log = opts.log ?? (() => {});
  }

  /** Number of cached pods. */
  get size(): number {
    return this.#pods.size;
  }

  /** The pod `namespace/name`, if cached. */
  get(namespace: string, name: string): CachedPod | undefined {
    return this.#pods.get(key(namespace, name));
  }

  /** The pod with this UID, if cached. */
  getByUid(uid: string): CachedPod | undefined {
    const k = this.#byUid.get(uid);
    return k === undefined ? undefined : this.#pods.get(k);
  }

  /** All cached pods. */
  list(): CachedPod[] {
    return [...this.#pods.values()];
  }

  /**
   * Resolves with the pod once it is cached (with UID `uid` when given), or undefined after `timeoutMs`, when
   * `signal` aborts or the cache is closed. Resolves at once when it is already there.
   */
  waitFor(
    namespace: string,
    name: string,
    uid: string | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<CachedPod | undefined> {
    const now = this.get(namespace, name);
    if (now && (!uid || now.uid === uid)) return Promise.resolve(now);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(undefined);
    const k = key(namespace, name);
    return new Promise((resolve) => {
      let set = this.#waiters.get(k);
      if (!set) this.#waiters.set(k, set = new Set());
      const waiter: Waiter = {
        uid: uid || undefined,
        resolve: (pod) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const s = this.#waiters.get(k);
          s?.delete(waiter);
          if (s?.size === 0) this.#waiters.delete(k);
          resolve(pod);
        },
      };
      const onAbort = () => waiter.resolve(undefined);
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      set.add(waiter);
    });
  }

  /** Subscribes to changes of the chainsaw annotation on pods already cached; returns the unsubscribe. */
  onAnnotationChange(listener: AnnotationChangeListener): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Subscribes to pods leaving the cache; returns the unsubscribe. */
  onDelete(listener: PodDeleteListener): () => void {
    this.#deleteListeners.add(listener);
    return () => this.#deleteListeners.delete(listener);
  }

  /** Subscribes to every added or changed pod (after the annotation listeners); returns the unsubscribe. */
  onUpdate(listener: PodUpdateListener): () => void {
    this.#updateListeners.add(listener);
    return () => this.#updateListeners.delete(listener);
  }

  /** Applies one watch event. */
  apply(type: PodEventType, pod: Pod): void {
    const ns = pod.metadata.namespace ?? "";
    if (type === "DELETED") this.#delete(key(ns, pod.metadata.name));
    else this.#upsert(slimPod(pod, this.#keys, this.#conditionTypes));
  }

  /** Replaces the content with a complete list: pods absent from it are deleted, the others upserted. */
  replace(pods: readonly Pod[]): void {
    const fresh = pods.map((p) => slimPod(p, this.#keys, this.#conditionTypes));
    const keep = new Set(fresh.map((p) => key(p.namespace, p.name)));
    for (const k of [...this.#pods.keys()]) if (!keep.has(k)) this.#delete(k);
    for (const p of fresh) this.#upsert(p);
  }

  /** Resolves every pending {@link waitFor} with undefined (for shutdown). */
  close(): void {
    for (const set of [...this.#waiters.values()]) for (const w of [...set]) w.resolve(undefined);
  }

  #upsert(pod: CachedPod): void {
    const k = key(pod.namespace, pod.name);
    const old = this.#pods.get(k);
    if (old && old.uid !== pod.uid) {
      // same name, new pod: the old one is gone
      this.#delete(k);
      this.#upsert(pod);
      return;
    }
    this.#pods.set(k, pod);
    if (pod.uid) this.#byUid.set(pod.uid, k);
    for (const w of [...this.#waiters.get(k) ?? []]) if (!w.uid || w.uid === pod.uid) w.resolve(pod);
    const before = old?.annotations[ANNOTATION];
    const after = pod.annotations[ANNOTATION];
    if (old && before !== after) {
      for (const l of [...this.#changeListeners]) {
        try {
          l(pod, before, after);
        } catch (e) {
          this.#log(`pod cache: annotation listener failed: ${errorText(e)}`);
        }
      }
    }
    for (const l of [...this.#updateListeners]) {
      try {
        l(pod, old);
      } catch (e) {
        this.#log(`pod cache: update listener failed: ${errorText(e)}`);
      }
    }
  }

  #delete(k: string): void {
    const old = this.#pods.get(k);
    if (!old) return;
    this.#pods.delete(k);
    if (old.uid && this.#byUid.get(old.uid) === k) this.#byUid.delete(old.uid);
    for (const l of [...this.#deleteListeners]) {
      try {
        l(old);
      } catch (e) {
        this.#log(`pod cache: delete listener failed: ${errorText(e)}`);
      }
    }
  }
}
