/**
 * What the daemon's features are given, and what they give back. The wiring (daemon.ts) hands every extension a
 * {@link DaemonContext}; the pod features (features.ts) build once what they share — the API client, the
 * attachment store, the pod cache, the executor's deps, the re-apply controller — into a {@link FeatureContext}
 * and call each feature folder's `start(ctx)` with it. A new feature is a folder with a `start.ts` exporting a
 * {@link Feature}, and one line in features.ts' list.
 * @module
 */
import type { KubeClient } from "../kube/client.ts";
import type { ReapplyExecDeps } from "./reapply/reapply_step.ts";
import type { Report } from "../report/report.ts";
import type { AttachmentStore } from "./attachments/attachment_store.ts";
import type { DaemonState } from "./daemon_state.ts";
import type { DaemonMetrics } from "./metrics/daemon_metrics.ts";
import type { DaemonOptions } from "./options.ts";
import type { PodCache } from "./pods/pod_cache.ts";
import type { PodWatcher } from "./pods/pod_watch.ts";
import type { Reapplier } from "./reapply/reapplier.ts";
import type { PodMetrics } from "./pods/pod_metrics.ts";
import type { AttachmentMetrics } from "./attachments/attachment_metrics.ts";
import type { Level } from "./reports/log_format.ts";
import type { SocketApi } from "./api/socket_api.ts";
import type { ApplyInput } from "../exec/apply.ts";
import type { NetnsState } from "../exec/netns_state.ts";
import type { EventPod, EventSpec } from "./events/event_recorder.ts";
import type { ConditionPodRef } from "./conditions/condition_writer.ts";

/** A daemon message logger. */
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

/** What a daemon extension is given (policy/policy_sync.ts, and the pod features of features.ts). */
export interface DaemonContext {
  readonly options: DaemonOptions;
  readonly metrics: DaemonMetrics;
  readonly state: DaemonState;
  readonly log: Logger;
  /** Records a report as if a plugin had sent it (ring, metrics, stdout). */
  readonly accept: (report: Report) => void;
  /** Calls `listener` with every accepted report (the plugins' ADD reports, and `accept`ed ones). */
  readonly onReport: (listener: (report: Report) => void) => void;
  /** Serves `prefix` (and below) on the daemon socket; see {@link SocketApi.addRoute}. */
  readonly addSocketRoute: SocketApi["addRoute"];
}

/** Stops what a feature started; awaited at shutdown. */
export type Stop = () => Promise<void>;

/**
 * Starts a feature once the daemon serves; the returned function stops it at shutdown, after the report socket
 * has closed (so no new report arrives while it finishes) and before stdout is flushed.
 */
export type DaemonExtension = (ctx: DaemonContext) => Promise<Stop>;

/** The process edges the pod features use (replaceable in tests). */
export interface FeatureDeps {
  getenv(name: string): string | undefined;
  run: ApplyInput["run"];
  now(): Date;
  netnsState(path: string): Promise<NetnsState>;
}

/** The executor's deps, built once by features.ts: ADDs, re-applies and explanations decide alike. */
export type ExecDeps = ReapplyExecDeps & Pick<FeatureDeps, "netnsState">;

/** The node's pods, when the pod watch runs. */
export interface PodsView {
  readonly cache: PodCache;
  readonly watcher: PodWatcher;
}

/** What each pod feature's `start(ctx)` is given: the daemon's context and what the features share, built once. */
export interface FeatureContext extends DaemonContext {
  /** The process edges. */
  readonly deps: FeatureDeps;
  /** This node's name (`--node-name`), or undefined. */
  readonly node: string | undefined;
  /** The daemon's API client; undefined without a node name or credentials (the features that need it are off). */
  readonly client: KubeClient | undefined;
  /** The attachments (`--state-file`), loaded, those whose netns is gone dropped. */
  readonly store: AttachmentStore;
  /** The pod cache and its watch; undefined with `--no-pod-watch` or without API access. */
  readonly pods: PodsView | undefined;
  /** The executor's deps (node, policy, namespace labels, runner, clock, netns check) for ADD, re-apply, explain. */
  readonly exec: ExecDeps;
  /** The live re-apply controller: every change of the attachments goes through it (it saves the store). */
  readonly reapplier: Reapplier;
  /** Pod lookups and annotation sources (`chainsaw_pod_lookups_total`, `chainsaw_pod_annotation_sources_total`). */
  readonly podMetrics: PodMetrics;
  /** Attachments forgotten and state file writes. */
  readonly attachmentMetrics: AttachmentMetrics;
  /** What the features started so far offer the later ones. */
  readonly handles: FeatureHandles;
}

/**
 * What a feature offers the features started after it, set at its start (absent: that feature is off). Events and
 * the pod condition are written by their own features; the drift checker tells them through these.
 */
export interface FeatureHandles {
  /** Posts a Kubernetes Event on a pod (events/, with `--events` and API access). */
  recordEvent?(pod: EventPod, spec: EventSpec): void;
  /** Sets or clears (undefined) an attachment's drift in the pod condition (conditions/). */
  setDrift?(pod: ConditionPodRef, containerId: string, ifname: string, detail: string | undefined): void;
}

/** A pod feature: starts with the shared context; returns its stop function, if it has something to stop. */
export type Feature = (ctx: FeatureContext) => Stop | undefined | Promise<Stop | undefined>;
