/**
 * CNI GC on the daemon socket: the plugin forwards the runtime's `cni.dev/valid-attachments` for one network,
 * and the daemon forgets every attachment of that network not in the list (the only per-attachment state
 * chainsaw keeps).
 *
 * | request | answer |
 * |---|---|
 * | `POST /v1/gc` `{"network": "...", "valid": [{"containerId": "...", "ifname": "..."}]}` | 200 `{"removed": N}` |
 * | malformed body | 400 |
 * | body over {@link MAX_GC_BODY_BYTES} | 413 |
 *
 * Each GC is logged in one line with its count (runtimes send GC rarely: at start-up, or every few hours).
 * @module
 */
import { postedJson, type SocketRouteHandler } from "../api/socket_api.ts";
import { type Attachment, attachmentKey } from "./attachment_store.ts";
import { GcRequestSchema, MAX_GC_BODY_BYTES } from "../../wire/gc.ts";
import { ROUTES } from "../../wire/routes.ts";

/** The route's path. */
export const GC_ROUTE: string = ROUTES.gc.path;

export { MAX_GC_BODY_BYTES };

/** A validated request. */
export type GcRequest = import("../../wire/gc.ts").GcRequest;

/** The attachments of `req.network` that are not in `req.valid` (pure). */
export function staleAttachments(all: readonly Attachment[], req: GcRequest): Attachment[] {
  const valid = new Set(req.valid.map((v) => attachmentKey(v.containerId, v.ifname)));
  return all.filter((a) => a.network === req.network && !valid.has(attachmentKey(a.containerId, a.ifname)));
}

/** At most this many forgotten attachments are named in the log line. */
export const LOGGED_NAMES = 10;

/** The one log line of a GC: the network, how many valid, how many forgotten and (the first few) which. */
export function gcLogLine(req: GcRequest, stale: readonly Attachment[]): string {
  const names = stale.slice(0, LOGGED_NAMES).map((a) => `${a.containerId}/${a.ifname}`);
  if (stale.length > LOGGED_NAMES) names.push(`${stale.length - LOGGED_NAMES} more`);
  const which = names.length > 0 ? ` (${names.join(", ")})` : "";
  return `GC of network ${req.network}: ${req.valid.length} valid attachment(s), forgot ${stale.length}${which}`;
}

/** What the route works on. */
export interface GcRouteDeps {
  all(): readonly Attachment[];
  /** Forgets these attachments and persists the store. */
  remove(stale: readonly Attachment[]): Promise<void>;
  log(msg: string): void;
}

/** Builds the `POST /v1/gc` handler. */
export function createGcRoute(deps: GcRouteDeps): SocketRouteHandler {
  return async (req, url) => {
    if (url.pathname !== GC_ROUTE) return new Response(`no such path ${url.pathname}\n`, { status: 404 });
    const body = await postedJson(req, MAX_GC_BODY_BYTES, GcRequestSchema);
    if (!body.ok) return body.response;
    const stale = staleAttachments(deps.all(), body.data);
    if (stale.length > 0) await deps.remove(stale);
    deps.log(gcLogLine(body.data, stale));
    return Response.json({ removed: stale.length });
  };
}
