/**
 * Running one planned re-apply step exactly like the plugin's ADD: the same policy (the node ceiling from the
 * policy directory, narrowed by the chain's `policy` kept with the attachment), the same `applyCommands` with the
 * attachment's interface as `CURRENT_INTERFACE` and the pod's interfaces as `@pod`, the same `onError` mode, in
 * the attachment's netns. The outcome is a `REAPPLY` report shaped like an ADD report.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { applyCommands, type ApplyInput } from "../commands/apply.ts";
import { netnsPathProblem } from "../commands/netns_path.ts";
import { isProcNetns } from "../commands/netns_state.ts";
import type { CachedPod } from "../kube/pod_cache.ts";
import { type Policy, PolicyError } from "../policy/rules.ts";
import type { Report } from "../report/report.ts";
import type { ReapplyStep } from "./plan.ts";

/** The report verb of a daemon re-apply. */
export const REAPPLY_VERB = "REAPPLY";

/** The edges a re-apply uses (replaceable in tests). */
export interface ReapplyExecDeps {
  /** The node name, for the report. */
  node?: string;
  /** The effective policy for a chain policy document (the node file is read on every call, like ADD does). */
  loadPolicy(chainDoc: unknown | undefined): Promise<Policy>;
  /** A namespace's labels, for policies scoped by namespace labels; absent without API access. */
  namespaceLabels?(namespace: string): Promise<Record<string, string>>;
  /** The `ip` and `nsenter` to use; throws when none is installed. */
  binaries(): { ipPath: string; nsenterPath: string };
  /** Runs one command (runInNetns in production). */
  run: ApplyInput["run"];
  now(): Date;
  /** Why a netns must not be entered (default {@link reapplyNetnsProblem}); replaceable in tests. */
  netnsProblem?(path: string): string | undefined;
}

/**
 * Why the daemon must not re-apply in the netns at `path`, or undefined: every problem of
 * {@link netnsPathProblem} (relative, `..`, `/proc/self`, the daemon's own PID, its parent's, init's), and any
 * `/proc` path at all — a PID may have been reused since the ADD, and in the DaemonSet's own PID namespace it
 * names the daemon container's processes (see docs/reapply.md).
 *
 * @param path The attachment's netns path.
 * @returns The problem, as a phrase following the path, or undefined.
 * @example
 * ```ts
 * reapplyNetnsProblem("//proc/self/ns/net"); // "is a /proc path other than /proc/PID/ns/net …"
 * reapplyNetnsProblem("/var/run/netns/cni-1"); // undefined
 * ```
 */
export function reapplyNetnsProblem(path: string): string | undefined {
  const problem = netnsPathProblem(path);
  if (problem !== undefined) return problem;
  return isProcNetns(path)
    ? "is a /proc path (only namespaces pinned under /var/run/netns are re-entered)"
    : undefined;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Runs `step` for `pod` and returns its report; never throws (problems become the report's verdict). */
export async function executeStep(step: ReapplyStep, pod: CachedPod, deps: ReapplyExecDeps): Promise<Report> {
  const started = performance.now();
  const a = step.attachment;
  const who = `pod ${pod.namespace}/${pod.name}`;
  const report: Report = {
    v: 1,
    time: deps.now().toISOString(),
    verb: REAPPLY_VERB,
    node: deps.node,
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid || a.podUid },
    containerId: a.containerId,
    netns: a.netns,
    ifname: a.ifname,
    network: a.network,
    source: "daemon",
    annotation: step.value,
    podInterfaces: a.podInterfaces ?? [a.ifname],
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 0,
  };
  const finish = (err?: CniError): Report => {
    if (err) report.error = { code: err.code, msg: err.message };
    report.durationMs = round(performance.now() - started);
    return report;
  };
  if ("error" in step) {
    report.verdict = "rejected";
    return finish(new CniError(ErrorCode.CommandRejected, `${who}: ${step.error}`));
  }
  report.detected = [...step.commands];
  // Checked here, right before running, whatever the store or the planner let through.
  const problem = (deps.netnsProblem ?? reapplyNetnsProblem)(a.netns);
  if (problem !== undefined) {
    report.verdict = "error";
    return finish(
      new CniError(
        ErrorCode.InvalidEnvironment,
        `${who}: netns ${JSON.stringify(a.netns)} ${problem}: nothing run`,
      ),
    );
  }
  // A pod without a UID (or with another) is not the one this attachment was set up for.
  if (a.podUid && pod.uid !== a.podUid) {
    report.verdict = "error";
    const has = pod.uid ? `has UID ${pod.uid}` : "has no UID";
    return finish(
      new CniError(
        ErrorCode.PodLookupFailed,
        `${who} ${has} but the attachment was set up for UID ${a.podUid}: stale pod, nothing run`,
      ),
    );
  }
  try {
    let policy: Policy;
    try {
      policy = await deps.loadPolicy(a.chainPolicy);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      report.verdict = "error";
      return finish(new CniError(ErrorCode.InvalidNetworkConfig, `invalid policy: ${e.message}`));
    }
    // Like ADD: only a policy scoped by namespace labels needs them (without API access the scope refuses).
    const namespaceLabels = policy.namespaceLabels?.length && deps.namespaceLabels
      ? await deps.namespaceLabels(pod.namespace)
      : undefined;
    const outcome = await applyCommands({
      commands: step.commands,
      annotationBytes: new TextEncoder().encode(step.value).length,
      policy,
      ctx: {
        ifname: a.ifname,
        podInterfaces: report.podInterfaces!,
        namespace: pod.namespace,
        namespaceLabels,
      },
      onError: a.onError ?? "fail",
      runner: { ...deps.binaries(), netns: a.netns },
      who,
      run: deps.run,
    });
    report.commands = outcome.results;
    report.verdict = outcome.verdict;
    return finish(outcome.error);
  } catch (e) {
    report.verdict = "error";
    return finish(
      e instanceof CniError
        ? e
        : new CniError(ErrorCode.Internal, e instanceof Error ? e.message : String(e)),
    );
  }
}
