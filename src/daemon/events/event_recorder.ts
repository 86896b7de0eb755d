/**
 * Kubernetes Events on pods for chainsaw executions (ADD and re-apply): core/v1 Events posted with the thin
 * client, deduplicated by count the way kubelet's event correlator does it, and never failing the caller.
 *
 * API calls (and so the RBAC needed): `POST /api/v1/namespaces/{ns}/events` (events: create) and
 * `PATCH /api/v1/namespaces/{ns}/events/{name}` with `application/strategic-merge-patch+json`
 * (events: patch). Nothing is ever read back with GET or LIST.
 * @module
 */
import { errorText } from "../../text/error_text.ts";
import * as z from "zod/mini";
import { KubeApiError, type KubeClient } from "../../kube/client.ts";
import type { Report } from "../../report/report.ts";
import type { CommandResult } from "../../exec/runner.ts";
import { visible } from "../../text/visible.ts";
import { describeAttachment } from "../../annotation/resolve.ts";

/** The part of {@link KubeClient} the recorder uses. */
export type EventClient = Pick<KubeClient, "fetch">;

/**
 * Every Event reason chainsaw posts: the verdicts of ADD and REAPPLY reports, a key matching no attachment, and
 * the drift checks' (`src/daemon/drift/`). docs/reapply.md's Events table lists each (`tests/docs_truth_test.ts`).
 */
export const CHAINSAW_REASONS = [
  "ChainsawApplied",
  "ChainsawFailed",
  "ChainsawRejected",
  "ChainsawRollbackFailed",
  "ChainsawUnmatchedKey",
  "ChainsawDrifted",
  "ChainsawHealed",
] as const;

/** One of {@link CHAINSAW_REASONS}. */
export type ChainsawReason = (typeof CHAINSAW_REASONS)[number];

/** What to say about one execution. */
export interface EventSpec {
  reason: ChainsawReason;
  type: "Normal" | "Warning";
  message: string;
  /** core/v1 `action` (e.g. the report's verb); part of the deduplication key. */
  action?: string;
}

/** The pod an event is about. */
export interface EventPod {
  namespace: string;
  name: string;
  uid: string;
}

/** Options of {@link EventRecorder}. */
export interface EventRecorderOptions {
  client: EventClient;
  /** This node's name: `source.host` and `reportingInstance`. */
  node: string;
  /** Clock (default `new Date()`). */
  now?(): Date;
  log?(msg: string): void;
  /** The same (pod UID, reason, action, message) within this many ms is counted on one Event (default 10 min). */
  windowMs?: number;
  /** At most this many Events are remembered for counting (oldest forgotten first; default 4096). */
  maxEntries?: number;
  /** Per-request timeout (default: the client's). */
  timeoutMs?: number;
}

/** Counters for metrics; plain numbers that only grow. */
export interface EventCounters {
  /** Events created or counted (successful POST or PATCH). */
  posted: number;
  /** Of `posted`: PATCHes that raised a count. */
  patched: number;
  /** Events that could not be recorded. */
  failed: number;
}

/** The component name in `source`, `reportingComponent` and the dedup key. */
export const EVENT_COMPONENT = "chainsaw";

/** Longest message posted (core/v1 validation limit for `note`/`message` style fields). */
export const MAX_EVENT_MESSAGE = 1024;

/**
 * Cuts `text` to at most `max` UTF-16 units, marking the cut with `…`; a surrogate pair is never split.
 *
 * @param text The text.
 * @param max Its longest length, the `…` included.
 * @returns `text`, or its start and `…`.
 * @example
 * ```ts
 * import { capText } from "./event_recorder.ts";
 * capText("abcdef", 4); // "abc…"
 * ```
 */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}

/** Kubernetes timestamps: RFC 3339, seconds precision. */
function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The deterministic Event name for one (pod, event) pair: `<pod name>.<16 hex digits>` (a SHA-256 of pod UID,
 * reason, action and message), shortened to a valid object name.
 */
export async function eventName(pod: EventPod, ev: EventSpec): Promise<string> {
  const hash = await shortHash([pod.uid, ev.reason, ev.action ?? "", ev.message].join("\u0000"));
  return `${pod.name.slice(0, 253 - 17)}.${hash}`;
}

const EventAnswer = z.looseObject({ count: z.optional(z.number()) });

interface Entry {
  name: string;
  count: number;
  firstTimestamp: string;
  lastSeenMs: number;
}

/**
 * Posts core/v1 Events about pods. {@link EventRecorder.record} never throws: failures are counted in
 * {@link EventRecorder.counters} and logged.
 */
export class EventRecorder {
  /** Counters for metrics. */
  readonly counters: EventCounters = { posted: 0, patched: 0, failed: 0 };
  readonly #opts: EventRecorderOptions;
  readonly #seen = new Map<string, Entry>();
  readonly #chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  #log(msg: string): void {
    this.#opts.log?.(msg);
  }

  /**
   * Records `ev` on `pod`: a new Event, or `count + 1` on the Event of the same (pod, reason, action, message)
   * recorded within the window. Calls for the same Event are serialised. Never throws.
   */
  record(pod: EventPod, ev: EventSpec): Promise<void> {
    const spec: EventSpec = { ...ev, message: capText(ev.message, MAX_EVENT_MESSAGE) };
    const k = [pod.namespace, pod.uid, pod.name, spec.reason, spec.action ?? "", spec.message].join("\u0000");
    const prev = this.#chains.get(k) ?? Promise.resolve();
    const next = prev.then(() => this.#recordOne(k, pod, spec)).catch((e) => {
      this.counters.failed++;
      this.#log(
        `event ${spec.reason} on pod ${pod.namespace}/${pod.name} not recorded: ${errorText(e)}`,
      );
    });
    this.#chains.set(k, next);
    void next.then(() => {
      if (this.#chains.get(k) === next) this.#chains.delete(k);
    });
    return next;
  }

  /** Waits for every record in flight (for shutdown and tests). */
  async flush(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }

  async #recordOne(k: string, pod: EventPod, ev: EventSpec): Promise<void> {
    const now = this.#now();
    const windowMs = this.#opts.windowMs ?? 10 * 60 * 1000;
    const known = this.#seen.get(k);
    if (known && now.getTime() - known.lastSeenMs <= windowMs) {
      const count = known.count + 1;
      try {
        const got = await this.#patch(pod.namespace, known.name, { count, lastTimestamp: timestamp(now) });
        this.#remember(k, { ...known, count: Math.max(count, got ?? count), lastSeenMs: now.getTime() });
        this.counters.posted++;
        this.counters.patched++;
        return;
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        this.#seen.delete(k); // expired or deleted on the server: create it again
      }
    }
    const name = await eventName(pod, ev);
    const first = timestamp(now);
    try {
      await this.#create(pod, ev, name, first);
      this.#remember(k, { name, count: 1, firstTimestamp: first, lastSeenMs: now.getTime() });
      this.counters.posted++;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      // posted before (by an earlier run of this daemon): learn its count with a patch, then count this one
      const last = timestamp(now);
      const current = (await this.#patch(pod.namespace, name, { lastTimestamp: last })) ?? 1;
      const got = await this.#patch(pod.namespace, name, { count: current + 1, lastTimestamp: last });
      this.#remember(k, {
        name,
        count: got ?? current + 1,
        firstTimestamp: first,
        lastSeenMs: now.getTime(),
      });
      this.counters.posted++;
      this.counters.patched++;
    }
  }

  #remember(k: string, e: Entry): void {
    this.#seen.delete(k); // re-insert: Map order is the LRU order
    this.#seen.set(k, e);
    const max = this.#opts.maxEntries ?? 4096;
    while (this.#seen.size > max) this.#seen.delete(this.#seen.keys().next().value!);
  }

  async #create(pod: EventPod, ev: EventSpec, name: string, ts: string): Promise<void> {
    const node = this.#opts.node;
    const body: Record<string, unknown> = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: pod.namespace },
      involvedObject: {
        kind: "Pod",
        apiVersion: "v1",
        namespace: pod.namespace,
        name: pod.name,
        ...(pod.uid ? { uid: pod.uid } : {}),
      },
      reason: ev.reason,
      message: ev.message,
      type: ev.type,
      source: { component: EVENT_COMPONENT, host: node },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: node.slice(0, 128),
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    if (ev.action) body.action = ev.action.slice(0, 128);
    const res = await this.#opts.client.fetch(
      `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/events`,
      {
        method: "POST",
        body,
        timeoutMs: this.#opts.timeoutMs,
      },
    );
    await res.body?.cancel();
  }

  /** Strategic-merge-patches an Event; returns the count the server answered with, if any. */
  async #patch(namespace: string, name: string, patch: Record<string, unknown>): Promise<number | undefined> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(name)}`;
    const res = await this.#opts.client.fetch(path, {
      method: "PATCH",
      body: patch,
      contentType: "application/strategic-merge-patch+json",
      timeoutMs: this.#opts.timeoutMs,
    });
    try {
      const r = EventAnswer.safeParse(await res.json());
      return r.success ? r.data.count : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Longest output excerpt per command in an event message. */
const OUTPUT_EXCERPT = 160;

function outcome(c: CommandResult): string {
  if (c.kept) return "kept";
  if (c.timedOut) return "timed out";
  if (c.exitCode === null) return `killed by ${visible(String(c.signal))}`;
  return c.exitCode === 0 ? "ok" : `exit ${c.exitCode}`;
}

function excerpt(c: CommandResult): string {
  const text = (c.exitCode === 0 && !c.timedOut ? c.stdout : c.stderr || c.stdout).replace(/\s+/g, " ")
    .trim();
  return text === "" ? "" : `: ${capText(visible(text), OUTPUT_EXCERPT)}`;
}

/**
 * The verb and the attachment, as an Event names them: `ADD on net1 (network n)`; with a NAD (the pod's Multus
 * selection), `ADD of network default/test-chainsaw (chain test-chainsaw-chain) on net1`, the NAD name Multus
 * uses in its own Events and `network-status`.
 */
function whereOf(report: Report): string {
  const v = visible;
  return report.nad === undefined
    ? `${v(report.verb)} on ${v(report.ifname)} (network ${v(report.network)})`
    : `${v(report.verb)} of ${v(describeAttachment(report))}`;
}

/**
 * The Warning Event `ChainsawUnmatchedKey` for a report whose annotation has keys naming none of the pod's
 * attachments (a typo, a NAD the pod does not select), or undefined: the warnings, one per line, after the verb
 * and attachment, capped like {@link eventForReport}'s. Posted besides the verdict's Event, whatever the verdict
 * (a typo usually means nothing ran), so one `kubectl describe pod` shows it.
 *
 * @param report The report.
 * @returns What to post, or undefined.
 */
export function warningEventForReport(report: Report): EventSpec | undefined {
  if (!report.pod || !report.warnings?.length) return undefined;
  const lines = [
    `${whereOf(report)}: ${
      report.warnings.length === 1
        ? "a key of the annotation does"
        : `${report.warnings.length} keys of the annotation do`
    } nothing`,
  ];
  for (const w of report.warnings) lines.push(visible(w));
  return {
    reason: "ChainsawUnmatchedKey",
    type: "Warning",
    message: capText(lines.join("\n"), MAX_EVENT_MESSAGE),
    action: report.verb,
  };
}

/**
 * The Event for a report, or undefined when there is none to post: verdict `applied` → `ChainsawApplied`
 * (Normal), `failed` → `ChainsawFailed` (Warning), `rejected` → `ChainsawRejected` (Warning); `nothing` (no
 * annotation, nothing to run) and `error` (the pod or its annotation could not be read — the API is likely
 * unreachable too) post nothing, nor does a report without a pod. The message names the verb, interface and
 * network, then each command with its outcome and a capped excerpt of its output (no durations, so identical
 * runs are counted on one Event), capped at {@link MAX_EVENT_MESSAGE} characters. One line per command: every
 * string from the pod or the report (names, commands, output, error messages) is neutralised with
 * {@link visible}, so a message cannot hold a line, a terminal control sequence or a bidi control of its own.
 * When the report has a trace id (an ADD whose runtime passed a valid `TRACEPARENT`), the message ends with a
 * line `trace <trace id>`, kept whole when the rest is capped; since the message is part of the deduplication
 * key, ADDs under different traces are separate Events. A re-apply has no trace.
 *
 * @param report The report.
 * @returns What to post, or undefined.
 * @example
 * ```ts
 * import { eventForReport } from "./event_recorder.ts";
 * declare const report: import("../../report/report.ts").Report;
 * eventForReport(report)?.message; // "ADD on net1 (network n): applied 1 command\n[ok] ip route: …"
 * ```
 */
export function eventForReport(report: Report): EventSpec | undefined {
  if (!report.pod) return undefined;
  const v = visible;
  const where = whereOf(report);
  const why = report.error ? `: ${v(report.error.msg)}` : "";
  let head: string;
  let reason: ChainsawReason;
  let type: EventSpec["type"] = "Warning";
  switch (report.verdict) {
    case "applied":
      reason = "ChainsawApplied";
      type = "Normal";
      head = `${where}: applied ${report.commands.length} command${report.commands.length === 1 ? "" : "s"}`;
      break;
    case "failed":
      reason = report.rollback?.restored === false ? "ChainsawRollbackFailed" : "ChainsawFailed";
      head = `${where}: failed${why}`;
      break;
    case "rejected":
      reason = "ChainsawRejected";
      head = `${where}: rejected, nothing was run${why}`;
      break;
    default: {
      // Declarative mode: a value with no commands here any more took back what the previous one did.
      const e = report.effect;
      if (report.verdict !== "nothing" || !e || e.takenBack.length + e.leftAlone.length === 0) {
        return undefined;
      }
      reason = "ChainsawApplied";
      type = "Normal";
      head = `${where}: no commands; took back ${e.takenBack.length} object${
        e.takenBack.length === 1 ? "" : "s"
      }`;
    }
  }
  const lines = [head];
  if (report.rollback?.restored === true) {
    lines.push(`rolled back: the netns is as before the list (${report.rollback.durationMs} ms)`);
  } else if (report.rollback) {
    lines.push(
      `ROLLBACK FAILED: the netns is NOT as before the list: ${
        report.rollback.failures.map(v).join("; ") || "unknown"
      }`,
    );
  }
  for (const t of report.effect?.takenBack ?? []) lines.push(`taken back: ${v(t)}`);
  for (const t of report.effect?.leftAlone ?? []) {
    lines.push(`left alone: changed since chainsaw set it: ${v(t)}`);
  }
  if (report.commands.length > 0) {
    for (const c of report.commands) lines.push(`[${outcome(c)}] ${v(c.command)}${excerpt(c)}`);
    const skipped = report.detected.length - report.commands.length;
    if (skipped > 0) lines.push(`(${skipped} more not run)`);
  } else if (report.detected.length > 0) {
    lines.push(`commands: ${report.detected.map(v).join("; ")}`);
  }
  const trace = report.traceId === undefined ? "" : `\ntrace ${v(report.traceId)}`;
  return {
    reason,
    type,
    message: capText(lines.join("\n"), MAX_EVENT_MESSAGE - trace.length) + trace,
    action: report.verb,
  };
}
