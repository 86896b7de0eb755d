/**
 * The pod features of `chainsaw daemon` (see docs/reapply.md), as one daemon extension. It builds once what the
 * features share — the API client (`--node-name`, credentials from `--kubeconfig` or the service account), the
 * attachment store (`--state-file`; entries whose netns is gone are dropped on start), the pod cache fed by the
 * node's pod watch, the executor's deps and the live re-apply controller — into a {@link FeatureContext}, then
 * starts each feature folder with it ({@link FEATURES}):
 *
 * - `pods/`: the pod cache answers the plugin's `GET /v1/pods/{ns}/{name}` and holds `/readyz` at 503 until
 *   its first list;
 * - `events/`: every ADD and REAPPLY execution is recorded as an Event on the pod;
 * - `conditions/`: the pod condition `chainsaw.cni.cncf.io/applied` (`--pod-condition`);
 * - `attachments/`: registrations (`POST /v1/attachments`, from a plugin that ran an ADD), forgets (on DEL) and
 *   CNI GC (`POST /v1/gc`);
 * - `add/`: ADDs run by the daemon (`POST /v1/add`): the pod from the cache (else the API server), the one ADD
 *   pipeline, the attachment registered, the report accepted;
 * - `explain/`: `chainsaw explain` (`GET /v1/explain`): what it would do, running nothing;
 * - `effect/`: CNI CHECK (`POST /v1/check`): whether what chainsaw set in an attachment still holds, observed on
 *   request (and the observation and effect view drift checks and `explain` use);
 * - `drift/`: the drift checks (`--drift-check-seconds`): whether what chainsaw set in each attachment still
 *   holds, every so often (report, heal);
 * - `reapply/`: a change of a pod's chainsaw annotation is re-applied in each of its attachments' netns with the
 *   same policy (`--policy-dir` plus the chain's) and reported as a `REAPPLY` report, like an ADD.
 *
 * Without a node name or credentials only the attachment store runs (logged at start). At shutdown the watch
 * stops first, then the features in reverse order (re-applies finish first, so their Events and conditions are
 * still written), then the API client closes.
 * @module
 */
import type {
  DaemonContext,
  DaemonExtension,
  ExecDeps,
  Feature,
  FeatureContext,
  FeatureDeps,
  Stop,
} from "./context.ts";
import { runInNetns } from "../exec/runner.ts";
import { netnsState } from "../exec/netns_state.ts";
import { executeStep, warningStepReport } from "./reapply/reapply_step.ts";
import { restoreNetns } from "../exec/netns_snapshot.ts";
import { binariesOf } from "./effect/observe.ts";
import { KubeClient } from "../kube/client.ts";
import { daemonCredentials } from "../kube/api_credentials.ts";
import { loadPolicy } from "../policy/load.ts";
import { type Attachment, AttachmentStore } from "./attachments/attachment_store.ts";
import { createAttachmentMetrics } from "./attachments/attachment_metrics.ts";
import { PodCache } from "./pods/pod_cache.ts";
import { PodWatcher } from "./pods/pod_watch.ts";
import { createPodMetrics } from "./pods/pod_metrics.ts";
import { Reapplier } from "./reapply/reapplier.ts";
import type { Level } from "./reports/log_format.ts";
import { start as startPods } from "./pods/start.ts";
import { start as startEvents } from "./events/start.ts";
import { start as startConditions } from "./conditions/start.ts";
import { start as startAttachments } from "./attachments/start.ts";
import { start as startAdd } from "./add/start.ts";
import { start as startExplain } from "./explain/start.ts";
import { start as startEffect } from "./effect/start.ts";
import { start as startDrift } from "./drift/start.ts";
import { start as startReapply } from "./reapply/start.ts";

/** The features, started in this order and stopped in the reverse one. */
export const FEATURES: readonly Feature[] = [
  startPods,
  startEvents,
  startConditions,
  startAttachments,
  startAdd,
  startExplain,
  startEffect,
  startDrift,
  startReapply,
];

/** Bound on one API request (list pages, Events); the watch sets its own. */
const API_TIMEOUT_MS = 10_000;

/** The real edges. */
export const defaultFeatureDeps: FeatureDeps = {
  getenv: (n) => Deno.env.get(n),
  run: runInNetns,
  now: () => new Date(),
  netnsState: (p) => netnsState(p),
};

function watchLevel(msg: string): Level {
  return /failed|undecodable|unexpectedly|gone/.test(msg) ? "warn" : "info";
}

/** The API client for the pod features, or undefined (logged) when they cannot run. */
async function apiClient(ctx: DaemonContext, deps: FeatureDeps): Promise<KubeClient | undefined> {
  const o = ctx.options;
  if (!o.podWatch && !o.events) return undefined;
  const off = "the pod cache, live re-apply and Events are off";
  if (!o.nodeName) {
    ctx.log("warn", `no node name (--node-name or $NODE_NAME): ${off}`);
    return undefined;
  }
  const creds = await daemonCredentials(o.apiKubeconfig, deps.getenv, o.serviceAccountDir);
  if (!creds) {
    ctx.log("warn", `no API credentials (--kubeconfig, or the in-cluster service account): ${off}`);
    return undefined;
  }
  return new KubeClient(creds, API_TIMEOUT_MS);
}

/** Loads the state file and drops (in memory) the attachments whose netns is gone; returns those. */
async function loadStore(
  ctx: DaemonContext,
  deps: FeatureDeps,
): Promise<{ store: AttachmentStore; gone: Attachment[] }> {
  const store = await AttachmentStore.load(ctx.options.stateFile, { log: (m) => ctx.log("warn", m) });
  const gone = await store.pruneMissingNetns(async (p) => (await deps.netnsState(p)) !== "gone");
  for (const a of gone) {
    ctx.log(
      "info",
      `forgot attachment ${a.namespace}/${a.name} ${a.ifname} (container ${a.containerId}): its netns ${a.netns} no longer exists`,
    );
  }
  ctx.log("info", `attachments: ${store.size} kept in ${store.path}`);
  return { store, gone };
}

/**
 * The extension; pass it to `runDaemon` (it is among its default extensions).
 *
 * @param deps the process edges (tests replace the runner and the netns check)
 * @param features the features to start (default: all of them)
 * @returns the extension
 */
export function podFeatures(
  deps: FeatureDeps = defaultFeatureDeps,
  features: readonly Feature[] = FEATURES,
): DaemonExtension {
  return async (daemon) => {
    const o = daemon.options;
    const { store, gone } = await loadStore(daemon, deps);
    const loaded = store.all();
    const client = await apiClient(daemon, deps);
    const node = o.nodeName ?? "";

    const cache = new PodCache({ log: (m) => daemon.log("error", m) });
    let firstList = true;
    const watcher = client && o.podWatch
      ? new PodWatcher({
        client,
        nodeName: node,
        onList: (pods) => {
          cache.replace(pods);
          if (firstList) {
            firstList = false;
            reapplier.afterFirstList(loaded);
          }
        },
        onEvent: (type, pod) => cache.apply(type, pod),
        log: (m) => daemon.log(watchLevel(m), m),
      })
      : undefined;

    const podMetrics = createPodMetrics(
      daemon.metrics.registry,
      watcher && { counters: watcher.counters, synced: () => watcher.synced(), pods: () => cache.size },
    );
    const attachmentMetrics = createAttachmentMetrics(daemon.metrics.registry, () => store.size);
    const exec: ExecDeps = {
      node: o.nodeName,
      loadPolicy: (doc) => loadPolicy(doc, o.policyDir),
      namespaceLabels: client ? (ns) => client.getNamespaceLabels(ns) : undefined,
      run: deps.run,
      now: deps.now,
      netnsState: deps.netnsState,
    };
    const reapplier = new Reapplier({
      store,
      cache,
      execute: (step, pod, podAttachments, beforeChange) =>
        executeStep(step, pod, exec, podAttachments, beforeChange),
      recover: async (a) => {
        if (!a.pending) return [];
        const restored = await restoreNetns(a.pending.before, binariesOf(a));
        return restored.ok ? [] : restored.failures;
      },
      warn: (a, pod, value, warnings) => warningStepReport(a, pod, value, warnings, exec),
      accept: daemon.accept,
      netnsState: deps.netnsState,
      log: daemon.log,
      onPruned: attachmentMetrics.pruned,
      onSaved: attachmentMetrics.stateWrite,
      signal: daemon.state.drainSignal,
    });
    if (gone.length > 0) {
      attachmentMetrics.pruned("netns_gone", gone.length);
      await reapplier.save();
    }

    const ctx: FeatureContext = {
      ...daemon,
      deps,
      node: o.nodeName,
      client,
      store,
      pods: watcher ? { cache, watcher } : undefined,
      exec,
      reapplier,
      podMetrics,
      attachmentMetrics,
      handles: {},
    };
    const stops: Stop[] = [];
    for (const feature of features) {
      const stop = await feature(ctx);
      if (stop) stops.push(stop);
    }

    if (watcher) {
      watcher.start();
      daemon.log(
        "info",
        `watching the pods of node ${node}; live re-apply is on (policy dir ${o.policyDir})`,
      );
    } else if (client) {
      daemon.log(
        "info",
        "pod watch off (--no-pod-watch): no pod cache (ADDs GET their pod), no live re-apply",
      );
    }

    return async () => {
      await watcher?.stop();
      cache.close();
      for (const stop of stops.reverse()) await stop();
      client?.close();
    };
  };
}
