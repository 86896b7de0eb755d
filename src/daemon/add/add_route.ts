/**
 * ADD run by the daemon (`POST /v1/add`, the Multus "thick" idea in one binary): the plugin hands over what its
 * ADD knows, the daemon checks it exactly as the plugin checks its own input (the same functions: CNI env,
 * netns refusal, chain config), finds the pod in its cache (or asks the API server), runs the one ADD pipeline
 * ({@link addAttachment}), registers the attachment, reports (stdout, logs, metrics, Events) and answers.
 *
 * | answer | meaning |
 * |---|---|
 * | 200 `{"ran": true}` | done, the ADD succeeds |
 * | 200 `{"ran": true, "error": {code, msg, details?}}` | done, the ADD fails with this CNI error |
 * | 200 `{"ran": false, "reason": "…"}` | declined before doing anything: the plugin runs it itself |
 * | 400 / 413 | malformed / too large: nothing ran |
 *
 * Declined: a `/proc/PID/ns/net` netns (the DaemonSet does not share the host's PID namespace, so the path would
 * name one of its own processes), a netns not pinned under the mounted `/var/run/netns` ({@link PINNED_NETNS_DIRS};
 * e.g. containerd's `netns_mounts_under_state_dir`), and a daemon that is shutting down.
 * @module
 */
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { decodeChainsawConfStrict as decodeChainsawConf } from "../../wire/chain_conf_schema.ts";
import { parseCniArgs, readCniEnv } from "../../cni/env.ts";
import { parseTraceContext } from "../../cni/trace_context.ts";
import { isProcNetns } from "../../exec/netns_state.ts";
import { addAttachment, type AddDeps } from "../../exec/add.ts";
import type { AttachmentTarget } from "../../exec/executor.ts";
import type { Report } from "../../report/report.ts";
import { type AddAnswer, type AddRequest, AddRequestSchema } from "../../wire/add.ts";
import type { AttachmentRegistration } from "../../wire/attachment.ts";
import { ADD_ANSWER_WAIT_MS, ROUTES } from "../../wire/routes.ts";
import { PINNED_NETNS_DIRS } from "../../host_paths.ts";
import type { Policy } from "../../policy/rules.ts";
import { postedJson, type SocketRouteHandler } from "../api/socket_api.ts";

/** Largest request body. */
export const MAX_ADD_BODY_BYTES = 1 << 20;

/**
 * What the daemon keeps of the plugin's wait ({@link ADD_ANSWER_WAIT_MS}) for the work around the list: the
 * rollback snapshot (≤ 2 s) before it, the restore (≤ 5 s) after it, registering, reporting and answering.
 */
export const ADD_ANSWER_RESERVE_MS = 10_000;

/**
 * `policy` with the list's deadline cut to `leftMs` (at least 1 ms: a list with no time left starts nothing
 * and fails naming the deadline), so that the daemon answers before the plugin stops waiting and calls the
 * ADD lost (code 11) while the list still runs here.
 */
export function fitListDeadline(policy: Policy, leftMs: number): Policy {
  const listTimeoutMs = Math.max(1, Math.min(policy.limits.listTimeoutMs, Math.floor(leftMs)));
  if (listTimeoutMs === policy.limits.listTimeoutMs) return policy;
  return { ...policy, limits: { ...policy.limits, listTimeoutMs } };
}

/** What the route works with. */
export interface AddRouteDeps extends AddDeps {
  /** Records the attachment (the attachment store, for re-apply). */
  /**
   * Records the attachment; the promise (when one is returned) resolves once the state file has it. An ADD whose
   * registration carries an effect (declarative mode, something owned) is answered only then, so a daemon killed
   * right after the answer still knows what chainsaw owns in the pod.
   */
  register(registration: AttachmentRegistration): void | Promise<void>;
  /** Takes the report like a plugin's (stdout, ring, metrics, Events). */
  accept(report: Report): void;
  /** True while shutting down: new ADDs are declined (the plugin runs them). */
  draining(): boolean;
  /**
   * False when the daemon has no API access (no node name or credentials, or pod watch and Events both off): it
   * could neither look a pod up nor read namespace labels, so the plugin, with its own kubeconfig, runs the ADD.
   */
  apiAccess: boolean;
}

function json(status: number, body: AddAnswer | { error: string }): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/**
 * The checks the plugin applies to its own input, applied to a request: CNI env syntax and the netns refusal
 * (readCniEnv with the daemon's own processes), the chain config's keys. Throws the CniError the plugin would.
 */
export function checkAddRequest(req: AddRequest): AttachmentTarget {
  const vars: Record<string, string> = {
    CNI_COMMAND: "ADD",
    CNI_CONTAINERID: req.env.containerId,
    CNI_NETNS: req.env.netns,
    CNI_IFNAME: req.env.ifname,
    CNI_ARGS: req.env.args,
    CNI_PATH: "/",
  };
  const env = readCniEnv((n) => vars[n]);
  // The plugin takes the pod from CNI_ARGS (args.cni only fills keys CNI_ARGS lacks): a request naming another
  // pod than its own CNI_ARGS would run that pod's annotation in this netns.
  const args = parseCniArgs(env.args);
  for (
    const [key, field] of [
      ["K8S_POD_NAMESPACE", "namespace"],
      ["K8S_POD_NAME", "name"],
      ["K8S_POD_UID", "uid"],
    ] as const
  ) {
    const given = args.get(key);
    if (given && given !== req.pod[field]) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `the request's pod ${field} ${JSON.stringify(req.pod[field])} is not CNI_ARGS' ${key} ` +
          `${JSON.stringify(given)}: nothing run`,
      );
    }
  }
  const conf = decodeChainsawConf(req.conf as Record<string, unknown>);
  const podInterfaces = new Set(req.podInterfaces);
  podInterfaces.add(env.ifname);
  return {
    containerId: env.containerId,
    netns: env.netns,
    ifname: env.ifname,
    network: req.network,
    pod: req.pod,
    podInterfaces: [...podInterfaces],
    chainPolicy: conf.policy,
    onError: conf.onError,
    mode: conf.mode,
    drift: conf.drift,
    ipPath: conf.ipPath,
    nsenterPath: conf.nsenterPath,
  };
}

/**
 * Builds the `POST /v1/add` handler.
 *
 * @param deps the daemon's edges
 * @returns the route handler
 */
export function createAddRoute(deps: AddRouteDeps): SocketRouteHandler {
  return async (req, url) => {
    const started = performance.now();
    if (url.pathname !== ROUTES.add.path) {
      return new Response(`no such path ${url.pathname}\n`, { status: 404 });
    }
    const parsed = await postedJson(
      req,
      MAX_ADD_BODY_BYTES,
      AddRequestSchema,
      (status, error) => json(status, { error }),
    );
    if (!parsed.ok) return parsed.response;
    if (deps.draining()) return json(200, { ran: false, reason: "the daemon is shutting down" });
    if (!deps.apiAccess) {
      return json(200, {
        ran: false,
        reason: "the daemon has no Kubernetes API access (node name, credentials)",
      });
    }
    let target: AttachmentTarget;
    try {
      target = checkAddRequest(parsed.data);
    } catch (e) {
      if (!(e instanceof CniError)) throw e;
      return json(200, { ran: true, error: errorOf(e) });
    }
    if (isProcNetns(target.netns)) {
      return json(200, {
        ran: false,
        reason: `netns ${target.netns} is a /proc path, which the daemon cannot enter`,
      });
    }
    if (!PINNED_NETNS_DIRS.some((d) => target.netns.startsWith(`${d}/`))) {
      return json(200, {
        ran: false,
        reason: `netns ${target.netns} is not pinned under ${PINNED_NETNS_DIRS.join(" or ")}, ` +
          "the only namespaces the DaemonSet mounts",
      });
    }
    const traceId = parsed.data.trace
      ? parseTraceContext(parsed.data.trace.traceparent, undefined)?.traceId
      : undefined;
    // The list's deadline is cut to what is left of the plugin's wait once the pod was found and the policy read.
    const loadPolicy = async (doc: unknown) =>
      fitListDeadline(
        await deps.loadPolicy(doc),
        ADD_ANSWER_WAIT_MS - ADD_ANSWER_RESERVE_MS - (performance.now() - started),
      );
    const outcome = await addAttachment(
      target,
      parsed.data.runtimeAnnotations,
      traceId ? { ...deps, loadPolicy, traceId } : { ...deps, loadPolicy },
    );
    const saved = deps.register(outcome.registration);
    deps.accept(outcome.report);
    if ((outcome.registration.effect?.items.length ?? 0) > 0) await saved;
    return json(
      200,
      outcome.fatal && outcome.error ? { ran: true, error: errorOf(outcome.error) } : { ran: true },
    );
  };
}

function errorOf(e: CniError): { code: number; msg: string; details?: string } {
  const out: { code: number; msg: string; details?: string } = { code: e.code, msg: e.message };
  if (e.details) out.details = e.details;
  return out;
}
