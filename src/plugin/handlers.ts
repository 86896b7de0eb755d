/**
 * chainsaw's CNI verb handlers. ADD looks the pod up, checks the annotated commands against policy, runs them in
 * the pod's netns and passes the previous result on untouched; DEL, CHECK, STATUS and GC never touch the pod.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import {
  type ChainsawConf,
  decodeChainsawConf,
  decodePrevResult,
  DEFAULT_DAEMON_SOCKET,
  type PrevResult,
} from "../cni/config.ts";
import { parseCniArgs, type PodRef, podRefFrom } from "../cni/env.ts";
import { rawMember } from "../cni/raw_json.ts";
import type { CmdArgs, VerbHandlers } from "../cni/skel.ts";
import { ANNOTATION } from "../commands/annotation_key.ts";
import { netnsState } from "../commands/netns_state.ts";
import type { Policy } from "../policy/rules.ts";
import type { Report } from "../report/report.ts";
import { deliverReport, sendToDaemon } from "../report/sink.ts";
import { daemonRequest } from "../report/daemon_socket.ts";
import {
  ApiAccess,
  daemonAnnotations,
  findCredentials,
  type PodAnnotations,
  runtimeAnnotations,
} from "./pod_source.ts";

/** Process edges the handlers need (replaceable in tests). */
export interface PluginDeps {
  getenv(name: string): string | undefined;
  deliver(report: Report, socket: string): Promise<void>;
  now(): Date;
}

/** The real edges. */
export const defaultDeps: PluginDeps = {
  getenv: (n) => Deno.env.get(n),
  deliver: (report, socket) => deliverReport(report, socket, true),
  now: () => new Date(),
};

/** The previous result's text with the request's cniVersion, byte-exact when the versions already agree. */
export function passThrough(stdin: string, prev: PrevResult, cniVersion: string): string {
  if (prev.cniVersion === cniVersion) return rawMember(stdin, "prevResult")!;
  const { cniVersion: _old, ...rest } = prev;
  return JSON.stringify({ cniVersion, ...rest });
}

function requirePrevResult(args: CmdArgs, verb: string): PrevResult {
  const prev = decodePrevResult(args.conf.raw);
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

async function lookUp(
  pod: PodRef,
  args: CmdArgs,
  socket: string,
  api: ApiAccess,
): Promise<PodAnnotations> {
  const fromRuntime = runtimeAnnotations(args.conf.raw);
  if (fromRuntime) return { annotations: fromRuntime, source: "runtime" };
  const fromDaemon = await daemonAnnotations(socket, pod);
  if (fromDaemon) return fromDaemon;
  return await api.podAnnotations(pod);
}

/** The environment variable naming the node policy directory (the runtime's environment; tests use it). */
export const POLICY_DIR_ENV = "CHAINSAW_POLICY_DIR";

async function policyFor(conf: ChainsawConf, deps: PluginDeps): Promise<Policy> {
  const [{ loadPolicy, NODE_POLICY_DIR }, { PolicyError }] = await Promise.all([
    import("../policy/load.ts"),
    import("../policy/rules.ts"),
  ]);
  try {
    return await loadPolicy(conf.policy, deps.getenv(POLICY_DIR_ENV) || NODE_POLICY_DIR);
  } catch (e) {
    if (e instanceof PolicyError) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid policy: ${e.message}`);
    }
    throw e;
  }
}

async function binariesFor(conf: ChainsawConf): Promise<{ ipPath: string; nsenterPath: string }> {
  const { IP_CANDIDATES, NSENTER_CANDIDATES, resolveBinary } = await import("../commands/binaries.ts");
  try {
    return {
      ipPath: resolveBinary("ipPath", conf.ipPath, IP_CANDIDATES),
      nsenterPath: resolveBinary("nsenterPath", conf.nsenterPath, NSENTER_CANDIDATES),
    };
  } catch (e) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid chainsaw config key ${(e as Error).message}`);
  }
}

async function add(args: CmdArgs, deps: PluginDeps): Promise<string> {
  const started = performance.now();
  const { env, conf: net } = args;
  const prev = requirePrevResult(args, "ADD");
  const out = passThrough(args.stdin, prev, net.cniVersion);
  const conf = decodeChainsawConf(net.raw);
  const pod = podRefFrom(parseCniArgs(env.args), net.raw.args);
  const report: Report = {
    v: 1,
    time: deps.now().toISOString(),
    verb: "ADD",
    node: deps.getenv("NODE_NAME") || undefined,
    pod,
    containerId: env.containerId,
    netns: env.netns,
    ifname: env.ifname,
    network: net.name,
    source: "none",
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 0,
  };
  // What the daemon needs to re-apply later exactly as this ADD would: the chain's policy and error mode.
  if (conf.policy !== undefined) report.chainPolicy = conf.policy;
  report.onError = conf.onError;
  const socket = conf.daemonSocket || DEFAULT_DAEMON_SOCKET;
  const finish = async (err?: CniError): Promise<void> => {
    if (err) report.error = { code: err.code, msg: err.message };
    report.durationMs = Math.round((performance.now() - started) * 100) / 100;
    await deps.deliver(report, socket);
  };
  if (!pod) return out; // not a Kubernetes pod: nothing to look up, nothing to report
  const api = new ApiAccess(() => findCredentials(conf.kubeconfig, deps.getenv), conf.apiTimeoutMs);
  try {
    const found = await lookUp(pod, args, socket, api);
    report.source = found.source;
    const annotation = found.annotations[ANNOTATION];
    report.annotation = annotation;
    report.podInterfaces = podInterfaces(prev, env.ifname);
    if (annotation === undefined) {
      // The common case: nothing to run. The daemon still learns the attachment, so a later annotation on the
      // running pod can be applied live.
      await finish();
      return out;
    }
    const policy = await policyFor(conf, deps);
    const { AnnotationError, parseAnnotation } = await import("../commands/annotation.ts");
    let commands: string[];
    try {
      commands = parseAnnotation(annotation, net.name);
    } catch (e) {
      if (!(e instanceof AnnotationError)) throw e;
      report.verdict = "rejected";
      throw new CniError(ErrorCode.CommandRejected, `pod ${pod.namespace}/${pod.name}: ${e.message}`);
    }
    report.detected = commands;
    if (commands.length === 0) {
      await finish();
      return out;
    }
    // Certainly absent is code 3; a /proc/PID/ns/net path (which Deno may not stat) is left to nsenter.
    if ((await netnsState(env.netns)) === "gone") {
      throw new CniError(ErrorCode.UnknownContainer, `network namespace ${env.netns} does not exist`);
    }
    const [{ applyCommands }, { runInNetns }, binaries] = await Promise.all([
      import("../commands/apply.ts"),
      import("../commands/runner.ts"),
      binariesFor(conf),
    ]);
    const outcome = await applyCommands({
      commands,
      annotationBytes: new TextEncoder().encode(annotation).length,
      policy,
      ctx: {
        ifname: env.ifname,
        podInterfaces: report.podInterfaces,
        namespace: pod.namespace,
        // Only a policy scoped by namespace labels costs this extra GET.
        namespaceLabels: policy.namespaceLabels?.length
          ? await api.namespaceLabels(pod.namespace)
          : undefined,
      },
      onError: conf.onError,
      runner: { ...binaries, netns: env.netns },
      who: `pod ${pod.namespace}/${pod.name}`,
      run: runInNetns,
    });
    report.commands = outcome.results;
    report.verdict = outcome.verdict;
    if (outcome.error && conf.onError === "fail") throw outcome.error;
    await finish(outcome.error);
    return out;
  } catch (e) {
    if (report.verdict === "nothing") report.verdict = "error";
    await finish(e instanceof CniError ? e : new CniError(ErrorCode.Internal, String(e)));
    throw e;
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

function check(args: CmdArgs): Promise<string> {
  requirePrevResult(args, "CHECK");
  return Promise.resolve("");
}

async function del(args: CmdArgs, deps: PluginDeps): Promise<string> {
  // DEL must succeed whatever state things are in: no prevResult, netns gone, config broken, daemon down.
  const { env, conf: net } = args;
  const socket = daemonSocketOf(net.raw);
  let pod: PodRef | undefined;
  try {
    pod = podRefFrom(parseCniArgs(env.args), net.raw.args);
  } catch {
    pod = undefined;
  }
  await sendToDaemon(socket, {
    v: 1,
    time: deps.now().toISOString(),
    verb: "DEL",
    node: deps.getenv("NODE_NAME") || undefined,
    pod,
    containerId: env.containerId,
    netns: env.netns,
    ifname: env.ifname,
    network: net.name,
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 0,
  });
  return "";
}

async function status(args: CmdArgs): Promise<string> {
  const socket = args.conf.raw.daemonSocket;
  if (typeof socket === "string" && socket !== "") {
    const ok = await daemonRequest(socket, "/healthz", {}, 1000, async (res) => {
      await res.body?.cancel();
      return res.ok;
    });
    if (!ok) {
      throw new CniError(ErrorCode.PluginNotAvailable, `chainsaw daemon is not answering on ${socket}`);
    }
  }
  return "";
}

async function gc(args: CmdArgs): Promise<string> {
  // chainsaw's only per-attachment state is the daemon's attachment store: hand it the valid list (./gc.ts).
  const { forwardGc, validAttachments } = await import("./gc.ts");
  const valid = validAttachments(args.conf.raw);
  const socket = daemonSocketOf(args.conf.raw);
  await forwardGc(socket, args.conf.name, valid);
  return "";
}

/** Builds the verb handlers over `deps`. */
export function chainsawHandlers(deps: PluginDeps = defaultDeps): VerbHandlers {
  return {
    add: (a) => add(a, deps),
    check: (a) => check(a),
    del: (a) => del(a, deps),
    status: (a) => status(a),
    gc: (a) => gc(a),
  };
}
