/**
 * The pod lookup on the daemon socket, answered from the node-local pod cache so that the plugin's ADD does not
 * GET the pod from the API server:
 *
 * | request | answer |
 * |---|---|
 * | `GET /v1/pods/{namespace}/{name}?uid=U&waitMs=N` | 200 `{"uid": "…", "annotations": {…}}` (chainsaw's and Multus's selection) |
 * | the pod is not cached (with that UID) within `waitMs` | 404 |
 * | the cache has not completed its first list | 503 |
 *
 * A fresh pod may not have reached the watch yet when its sandbox is set up, so the lookup waits up to `waitMs`
 * (capped at {@link MAX_WAIT_MS}) for the pod with UID `U`. Anything but 200 sends the plugin to the API server.
 * @module
 */
import type { CachedPod, PodCache } from "./pod_cache.ts";
import type { SocketRouteHandler } from "../api/socket_api.ts";
import { MAX_WAIT_MS, type PodAnswer } from "../../wire/pod_lookup.ts";
import { ROUTES } from "../../wire/routes.ts";

/** The route's path prefix. */
export const POD_ROUTE: string = ROUTES.pods.path;

export { MAX_WAIT_MS };

/** How one lookup ended, for `chainsaw_pod_lookups_total{result}`. */
export type LookupResult = "hit" | "miss" | "unsynced";

/** What the route works on. */
export interface PodRouteDeps {
  cache: Pick<PodCache, "get" | "waitFor">;
  /** True once the cache holds a complete list. */
  synced(): boolean;
  /** Counts one lookup. */
  count(result: LookupResult): void;
  /** Aborts waiting lookups (at shutdown). */
  signal?: AbortSignal;
}

/** A parsed lookup. */
export interface PodLookup {
  namespace: string;
  name: string;
  uid: string;
  waitMs: number;
}

/** Parses `/v1/pods/{namespace}/{name}?uid=&waitMs=`; a string says why it is malformed (400). */
export function parseLookup(url: URL): PodLookup | string {
  const rest = url.pathname.slice(POD_ROUTE.length + 1).split("/");
  if (!url.pathname.startsWith(`${POD_ROUTE}/`) || rest.length !== 2 || rest.some((s) => s === "")) {
    return `want ${POD_ROUTE}/NAMESPACE/NAME`;
  }
  let namespace: string;
  let name: string;
  try {
    [namespace, name] = rest.map(decodeURIComponent);
  } catch {
    return "malformed percent-encoding in the path";
  }
  const wait = url.searchParams.get("waitMs") ?? "0";
  if (!/^\d{1,9}$/.test(wait)) return "waitMs must be a whole number of milliseconds";
  return {
    namespace,
    name,
    uid: url.searchParams.get("uid") ?? "",
    waitMs: Math.min(Number(wait), MAX_WAIT_MS),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** The answer for a cached pod: its UID and the annotations the cache keeps (chainsaw's and Multus's selection). */
export function podAnswer(pod: CachedPod): PodAnswer {
  return { uid: pod.uid, annotations: { ...pod.annotations } };
}

/** Builds the route handler. */
export function createPodRoute(deps: PodRouteDeps): SocketRouteHandler {
  return async (req, url) => {
    if (req.method !== "GET") {
      return new Response("use GET\n", { status: 405, headers: { Allow: "GET" } });
    }
    const q = parseLookup(url);
    if (typeof q === "string") return text(400, q);
    if (!deps.synced()) {
      deps.count("unsynced");
      return text(503, "pod cache not synced yet");
    }
    const cached = deps.cache.get(q.namespace, q.name);
    let pod = cached && (!q.uid || cached.uid === q.uid) ? cached : undefined;
    if (!pod && q.waitMs > 0) {
      pod = await deps.cache.waitFor(q.namespace, q.name, q.uid || undefined, q.waitMs, deps.signal);
    }
    deps.count(pod ? "hit" : "miss");
    return pod ? json(200, podAnswer(pod)) : text(404, `pod ${q.namespace}/${q.name} is not in the cache`);
  };
}
