/**
 * The live re-apply controller: keeps the attachment store in step with registrations (after ADD) and forgets
 * (DEL), and brings each pod's attachments in step with the pod's current annotation in the cache.
 *
 * Work is per pod: a change schedules a *sync* of that pod, which reads the pod's current value from the cache
 * and its attachments from the store, plans with {@link planReapply} and runs each step (in order, one pod at a
 * time; a few pods in parallel). Changes arriving while a pod's sync runs or waits coalesce into one more sync, so
 * a burst of edits runs at most the latest value, and only values an attachment has not run yet (`applied`).
 * Every run's report is handed to `accept` (stdout, logs API, metrics, Events) and its value recorded as `applied`
 * whatever the verdict, then the state file is saved.
 * @module
 */
import { ANNOTATION } from "../../annotation/annotation.ts";
import type { Logger } from "../context.ts";
import { type CachedPod, cachedPodOf, type PodCache } from "../pods/pod_cache.ts";
import type { PodRef } from "../../cni/env.ts";
import type { Report } from "../../report/report.ts";
import type { AttachmentForget, AttachmentRegistration } from "../../wire/attachment.ts";
import type { EffectItem } from "../../wire/effect.ts";
import type { NetnsSnapshot } from "../../exec/netns_snapshot.ts";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import {
  type Attachment,
  attachmentKey,
  attachmentNameOf,
  type AttachmentStore,
} from "../attachments/attachment_store.ts";
import { AnnotationError } from "../../annotation/annotation.ts";
import { type AttachmentName, unmatchedKeyWarnings } from "../../annotation/resolve.ts";
import { isProcNetns, type NetnsState } from "../../exec/netns_state.ts";
import { attachmentOf, planReapply, type ReapplyStep } from "./plan.ts";
import { KeyedQueue } from "../../async/keyed_queue.ts";
import { settledWithin } from "../../async/abortable_sleep.ts";
import { errorText } from "../../text/error_text.ts";
import type { PruneReason } from "../attachments/attachment_metrics.ts";

/** What the controller works with. */
export interface ReapplierDeps {
  store: AttachmentStore;
  cache: Pick<PodCache, "get" | "getByUid" | "list">;
  /**
   * Runs one planned step; never throws (see executeStep): its report and, declarative, the new effect.
   * `podAttachments`: all of the pod's attachments, for the report's warnings about keys that name none of them.
   */
  execute(
    step: ReapplyStep,
    pod: CachedPod,
    podAttachments: readonly AttachmentName[],
    beforeChange?: (start: NetnsSnapshot) => Promise<void>,
  ): Promise<{ report: Report; effect?: EffectItem[] }>;
  /**
   * Puts an attachment's netns back to `a.pending.before` (a re-apply the daemon died in: its write-ahead
   * record); resolves the failures (none: done). Absent: a pending record is dropped without restoring.
   */
  recover?(a: Attachment): Promise<string[]>;
  /**
   * The report of a changed value that runs nothing but has keys naming none of the pod's attachments
   * (warningStepReport); absent: such a change is not reported.
   */
  warn?(a: Attachment, pod: CachedPod, value: string, warnings: readonly string[]): Report;
  /** Delivers a re-apply report like a plugin's (ctx.accept). */
  accept(report: Report): void;
  netnsState(path: string): Promise<NetnsState>;
  log: Logger;
  /** Counts attachments forgotten without a DEL. */
  onPruned?(reason: PruneReason, count: number): void;
  /** Counts state file writes. */
  onSaved?(ok: boolean): void;
  /** Aborted at shutdown: no new sync starts. */
  signal?: AbortSignal;
  /** Pods synced at the same time (default 4). */
  parallel?: number;
}

/** One pod's pending sync: the pod, and the annotation value before the first change not synced yet. */
interface Sync {
  ref: PodRef;
  oldValue: string | undefined;
  /** Heals asked for (drift checks), run after the sync, in order. */
  heals?: Heal[];
}

/** One heal of an attachment, waiting for its turn in the pod's queue. */
interface Heal {
  containerId: string;
  ifname: string;
  run(a: Attachment): Promise<boolean>;
  /** Resolves the caller's promise (only the first call counts). */
  done(healed: boolean): void;
}

const refKey = (p: PodRef) => p.uid || `${p.namespace}/${p.name}`;

/** The controller; see the module documentation. */
export class Reapplier {
  readonly #deps: ReapplierDeps;
  readonly #queue: KeyedQueue<Sync>;
  #saving: Promise<void> = Promise.resolve();

  constructor(deps: ReapplierDeps) {
    this.#deps = deps;
    this.#queue = new KeyedQueue<Sync>({
      run: async (_key, { ref, oldValue, heals }) => {
        let reapplied = new Set<string>();
        try {
          reapplied = await this.#sync(ref, oldValue);
        } catch (e) {
          this.#deps.log("error", `re-apply of pod ${ref.namespace}/${ref.name} failed: ${errorText(e)}`);
        }
        await this.#heal(heals ?? [], reapplied);
      },
      // a burst of edits runs the latest value once, compared with the value before the first of them; heals
      // wait behind it
      merge: (waiting, added) => ({
        ref: waiting.ref,
        oldValue: waiting.oldValue ?? added.oldValue,
        heals: [...waiting.heals ?? [], ...added.heals ?? []],
      }),
      parallel: deps.parallel ?? 4,
      signal: deps.signal,
    });
  }

  get #stopped(): boolean {
    return this.#deps.signal?.aborted ?? false;
  }

  /**
   * Records an attachment registered after an ADD (with the annotation value the ADD used, unknown when it could
   * not read it) and syncs the pod when the cache already has a newer value. Resolves once the state file has it
   * (never rejects: a failed write is logged and counted).
   */
  onRegister(registration: AttachmentRegistration): Promise<void> {
    const a = this.#deps.store.add(registration);
    if (!a) return Promise.resolve();
    const saved = this.save();
    // The annotation may have changed between the ADD's lookup and now (a change the sync would have missed).
    const pod = cachedPodOf(this.#deps.cache, { namespace: a.namespace, name: a.name, uid: a.podUid });
    if (pod && a.applied !== undefined && (pod.annotations[ANNOTATION] ?? "") !== a.applied) {
      this.schedule(pod);
    }
    return saved;
  }

  /** Forgets a container's attachments (its DEL); returns how many went. */
  onForget(forget: AttachmentForget): number {
    const n = this.#deps.store.remove(forget.containerId, forget.ifname || undefined);
    if (n > 0) this.#save();
    return n;
  }

  /** The pod's chainsaw annotation changed from `oldValue` (the cache's change listener). */
  onAnnotationChange(pod: CachedPod, oldValue: string | undefined): void {
    this.schedule(pod, oldValue);
  }

  /** The pod left the node (the cache's delete listener): its attachments go. */
  onPodGone(pod: CachedPod): void {
    const gone = this.#deps.store.all().filter((a) => attachmentOf(pod, a));
    this.#forget(gone, "pod_gone", `pod ${pod.namespace}/${pod.name} left the node`);
  }

  /**
   * After the first complete list: forgets attachments from before the start whose pod is not on the node any
   * more (its DEL was missed while the daemon was down), then syncs every pod with attachments, so a change made
   * while the daemon was down is applied (once).
   */
  afterFirstList(loaded: readonly Attachment[]): void {
    const pods = this.#deps.cache.list();
    const orphans = loaded.filter((a) =>
      this.#deps.store.get(a.containerId, a.ifname) !== undefined && !pods.some((p) => attachmentOf(p, a))
    );
    this.#forget(orphans, "pod_gone", "its pod is not on this node");
    const scheduled = new Set<string>();
    for (const a of this.#deps.store.all()) {
      const pod = pods.find((p) => attachmentOf(p, a));
      if (!pod || scheduled.has(refKey(pod))) continue;
      scheduled.add(refKey(pod));
      this.schedule(pod);
    }
  }

  /** Whether a sync of the pod is waiting or running (the drift checker and CHECK do not observe it then). */
  syncing(ref: PodRef): boolean {
    return this.#queue.has(refKey(ref));
  }

  /**
   * Runs `run` on the attachment in the pod's turn of the re-apply queue: after the sync waiting or running (an
   * edit of the annotation always goes first), never beside one, and not at all when that sync re-applied the
   * attachment (the edit replaced what was to be healed) or the attachment is gone. An edit arriving meanwhile
   * waits for it and then applies the pod's current value, so no update is lost.
   *
   * @param ref the pod
   * @param containerId the attachment's container
   * @param ifname its interface
   * @param run the heal, with the attachment as stored at its turn; resolves whether it healed
   * @returns whether `run` ran and healed
   */
  heal(
    ref: PodRef,
    containerId: string,
    ifname: string,
    run: (a: Attachment) => Promise<boolean>,
  ): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      let settled = false;
      const done = (healed: boolean) => {
        if (settled) return;
        settled = true;
        this.#deps.signal?.removeEventListener("abort", stop);
        resolve(healed);
      };
      const stop = () => done(false); // shutting down: the queue runs no new round
      this.#deps.signal?.addEventListener("abort", stop, { once: true });
      this.#queue.add(refKey(ref), { ref, oldValue: undefined, heals: [{ containerId, ifname, run, done }] });
    });
  }

  async #heal(heals: readonly Heal[], reapplied: ReadonlySet<string>): Promise<void> {
    for (const h of heals) {
      const key = attachmentKey(h.containerId, h.ifname);
      const a = this.#deps.store.get(h.containerId, h.ifname);
      if (!a || reapplied.has(key) || this.#stopped) {
        h.done(false);
        continue;
      }
      try {
        h.done(await h.run(a));
      } catch (e) {
        this.#deps.log("error", `heal of ${a.namespace}/${a.name} ${a.ifname} failed: ${errorText(e)}`);
        h.done(false);
      }
    }
  }

  /** Schedules a sync of the pod (coalesced with one already waiting or running). */
  schedule(ref: PodRef, oldValue?: string): void {
    if (this.#stopped) return;
    this.#queue.add(refKey(ref), { ref, oldValue });
  }

  /** Resolves once no sync is waiting or running and the state file is written (or after `timeoutMs`). */
  async idle(timeoutMs = Infinity): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const saving = this.#saving;
      if (Date.now() >= end) return;
      await Promise.all([this.#queue.idle(end - Date.now()), settledWithin(saving, end - Date.now())]);
      if (this.#queue.size === 0 && this.#saving === saving) return;
    }
  }

  /** Writes the state file (errors are logged and counted, never thrown). */
  save(): Promise<void> {
    const done = this.#write().catch((e) =>
      this.#deps.log("error", `cannot write ${this.#deps.store.path}: ${errorText(e)}`)
    );
    this.#saving = done;
    return done;
  }

  /** Writes the state file and counts the outcome (`onSaved`); a failure is thrown. */
  async #write(): Promise<void> {
    try {
      await this.#deps.store.save();
    } catch (e) {
      this.#deps.onSaved?.(false);
      throw e;
    }
    this.#deps.onSaved?.(true);
  }

  #save(): void {
    void this.save();
  }

  #forget(attachments: readonly Attachment[], reason: PruneReason, why: string): void {
    let n = 0;
    for (const a of attachments) {
      if (this.#deps.store.remove(a.containerId, a.ifname) === 0) continue;
      n++;
      this.#deps.log(
        "info",
        `forgot attachment ${a.namespace}/${a.name} ${a.ifname} (container ${a.containerId}): ${why}`,
      );
    }
    if (n === 0) return;
    this.#deps.onPruned?.(reason, n);
    this.#save();
  }

  /**
   * A changed value that runs nothing: when it has keys naming none of the pod's attachments, one REAPPLY report
   * says so (on the pod's first attachment, then recorded as applied there, so it is said once per value).
   */
  #warnOnce(
    pod: CachedPod,
    all: readonly Attachment[],
    value: string,
    names: readonly AttachmentName[],
  ): void {
    if (!this.#deps.warn || all.length === 0 || all.some((a) => a.applied === value)) return;
    let warnings: string[];
    try {
      warnings = unmatchedKeyWarnings(value, names);
    } catch (e) {
      if (e instanceof AnnotationError) return; // a malformed value is an error step's report
      throw e;
    }
    if (warnings.length === 0) return;
    const a = all[0];
    this.#deps.accept(this.#deps.warn(a, pod, value, warnings));
    if (this.#deps.store.markApplied(a.containerId, a.ifname, value)) this.#save();
  }

  /**
   * A re-apply the daemon died in (a write-ahead record in the state file): the netns may hold part or all of a
   * value whose effect was never recorded, so it is put back to the snapshot taken before that edit, and the
   * record dropped; the sync then applies the pod's value as an edit of the recorded effect.
   */
  async #recover(pod: CachedPod): Promise<void> {
    const pending = this.#deps.store.all().filter((a) => attachmentOf(pod, a) && a.pending);
    for (const a of pending) {
      const what = `pod ${pod.namespace}/${pod.name} ${a.ifname}`;
      let failures: string[] = [];
      if (isProcNetns(a.netns) || (await this.#deps.netnsState(a.netns)) === "gone") {
        failures = ["its netns cannot be entered"];
      } else if (this.#deps.recover) {
        try {
          failures = await this.#deps.recover(a);
        } catch (e) {
          failures = [errorText(e)];
        }
      }
      this.#deps.store.setPending(a.containerId, a.ifname, undefined);
      this.#deps.log(
        failures.length === 0 ? "warn" : "error",
        failures.length === 0
          ? `${what}: the daemon stopped during a re-apply (value ${
            JSON.stringify(a.pending!.value).slice(0, 200)
          }); the netns is put back as it was before it, and the pod's value is applied again`
          : `${what}: the daemon stopped during a re-apply, and putting the netns back as it was before failed: ${
            failures.slice(0, 4).join("; ")
          }`,
      );
    }
    if (pending.length > 0) await this.save();
  }

  /** The write-ahead record of a step: saved before the step first changes the netns (a failed save stops it). */
  #journal(a: Attachment, value: string): (start: NetnsSnapshot) => Promise<void> {
    return async (before) => {
      this.#deps.store.setPending(a.containerId, a.ifname, { value, before });
      try {
        await this.#write();
      } catch (e) {
        this.#deps.store.setPending(a.containerId, a.ifname, undefined);
        throw new CniError(
          ErrorCode.Internal,
          `cannot record the re-apply in ${this.#deps.store.path} before changing the netns: ${
            errorText(e)
          }; nothing changed`,
          "",
          { cause: e },
        );
      }
    };
  }

  /** Brings the pod's attachments in step with its value; returns the attachments it ran a step on. */
  async #sync(ref: PodRef, oldValue: string | undefined): Promise<Set<string>> {
    const ran = new Set<string>();
    const pod = cachedPodOf(this.#deps.cache, ref);
    if (!pod) return ran;
    await this.#recover(pod);
    // An attachment whose applied value is unknown is only re-applied on a change that says what came before.
    const attachments = this.#deps.store.all().filter((a) =>
      attachmentOf(pod, a) && (a.applied !== undefined || oldValue !== undefined)
    );
    const value = pod.annotations[ANNOTATION];
    const steps = planReapply(pod, attachments, oldValue, value);
    // Every attachment of the pod, for the keys that name none of them (a warning in the reports).
    const all = this.#deps.store.all().filter((a) => attachmentOf(pod, a));
    const names = all.map(attachmentNameOf);
    if (steps.length === 0 && value !== undefined && !pod.deletionTimestamp) {
      this.#warnOnce(pod, all, value, names);
    }
    if (steps.length > 0) {
      this.#deps.log(
        "info",
        `pod ${pod.namespace}/${pod.name}: annotation ${ANNOTATION} changed; re-applying on ${steps.length} ` +
          `attachment${steps.length === 1 ? "" : "s"} (${steps.map((s) => s.attachment.ifname).join(", ")})`,
      );
    }
    let changed = false;
    for (const step of steps) {
      if (this.#stopped) break;
      const a = step.attachment;
      if (isProcNetns(a.netns)) {
        this.#deps.log(
          "warn",
          `pod ${pod.namespace}/${pod.name} ${a.ifname}: not re-applied: its netns ${a.netns} is a /proc path ` +
            "(only namespaces pinned under /var/run/netns can be re-entered safely; see docs/reapply.md)",
        );
        continue;
      }
      if ((await this.#deps.netnsState(a.netns)) === "gone") {
        this.#forget([a], "netns_gone", `its netns ${a.netns} no longer exists`);
        continue;
      }
      const journal = a.mode === "declarative" ? this.#journal(a, step.value) : undefined;
      const { report, effect } = await this.#deps.execute(step, pod, names, journal);
      ran.add(attachmentKey(a.containerId, a.ifname));
      this.#deps.accept(report);
      changed = this.#deps.store.markApplied(a.containerId, a.ifname, step.value, effect) || changed;
      // Each declarative step's outcome (and the end of its write-ahead record) is written before the next step.
      if (journal) {
        await this.save();
        changed = false;
      }
    }
    if (changed) await this.save();
    return ran;
  }
}
