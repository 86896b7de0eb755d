/**
 * CNI CHECK on the daemon socket: the plugin's CHECK asks whether chainsaw's effect in one attachment still holds,
 * and the daemon — which keeps the effect — observes the attachment's netns (the plugin takes no snapshot) and
 * answers with a verdict ({@link CheckAnswer}, src/wire/check.ts). It changes nothing.
 *
 * | request | answer |
 * |---|---|
 * | `POST /v1/check` `{"containerId", "ifname", "network"}` | 200 {@link CheckAnswer} |
 * | malformed body | 400 |
 * | body over {@link MAX_CHECK_BODY_BYTES} | 413 |
 *
 * - `unowned`: no attachment with that container, interface and network, imperative mode, or no effect;
 * - `unknown`: its pod's sync (re-apply) is running or ran while the netns was read, the chain key `drift` is
 *   `"off"` (no checks at all), or the netns could not be observed;
 * - else `holds` or `drifted` with the differences, first first.
 * @module
 */
import { postedJson, type SocketRouteHandler } from "../api/socket_api.ts";
import { effectDifferencesUnraced } from "./differences.ts";
import type { NetnsSnapshot, NetObject } from "../../declarative/objects.ts";
import { type CheckAnswer, checkAnswerOf } from "../../wire/check.ts";
import { CheckRequestSchema } from "../../wire/check_schema.ts";
import { ROUTES } from "../../wire/routes.ts";
import { errorText } from "../../text/error_text.ts";
import type { Effect } from "../../wire/effect.ts";

/** The route's path. */
export const CHECK_ROUTE: string = ROUTES.check.path;

/** Largest request body. */
export const MAX_CHECK_BODY_BYTES = 16 * 1024;

/** What the route reads of a stored attachment. */
export interface CheckAttachment {
  network: string;
  applied?: string;
  mode?: string;
  drift?: string;
  effect?: Effect;
}

/** What the route works on. */
export interface CheckRouteDeps<A extends CheckAttachment = CheckAttachment> {
  /** The stored attachment with this container and interface (a copy), if any. */
  find(containerId: string, ifname: string): A | undefined;
  /** Observes its netns, covering its effect; throws when it cannot. */
  observe(a: A): Promise<NetnsSnapshot | Map<string, NetObject>>;
  /** True while its pod has a sync (re-apply) waiting or running. */
  busy(a: A): boolean;
}

const unknown = (owned: number, why: string): CheckAnswer => ({
  verdict: "unknown",
  owned,
  differences: [why],
});

/**
 * The verdict for one attachment (the route's body, without HTTP).
 *
 * @param deps the store, the observation and the re-apply queue
 * @param req the validated request
 * @returns the answer
 */
export async function checkAttachment<A extends CheckAttachment>(
  deps: CheckRouteDeps<A>,
  req: { containerId: string; ifname: string; network: string },
): Promise<CheckAnswer> {
  const a = deps.find(req.containerId, req.ifname);
  const items = a?.effect?.items ?? [];
  if (!a || a.network !== req.network || a.mode !== "declarative" || items.length === 0) {
    return { verdict: "unowned", owned: 0, differences: [] };
  }
  if (a.drift === "off") return unknown(items.length, 'drift checks are off here (chain key "drift": "off")');
  const outcome = await effectDifferencesUnraced(a, {
    find: () => deps.find(req.containerId, req.ifname),
    busy: deps.busy,
    observe: deps.observe,
  });
  if (outcome.kind === "raced") return unknown(items.length, "a re-apply of the pod is running; not checked");
  if (outcome.kind === "error") return unknown(items.length, errorText(outcome.error));
  return checkAnswerOf(items.length, outcome.differences.map((d) => d.text));
}

/**
 * Builds the `POST /v1/check` handler.
 *
 * @param deps the store, the observation and the re-apply queue
 * @returns the handler
 */
export function createCheckRoute<A extends CheckAttachment>(deps: CheckRouteDeps<A>): SocketRouteHandler {
  return async (req, url) => {
    if (url.pathname !== CHECK_ROUTE) return new Response(`no such path ${url.pathname}\n`, { status: 404 });
    const body = await postedJson(req, MAX_CHECK_BODY_BYTES, CheckRequestSchema);
    if (!body.ok) return body.response;
    return Response.json(await checkAttachment(deps, body.data));
  };
}
