/**
 * The daemon extension that wires ADD, the node-local pod cache, live re-apply and Kubernetes Events into
 * `chainsaw daemon` (see docs/reapply.md):
 *
 * - **ADD run by the daemon** (`POST /v1/add`, src/daemon/add/): the pod from the cache (else the API
 *   server), the one ADD pipeline, the attachment registered, the report accepted;
 * - the **attachment store** (`--state-file`) follows registrations (the daemon's own ADDs, and
 *   `POST /v1/attachments` from a plugin that ran one), forgets (`POST /v1/attachments/forget`, sent on DEL)
 *   and CNI GC (`POST /v1/gc`); on start, entries whose netns is gone are dropped;
 * - the **pod watch** (`--node-name`, API credentials from `--kubeconfig` or the service account) feeds the
 *   **pod cache**, which the daemon's ADDs use, which answers the plugin's `GET /v1/pods/{ns}/{name}` on the
 *   socket and which holds `/readyz` at 503 until its first list;
 * - a change of a pod's chainsaw annotation is **re-applied** in each of its attachments' netns with the same
 *   policy (`--policy-dir` plus the chain's) and reported as a `REAPPLY` report, like an ADD;
 * - every ADD and REAPPLY execution is recorded as an **Event** on the pod;
 * - sets the **pod condition** `chainsaw.cni.cncf.io/applied` (`--pod-condition`, src/daemon/conditions/);
 * - and answers `chainsaw explain` (`GET /v1/explain`, src/daemon/explain/): what it would do, running nothing.
 *
 * Without a node name or credentials only the attachment store runs (logged at start).
 * @module
 */
import { createGcRoute, GC_ROUTE } from "./attachments/gc_route.ts";
import { createAddRoute } from "./add/add_route.ts";
import { createExplainRoute, EXPLAIN_ROUTE } from "./explain/explain_route.ts";
import { createAttachmentRoute } from "./attachments/attachment_route.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { FoundPod } from "../exec/add.ts";
import { apiLookupError } from "../exec/lookup_error.ts";
import { KubeApiError } from "../kube/client.ts";
import { DAEMON_WAIT_MS } from "../wire/pod_lookup.ts";
import type { PodRef } from "../wire/pod_ref.ts";
import { ROUTES } from "../wire/routes.ts";
import { runInNetns } from "../exec/runner.ts";
import type { ApplyInput } from "../exec/apply.ts";
import type { DaemonContext, DaemonExtension } from "./daemon.ts";
import type { Level } from "./reports/log_format.ts";
import { KubeClient } from "../kube/client.ts";
import { EventRecorder } from "./events/event_recorder.ts";
import { PodCache } from "./pods/pod_cache.ts";
import { PodWatcher } from "./pods/pod_watch.ts";
import { loadPolicy } from "../policy/load.ts";
import { daemonCredentials } from "../kube/api_credentials.ts";
import { type Attachment, AttachmentStore } from "./attachments/attachment_store.ts";
import { type NetnsState, netnsState } from "../exec/netns_state.ts";
import { createPodRoute, type LookupResult, POD_ROUTE } from "./pods/pod_route.ts";
import { Reapplier } from "./reapply/reapplier.ts";
import { executeStep } from "./reapply/reapply_step.ts";
import { createReapplyMetrics } from "./pods/pod_metrics.ts";
import { reportEventListener } from "./events/report_events.ts";
import { startPodConditions } from "./conditions/start.ts";

/** Bound on one API request (list pages, Events); the watch sets its own. */
const API_TIMEOUT_MS = 10_000;
/** At shutdown: how long running re-applies and Event posts may take to finish. */
const STOP_REAPPLY_MS = 5000;
const STOP_EVENTS_MS = 2000;

/** The process edges the extension uses (replaceable in tests). */
export interface ReapplyExtensionDeps {
  getenv(name: string): string | undefined;
  run: ApplyInput["run"];
  now(): Date;
  netnsState(path: string): Promise<NetnsState>;
}

/** The real edges. */
export const defaultReapplyDeps: ReapplyExtensionDeps = {
  getenv: (n) => Deno.env.get(n),
  run: runInNetns,
  now: () => new Date(),
  netnsState: (p) => netnsState(p),
};

function watchLevel(msg: string): Level {
  return /failed|undecodable|unexpectedly|gone/.test(msg) ? "warn" : "info";
}

async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}

/** The API client for the pod features, or undefined (logged) when they cannot run. */
async function apiClient(ctx: DaemonContext, deps: ReapplyExtensionDeps): Promise<KubeClient | undefined> {
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
  deps: ReapplyExtensionDeps,
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
 * Finds a pod for an ADD the daemon runs: its cache first (waiting a little for a pod racing the watch, like the
 * pod route), then the API server with the daemon's own credentials. Errors map like the plugin's (11 / 102).
 */
async function lookUpPod(
  pod: PodRef,
  cache: { cache: PodCache; synced(): boolean; count(result: LookupResult): void } | undefined,
  client: KubeClient | undefined,
  signal: AbortSignal,
): Promise<FoundPod> {
  // Like the pod route: an unsynced cache is not asked; every lookup counts in chainsaw_pod_lookups_total.
  if (cache && !cache.synced()) {
    cache.count("unsynced");
  } else if (cache) {
    const { namespace, name } = pod;
    const cached = await cache.cache.waitFor(namespace, name, pod.uid || undefined, DAEMON_WAIT_MS, signal);
    cache.count(cached ? "hit" : "miss");
    if (cached) return { annotations: { ...cached.annotations }, uid: cached.uid, source: "daemon" };
  }
  if (!client) {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `cannot look up pod ${pod.namespace}/${pod.name}: the daemon has no API access`,
    );
  }
  try {
    const obj = await client.getPod(pod.namespace, pod.name, signal);
    return { annotations: obj.metadata.annotations ?? {}, uid: obj.metadata.uid ?? "", source: "api" };
  } catch (e) {
    if (e instanceof KubeApiError) throw apiLookupError(e, `pod ${pod.namespace}/${pod.name}`, "the daemon");
    throw e;
  }
}

/** The extension; pass it to `runDaemon`. */
export function reapplyExtension(deps: ReapplyExtensionDeps = defaultReapplyDeps): DaemonExtension {
  return async (ctx) => {
    const o = ctx.options;
    const log = ctx.log;
    const { store, gone } = await loadStore(ctx, deps);
    const loaded = store.all();
    const client = await apiClient(ctx, deps);
    const node = o.nodeName ?? "";

    const recorder = client && o.events
      ? new EventRecorder({ client, node, log: (m) => log("warn", m) })
      : undefined;
    const cache = new PodCache({ log: (m) => log("error", m) });
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
        log: (m) => log(watchLevel(m), m),
      })
      : undefined;

    const m = createReapplyMetrics(ctx.metrics.registry, {
      attachments: () => store.size,
      watch: watcher &&
        { counters: watcher.counters, synced: () => watcher.synced(), pods: () => cache.size },
      events: recorder?.counters,
    });
    const reapplier = new Reapplier({
      store,
      cache,
      execute: (step, pod) =>
        executeStep(step, pod, {
          node: o.nodeName,
          loadPolicy: (doc) => loadPolicy(doc, o.policyDir),
          namespaceLabels: client ? (ns) => client.getNamespaceLabels(ns) : undefined,
          run: deps.run,
          now: deps.now,
          netnsState: deps.netnsState,
        }),
      accept: ctx.accept,
      netnsState: deps.netnsState,
      log,
      onPruned: m.pruned,
      onSaved: m.stateWrite,
      signal: ctx.state.drainSignal,
    });

    if (gone.length > 0) {
      m.pruned("netns_gone", gone.length);
      await reapplier.save();
    }

    ctx.onReport((r) => {
      if (r.verb === "ADD" && r.pod) m.annotationSource(r.source ?? "none");
    });
    const conditions = startPodConditions({
      mode: o.podCondition,
      client,
      cache: watcher ? cache : undefined,
      registry: ctx.metrics.registry,
      log,
    });
    // Whatever removes an attachment (DEL, GC, netns or pod gone), its outcome leaves the pod condition's too.
    if (conditions) {
      store.onRemove((a) =>
        conditions.writer.forgetAttachment(
          { namespace: a.namespace, name: a.name, uid: a.podUid },
          a.containerId,
          a.ifname,
        )
      );
    }
    ctx.addSocketRoute(
      ROUTES.register.path,
      createAttachmentRoute({
        register: (reg) => reapplier.onRegister(reg),
        forget: (f) => reapplier.onForget(f),
      }),
    );
    ctx.addSocketRoute(
      ROUTES.add.path,
      createAddRoute({
        node: o.nodeName,
        now: deps.now,
        loadPolicy: (doc) => loadPolicy(doc, o.policyDir),
        namespaceLabels: client ? (ns) => client.getNamespaceLabels(ns) : undefined,
        run: deps.run,
        netnsState: deps.netnsState,
        lookUp: (pod) =>
          lookUpPod(
            pod,
            watcher ? { cache, synced: () => watcher.synced(), count: m.lookups } : undefined,
            client,
            ctx.state.drainSignal,
          ),
        register: (reg) => reapplier.onRegister(reg),
        accept: ctx.accept,
        draining: () => ctx.state.draining,
        apiAccess: client !== undefined,
      }),
    );
    if (recorder) ctx.onReport(reportEventListener(recorder));
    if (conditions) ctx.onReport(conditions.onReport);
    ctx.addSocketRoute(
      GC_ROUTE,
      createGcRoute({
        all: () => store.all(),
        remove: async (stale) => {
          for (const a of stale) store.remove(a.containerId, a.ifname);
          m.pruned("gc", stale.length);
          await reapplier.save();
        },
        log: (msg) => log("info", msg),
      }),
    );
    ctx.addSocketRoute(
      EXPLAIN_ROUTE,
      createExplainRoute({
        node: o.nodeName,
        attachments: (ns, name) => store.forPodName(ns, name),
        cache: watcher ? cache : undefined,
        synced: () => watcher?.synced() ?? false,
        loadPolicy: (doc) => loadPolicy(doc, o.policyDir),
        namespaceLabels: client ? (ns) => client.getNamespaceLabels(ns) : undefined,
        netnsState: deps.netnsState,
      }),
    );

    if (watcher) {
      cache.onAnnotationChange((pod, oldValue) => reapplier.onAnnotationChange(pod, oldValue));
      cache.onDelete((pod) => reapplier.onPodGone(pod));
      ctx.addSocketRoute(
        POD_ROUTE,
        createPodRoute({
          cache,
          synced: () => watcher.synced(),
          count: m.lookups,
          signal: ctx.state.drainSignal,
        }),
      );
      ctx.state.addCondition("pod list not synced", () => watcher.synced());
      watcher.start();
      log("info", `watching the pods of node ${node}; live re-apply is on (policy dir ${o.policyDir})`);
    } else if (client) {
      log("info", "pod watch off (--no-pod-watch): no pod cache (ADDs GET their pod), no live re-apply");
    }
    if (recorder) log("info", `recording Events on pods as ${node}`);

    return async () => {
      await watcher?.stop();
      cache.close();
      await reapplier.idle(STOP_REAPPLY_MS); // running re-applies finish and their state is written
      if (recorder) await within(recorder.flush(), STOP_EVENTS_MS);
      await conditions?.stop(STOP_EVENTS_MS);
      client?.close();
    };
  };
}
