/**
 * CNI GC on the daemon socket: the plugin forwards the runtime's `cni.dev/valid-attachments` for one network,
 * and the daemon forgets every attachment of that network not in the list (the only per-attachment state
 * chainsaw keeps).
 *
 * | request | answer |
 * |---|---|
 * | `POST /v1/gc` `{"network": "...", "valid": [{"containerId": "...", "ifname": "..."}]}` | 200 `{"removed": N}` |
 * | malformed body | 400 |
 * @module
 */
import * as z from "zod/mini";
import type { SocketRouteHandler } from "../daemon/socket_api.ts";
import type { Attachment } from "./attachments.ts";
import { DAEMON_GC_PATH } from "../report/daemon_socket.ts";

/** The route's path. */
export const GC_ROUTE: string = DAEMON_GC_PATH;

/** The request body. */
export const GcRequest = z.object({
  network: z.string().check(z.minLength(1)),
  valid: z.array(z.object({ containerId: z.string(), ifname: z.string() })),
});

/** A validated request. */
export type GcRequest = z.infer<typeof GcRequest>;

/** The attachments of `req.network` that are not in `req.valid` (pure). */
export function staleAttachments(all: readonly Attachment[], req: GcRequest): Attachment[] {
  const valid = new Set(req.valid.map((v) => `${v.containerId}\u0000${v.ifname}`));
  return all.filter((a) => a.network === req.network && !valid.has(`${a.containerId}\u0000${a.ifname}`));
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
    if (url.pathname !== GC_ROUTE || req.method !== "POST") {
      return new Response("want POST /v1/gc\n", { status: 405 });
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return new Response("body is not JSON\n", { status: 400 });
    }
    const r = GcRequest.safeParse(body);
    if (!r.success) {
      const i = r.error.issues[0];
      return new Response(`${i.path.map(String).join(".") || "body"}: ${i.message}\n`, { status: 400 });
    }
    const stale = staleAttachments(deps.all(), r.data);
    if (stale.length > 0) {
      await deps.remove(stale);
      deps.log(
        `GC of network ${r.data.network}: forgot ${stale.length} attachment(s) the runtime no longer has ` +
          `(${stale.map((a) => `${a.containerId}/${a.ifname}`).join(", ")})`,
      );
    }
    return Response.json({ removed: stale.length });
  };
}
