/**
 * Attachment registration and forgetting on the daemon socket, for the plugin's own ADDs (run in the plugin
 * when the daemon declined them) and its DELs:
 *
 * | request | answer |
 * |---|---|
 * | `POST /v1/attachments` AttachmentRegistration | 204 |
 * | `POST /v1/attachments/forget` `{containerId, ifname?}` | 200 `{"removed": N}` |
 * | malformed body | 400 · over {@link MAX_ATTACHMENT_BODY_BYTES}: 413 |
 * @module
 */
import {
  type AttachmentForget,
  AttachmentForgetSchema,
  type AttachmentRegistration,
  AttachmentRegistrationSchema,
} from "../../wire/attachment.ts";
import { ROUTES } from "../../wire/routes.ts";
import { postedJson, type SocketRouteHandler } from "../api/socket_api.ts";

/** Largest request body. */
export const MAX_ATTACHMENT_BODY_BYTES = 256 * 1024;

/** What the route works with. */
export interface AttachmentRouteDeps {
  /** Records the attachment; the promise (when one is returned) resolves once the state file has it. */
  register(registration: AttachmentRegistration): void | Promise<void>;
  /** Forgets and returns how many attachments went. */
  forget(forget: AttachmentForget): number;
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/**
 * Builds the handler of both paths.
 *
 * @param deps the attachment store's operations
 * @returns the route handler (serve it under `/v1/attachments`)
 */
export function createAttachmentRoute(deps: AttachmentRouteDeps): SocketRouteHandler {
  return async (req, url) => {
    const forget = url.pathname === ROUTES.forget.path;
    if (!forget && url.pathname !== ROUTES.register.path) return text(404, `no such path ${url.pathname}`);
    if (forget) {
      const body = await postedJson(req, MAX_ATTACHMENT_BODY_BYTES, AttachmentForgetSchema);
      if (!body.ok) return body.response;
      return Response.json({ removed: deps.forget(body.data) });
    }
    const body = await postedJson(req, MAX_ATTACHMENT_BODY_BYTES, AttachmentRegistrationSchema);
    if (!body.ok) return body.response;
    const saved = deps.register(body.data);
    // What chainsaw owns (declarative mode) is on disk before the plugin's ADD answers the runtime.
    if ((body.data.effect?.items.length ?? 0) > 0) await saved;
    return new Response(null, { status: 204 });
  };
}
