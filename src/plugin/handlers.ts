/**
 * chainsaw's CNI verb handlers. ADD hands the attachment to the daemon, which runs the pod's commands (it
 * already has the pod, the policy and a warm executor); when the daemon is not there, or declines, the plugin
 * runs the very same pipeline itself ({@link addAttachment}). Either way the previous result is passed on
 * untouched. CHECK asks the daemon whether what chainsaw set in the attachment still holds (the daemon observes
 * the netns; the plugin takes no snapshot) and fails with code 103 when it does not. DEL, CHECK, STATUS and GC
 * never touch the pod and work with the daemon down.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { decodePrevResult, type PrevResult } from "../cni/config.ts";
import { chainConfKeys, type ChainsawConf, decodeChainsawConf } from "../wire/chain_conf.ts";
import { parseCniArgs, podRefFrom } from "../cni/env.ts";
import { rawMember } from "../cni/raw_json.ts";
import type { CmdArgs, VerbHandlers } from "../cni/skel.ts";
import { traceContextFromEnv } from "../cni/trace_context.ts";
import type { AddOutcome } from "../exec/add.ts";
import type { ApplyInput } from "../exec/apply.ts";
import { DEFAULT_DAEMON_SOCKET, NODE_POLICY_DIR } from "../host_paths.ts";
import type { Report } from "../report/report.ts";
import type { AddRequest } from "../wire/add.ts";
import type { AttachmentForget, AttachmentRegistration } from "../wire/attachment.ts";
import {
  type AddExchange,
  type CheckExchange,
  daemonHealthy,
  forgetAttachment,
  forwardGc,
  registerAttachment,
  requestAdd,
  requestCheck,
} from "../wire/client.ts";
import type { CheckRequest } from "../wire/check.ts";
import { ADD_ANSWER_WAIT_MS } from "../wire/routes.ts";
import { ApiAccess, daemonAnnotations, findCredentials, runtimeAnnotations } from "./pod_source.ts";
import { deliverReport } from "./report_sink.ts";

/** The environment variable naming the node policy directory (the runtime's environment; tests use it). */
export const POLICY_DIR_ENV = "CHAINSAW_POLICY_DIR";

/** Process edges the handlers need (replaceable in tests). */
export interface PluginDeps {
  getenv(name: string): string | undefined;
  now(): Date;
  /** Hands an ADD to the daemon ({@link requestAdd}). */
  requestAdd(socket: string, request: AddRequest, timeoutMs: number): Promise<AddExchange>;
  /** Delivers the report of an ADD run here: stderr, and the daemon when it is up. */
  deliver(report: Report, socket: string, daemonUp: boolean): Promise<void>;
  /** Registers an attachment whose ADD ran here (best effort). */
  register(socket: string, registration: AttachmentRegistration): Promise<boolean>;
  /** Tells the daemon to forget a container's attachments (best effort). */
  forget(socket: string, forget: AttachmentForget): Promise<boolean>;
  /** Asks the daemon whether chainsaw's effect in an attachment holds ({@link requestCheck}). */
  check(socket: string, request: CheckRequest): Promise<CheckExchange>;
  /** Runs one command of an ADD run here (default: the runner, loaded on first use). */
  run?: ApplyInput["run"];
}

/** The real edges. */
export const defaultDeps: PluginDeps = {
  getenv: (n) => Deno.env.get(n),
  now: () => new Date(),
  requestAdd,
  deliver: deliverReport,
  register: registerAttachment,
  forget: forgetAttachment,
  check: requestCheck,
};

/** The previous result's text with the request's cniVersion, byte-exact when the versions already agree. */
export function passThrough(stdin: string, prev: PrevResult, cniVersion: string): string {
  if (prev.cniVersion === cniVersion) return rawMember(stdin, "prevResult")!;
  const { cniVersion: _old, ...rest } = prev;
  return JSON.stringify({ cniVersion, ...rest });
}

async function requirePrevResult(args: CmdArgs, verb: string): Promise<PrevResult> {
  const prev = await decodePrevResult(args.conf.raw);
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `chainsaw must follow an interface plugin in a chain: ${verb} got no prevResult ` +
        `(put {"type": "chainsaw"} after e.g. bridge or macvlan in the "plugins" list)`,
    );
  }
  return prev;
}

/** Names of the pod-side interfaces in the previous result (those with a sandbox), plus the attachment's. */
export function podInterfaces(prev: PrevResult, ifname: string): string[] {
  const names = new Set((prev.interfaces ?? []).filter((i) => i.sandbox).map((i) => i.name));
  names.add(ifname);
  return [...names];
}

async function add(args: CmdArgs, deps: PluginDeps): Promise<string> {
  const { env, conf: net } = args;
  const prev = await requirePrevResult(args, "ADD");
  const out = passThrough(args.stdin, prev, net.cniVersion);
  const conf = await decodeChainsawConf(net.raw);
  const pod = podRefFrom(parseCniArgs(env.args), net.raw.args);
  if (!pod) return out; // not a Kubernetes pod: nothing to look up, nothing to report
  const socket = conf.daemonSocket || DEFAULT_DAEMON_SOCKET;
  const request: AddRequest = {
    env: { containerId: env.containerId, netns: env.netns, ifname: env.ifname, args: env.args },
    network: net.name,
    cniVersion: net.cniVersion,
    conf: chainConfKeys(net.raw),
    pod,
    podInterfaces: podInterfaces(prev, env.ifname),
  };
  const fromRuntime = await runtimeAnnotations(net.raw);
  if (fromRuntime !== undefined) request.runtimeAnnotations = fromRuntime;
  const trace = traceContextFromEnv(deps.getenv);
  if (trace) request.trace = { traceparent: trace.traceparent, tracestate: trace.tracestate };

  // A node policy directory from the runtime's environment is the plugin's own setting: such ADDs run here.
  const policyDir = deps.getenv(POLICY_DIR_ENV);
  // The contract's wait (ADD_ANSWER_WAIT_MS): the daemon cuts the list's own bound to fit inside it.
  const handed: AddExchange = policyDir
    ? { state: "declined", reason: `${POLICY_DIR_ENV} is set`, daemonUp: true }
    : await deps.requestAdd(socket, request, ADD_ANSWER_WAIT_MS);
  if (handed.state === "ran") {
    const e = handed.answer.error;
    if (e) throw new CniError(e.code, e.msg, e.details ?? "");
    return out;
  }
  if (handed.state === "lost") {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `the chainsaw daemon on ${socket} took the ADD of pod ${pod.namespace}/${pod.name} but ${handed.reason}; ` +
        "it was not run again here (it may have run)",
    );
  }
  const outcome = await addHere(
    request,
    trace?.traceId,
    conf,
    policyDir || NODE_POLICY_DIR,
    socket,
    handed.daemonUp,
    deps,
  );
  await deps.deliver(outcome.report, socket, handed.daemonUp);
  if (handed.daemonUp) await deps.register(socket, outcome.registration);
  if (outcome.fatal && outcome.error) throw outcome.error;
  return out;
}

/** The ADD pipeline in this process, with the plugin's edges: the runtime's annotations, else daemon/API. */
async function addHere(
  request: AddRequest,
  traceId: string | undefined,
  conf: ChainsawConf,
  policyDir: string,
  socket: string,
  daemonUp: boolean,
  deps: PluginDeps,
): Promise<AddOutcome> {
  // The policy engine and the runner load only when the pod has commands (the executor asks for them).
  const { addAttachment } = await import("../exec/add.ts");
  const api = new ApiAccess(() => findCredentials(conf.kubeconfig, deps.getenv), conf.apiTimeoutMs);
  try {
    return await addAttachment(
      {
        containerId: request.env.containerId,
        netns: request.env.netns,
        ifname: request.env.ifname,
        network: request.network,
        pod: request.pod,
        podInterfaces: request.podInterfaces,
        chainPolicy: conf.policy,
        onError: conf.onError,
        mode: conf.mode,
        drift: conf.drift,
        ipPath: conf.ipPath,
        nsenterPath: conf.nsenterPath,
      },
      request.runtimeAnnotations,
      {
        node: deps.getenv("NODE_NAME") || undefined,
        traceId,
        now: deps.now,
        loadPolicy: async (doc) => (await import("../policy/load.ts")).loadPolicy(doc, policyDir),
        namespaceLabels: (ns) => api.namespaceLabels(ns),
        run: deps.run ?? (async (...a) => (await import("../exec/runner.ts")).runInNetns(...a)),
        lookUp: async (p) =>
          (daemonUp ? await daemonAnnotations(socket, p) : undefined) ?? api.podAnnotations(p),
      },
    );
  } finally {
    await api.close();
  }
}

/**
 * The daemon socket for verbs that must not fail on a broken chainsaw config (DEL, GC): the configured one when
 * it is a non-empty string, else the default. ADD validates the key instead ({@link decodeChainsawConf}).
 */
function daemonSocketOf(raw: Record<string, unknown>): string {
  return typeof raw.daemonSocket === "string" && raw.daemonSocket !== ""
    ? raw.daemonSocket
    : DEFAULT_DAEMON_SOCKET;
}

/**
 * CHECK: the spec says it must fail when something the plugin created is missing. What chainsaw created is the
 * attachment's effect, which the daemon keeps and observes: `drifted` fails with code 103 naming the first
 * difference (all of them in `details`); `holds`, `unowned` (chainsaw owns nothing there), `unknown` (the daemon
 * could not observe) and no answer at all (the daemon is down or slow) pass — the plugin does not guess.
 */
async function check(args: CmdArgs, deps: PluginDeps): Promise<string> {
  await requirePrevResult(args, "CHECK");
  const { env, conf: net } = args;
  const x = await deps.check(daemonSocketOf(net.raw), {
    containerId: env.containerId,
    ifname: env.ifname,
    network: net.name,
  });
  if (x.state !== "answered" || x.answer.verdict !== "drifted") return "";
  const { differences, total, owned } = x.answer;
  let pod;
  try {
    pod = podRefFrom(parseCniArgs(env.args), net.raw.args);
  } catch {
    pod = undefined; // malformed CNI_ARGS: the message names the interface only
  }
  const where = `${env.ifname}${pod ? ` of pod ${pod.namespace}/${pod.name}` : ""}`;
  const n = total ?? differences.length;
  const more = n > 1 ? ` (and ${n - 1} more of ${owned} object${owned === 1 ? "" : "s"} chainsaw owns)` : "";
  throw new CniError(
    ErrorCode.EffectNotHolding,
    `what chainsaw set on ${where} no longer holds: ${differences[0] ?? "a difference"}${more}`,
    differences.join("\n"),
  );
}

async function del(args: CmdArgs, deps: PluginDeps): Promise<string> {
  // DEL must succeed whatever state things are in: no prevResult, netns gone, config broken, daemon down.
  const { env, conf: net } = args;
  const forget: AttachmentForget = { containerId: env.containerId };
  if (env.ifname) forget.ifname = env.ifname;
  await deps.forget(daemonSocketOf(net.raw), forget);
  return "";
}

async function status(args: CmdArgs): Promise<string> {
  const socket = args.conf.raw.daemonSocket;
  if (typeof socket === "string" && socket !== "" && !(await daemonHealthy(socket, 1000))) {
    throw new CniError(ErrorCode.PluginNotAvailable, `chainsaw daemon is not answering on ${socket}`);
  }
  return "";
}

async function gc(args: CmdArgs): Promise<string> {
  // chainsaw's only per-attachment state is the daemon's attachment store: hand it the valid list (./gc.ts).
  const { GC_TIMEOUT_MS, validAttachments } = await import("./gc.ts");
  const valid = validAttachments(args.conf.raw);
  await forwardGc(daemonSocketOf(args.conf.raw), { network: args.conf.name, valid }, GC_TIMEOUT_MS);
  return "";
}

/** Builds the verb handlers over `deps`. */
export function chainsawHandlers(deps: PluginDeps = defaultDeps): VerbHandlers {
  return {
    add: (a) => add(a, deps),
    check: (a) => check(a, deps),
    del: (a) => del(a, deps),
    status: (a) => status(a),
    gc: (a) => gc(a),
  };
}
