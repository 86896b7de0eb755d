/**
 * The one executor: everything between "this attachment, this annotation value" and "this report". ADD in the
 * plugin, ADD in the daemon and the daemon's live re-apply all call {@link runOnAttachment}; nothing above it
 * re-implements any of its steps, so a policy or safety change made here holds for all three.
 *
 * In order: pick the annotation's commands for the attachment (`resolveCommands`: by interface, NAD, chain name or
 * `"*"`) and, when the caller knows all of the pod's attachments, find the keys that name none of them (a warning
 * in the report); load the policy (node ceiling narrowed by the
 * chain's); the namespace's labels when the policy is scoped by them; refuse a netns path that is not a pod's and
 * one that is gone; resolve `ip` and `nsenter` (the chain's `ipPath`/`nsenterPath` too); check the whole list
 * against the policy and run it (`applyCommands`); build the report.
 *
 * With `onError: "rollback"` (the default), once the policy accepted the whole list the netns is snapshotted
 * (`snapshotNetns`); the list runs as with `"fail"` (stops at the first failing or timed-out command, or at
 * the list's deadline) and on a failure the snapshot is restored (`restoreNetns`): code 100 saying it
 * rolled back, or that the rollback failed and what still differs (`report.rollback`). A snapshot that cannot be
 * taken fails closed: code 100, verdict "error", nothing run.
 *
 * @example
 * ```ts
 * const { report, error, fatal } = await runOnAttachment(target, pod.annotations[ANNOTATION], deps);
 * if (fatal) throw error; // ADD fails with the CNI error
 * ```
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { ApplyInput } from "./apply.ts";
import type { BatchInput, BatchOutcome } from "./_netns_batch.ts";
import type { NetnsState } from "./netns_state.ts";
import type { NetnsSnapshot, RestoreOutcome, SnapshotBinaries } from "./netns_snapshot.ts";
import type { EvalContext } from "../policy/evaluate.ts";
import type { Policy } from "../policy/rules.ts";
import type { AttachmentName } from "../annotation/resolve.ts";
import type { Report } from "../report/report.ts";
import { errorText } from "../text/error_text.ts";
import type { DriftMode, OnError } from "../wire/chain_conf.ts";
import type { EffectItem, Mode } from "../wire/effect.ts";
import type { PodRef } from "../wire/pod_ref.ts";

/**
 * What a run needs beyond building a report, loaded on first use: an ADD of a pod without the annotation (the
 * common case, and every plugin process that runs an ADD itself) loads none of the annotation parser, the policy
 * engine, the runner or the snapshot code.
 */
let modules:
  | Promise<{
    annotation: typeof import("../annotation/annotation.ts");
    resolve: typeof import("../annotation/resolve.ts");
    apply: typeof import("./apply.ts");
    binaries: typeof import("./binaries.ts");
    netns: typeof import("./netns_state.ts");
    snapshot: typeof import("./netns_snapshot.ts");
    rules: typeof import("../policy/rules.ts");
    declarative: typeof import("./declarative.ts");
  }>
  | undefined;

function runModules() {
  modules ??= Promise.all([
    import("../annotation/annotation.ts"),
    import("../annotation/resolve.ts"),
    import("./apply.ts"),
    import("./binaries.ts"),
    import("./netns_state.ts"),
    import("./netns_snapshot.ts"),
    import("../policy/rules.ts"),
    import("./declarative.ts"),
  ]).then(([annotation, resolve, apply, binaries, netns, snapshot, rules, declarative]) => ({
    annotation,
    resolve,
    apply,
    binaries,
    netns,
    snapshot,
    rules,
    declarative,
  }));
  return modules;
}

/** Where and how to run: one pod interface and the chain config it was set up with. */
export interface AttachmentTarget {
  containerId: string;
  /** Network namespace path. */
  netns: string;
  /** The pod-side interface, substituted for `CURRENT_INTERFACE`. */
  ifname: string;
  /** The network (chain config) name; with `ifname` and `nad`, picks the entry of an object-form annotation. */
  network: string;
  /** The NetworkAttachmentDefinition (`namespace/name`) Multus set the attachment up for, when it did. */
  nad?: string;
  pod: PodRef;
  /** The pod's interfaces (`@pod` in policy rules). */
  podInterfaces: readonly string[];
  /** The chain config's `policy` document (narrows the node policy). */
  chainPolicy?: unknown;
  onError: OnError;
  /**
   * `"declarative"`: the annotation's value is the netns state on top of the baseline (an edit takes back what
   * the old value did); `"imperative"` (also when absent): each value's list runs as it is.
   */
  mode?: Mode;
  /** The chain config's `drift` (what the daemon's drift checks do; kept with the attachment). */
  drift?: DriftMode;
  /** The chain config's `ipPath` / `nsenterPath` (checked against the allowed list). */
  ipPath?: string;
  nsenterPath?: string;
}

/** The edges the executor uses (replaceable in tests). */
export interface ExecutorDeps {
  /** The report's verb: `ADD` or `REAPPLY`. */
  verb: "ADD" | "REAPPLY";
  /** Where the annotation came from, for the report. */
  source: NonNullable<Report["source"]>;
  /** The node's name, for the report. */
  node?: string;
  /** The W3C trace id of the runtime's span, for the report (ADD with `TRACEPARENT`). */
  traceId?: string;
  now(): Date;
  /** The effective policy: the node ceiling narrowed by `chainDoc`. Throws PolicyError when one is invalid. */
  loadPolicy(chainDoc: unknown): Promise<Policy>;
  /** A namespace's labels (only asked when the policy is scoped by them); absent: the scope refuses. */
  namespaceLabels?(namespace: string): Promise<Record<string, string>>;
  /** Runs one command (runInNetns in production). */
  run: ApplyInput["run"];
  /** The netns existence check (default: `netnsState`). */
  netnsState?(path: string): Promise<NetnsState>;
  /** Why a netns path must not be entered (the caller's own namespace), or undefined. */
  netnsProblem?(path: string): string | undefined;
  /** Whether `path` exists, for finding `ip`/`nsenter` (tests). */
  fileExists?(path: string): boolean;
  /** Takes the snapshot before a `"rollback"` list runs (default: `snapshotNetns`). */
  snapshot?(netns: string, bins: SnapshotBinaries): Promise<NetnsSnapshot>;
  /** Restores it after a failure (default: `restoreNetns`). */
  restore?(snapshot: NetnsSnapshot, bins: SnapshotBinaries): Promise<RestoreOutcome>;
  /** Declarative mode's one-process batch (default: `runBatch`). */
  batch?(input: BatchInput): Promise<BatchOutcome>;
  /**
   * Declarative mode: called with a full snapshot of the netns right before the run first changes it (the
   * daemon's write-ahead record of a re-apply); a throw (a CniError) stops the run with nothing changed.
   */
  beforeChange?(start: NetnsSnapshot): Promise<void>;
  /**
   * Every attachment of the pod (this one included), when all of them are set up: then an object-form key that
   * names none of them is a warning in the report. Absent: some may still come, keys are not checked.
   */
  podAttachments?: readonly AttachmentName[];
}

/** What one run did. */
export interface ExecOutcome {
  report: Report;
  /** The first problem, as a CNI error (also in the report). */
  error?: CniError;
  /**
   * Declarative mode: the effect chainsaw owns in the netns after this run (the previous one when the run was
   * rejected, erred or rolled back). Absent in imperative mode.
   */
  effect?: EffectItem[];
  /**
   * True when an ADD must fail with `error`: every problem found before running (annotation, policy, netns,
   * binaries, API, the rollback snapshot) and, in `rollback` and `fail` mode, a rejected or failing command.
   * With `continue` a list's own failures are reported and the ADD succeeds.
   */
  fatal: boolean;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** At most this many restore failures are kept in a report, and this many named in the error message. */
const MAX_ROLLBACK_FAILURES = 32;
const MESSAGE_ROLLBACK_FAILURES = 4;
const MAX_FAILURE_CHARS = 512;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The error of a list that failed and was rolled back (or whose rollback failed): the list's error with a
 * sentence about the rollback added.
 */
function rolledBackError(error: CniError, ran: number, outcome: RestoreOutcome): CniError {
  if (outcome.ok) {
    return new CniError(
      error.code,
      `${error.message}; rolled back ${plural(ran, "command")}: the netns is as before the list`,
      error.details,
    );
  }
  const shown = outcome.failures.slice(0, MESSAGE_ROLLBACK_FAILURES).map((f) =>
    f.slice(0, MAX_FAILURE_CHARS)
  );
  const more = outcome.failures.length - shown.length;
  return new CniError(
    ErrorCode.CommandFailed,
    `${error.message}; ROLLBACK FAILED after ${
      plural(ran, "command")
    }, the netns is NOT as before the list: ${shown.join("; ") || "unknown"}${
      more > 0 ? `; and ${more} more` : ""
    }`,
    error.details,
  );
}

function baseReport(target: AttachmentTarget, deps: ReportDeps): Report {
  const report: Report = {
    v: 1,
    time: deps.now().toISOString(),
    verb: deps.verb,
    node: deps.node,
    pod: { ...target.pod },
    containerId: target.containerId,
    netns: target.netns,
    ifname: target.ifname,
    network: target.network,
    source: deps.source,
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 0,
  };
  if (target.nad !== undefined) report.nad = target.nad;
  if (deps.traceId) report.traceId = deps.traceId;
  return report;
}

/** What a report needs from the edges. */
type ReportDeps = Pick<ExecutorDeps, "verb" | "source" | "node" | "now" | "traceId">;

/**
 * The outcome of a run refused before the executor was reached (the pod could not be found, or is stale):
 * verdict "error", nothing ran. Its report has the same shape as every other.
 *
 * @param target the attachment
 * @param deps the report's verb, source, node and clock
 * @param error why
 * @returns the outcome (fatal)
 */
export function refusal(
  target: AttachmentTarget,
  deps: ReportDeps,
  error: CniError,
): ExecOutcome {
  const report = baseReport(target, deps);
  report.verdict = "error";
  report.error = { code: error.code, msg: error.message };
  return { report, error, fatal: true };
}

/**
 * The report of a run that ran nothing but has something to say: keys of `annotation` that name none of the
 * pod's attachments (verdict "nothing", the annotation and the warnings).
 *
 * @param target the attachment
 * @param deps the report's verb, source, node and clock
 * @param annotation the value whose keys these are
 * @param warnings the sentences
 * @returns the report
 */
export function warningReport(
  target: AttachmentTarget,
  deps: ReportDeps,
  annotation: string,
  warnings: string[],
): Report {
  const report = baseReport(target, deps);
  report.annotation = annotation;
  report.warnings = warnings;
  return report;
}

/**
 * What the steps before running decided: the commands (and the object-form key that picked them), the keys that
 * name none of the pod's attachments, the policy and the evaluation context; or why not.
 */
export type RunPlan =
  | { commands: string[]; key?: string; warnings: string[]; policy: Policy; ctx: EvalContext }
  | { commands: string[]; key?: string; warnings: string[]; verdict: "rejected" | "error"; error: CniError };

/** The attachment as the annotation's keys name it. */
export function attachmentName(target: AttachmentTarget): AttachmentName {
  const a: AttachmentName = {
    ifname: target.ifname,
    network: target.network,
    podNamespace: target.pod.namespace,
  };
  if (target.nad !== undefined) a.nad = target.nad;
  return a;
}

/**
 * The steps before running, shared by {@link runOnAttachment} and `chainsaw explain` (so an explanation cannot
 * disagree with a run): the annotation's commands for the attachment (`resolveCommands`; malformed: 101), the
 * keys naming none of `deps.podAttachments` (warnings), the effective policy
 * (invalid: 7), and the evaluation context (`CURRENT_INTERFACE`, `@pod`, the namespace and, only for a policy
 * scoped by them, its labels).
 *
 * @param target the attachment
 * @param annotation the annotation's value
 * @param deps the policy and namespace-label edges, and the pod's attachments when all are set up
 * @returns the plan (no commands: nothing to run), or the refusal
 */
export async function planOnAttachment(
  target: AttachmentTarget,
  annotation: string | undefined,
  deps: Pick<ExecutorDeps, "loadPolicy" | "namespaceLabels" | "podAttachments">,
): Promise<RunPlan> {
  const who = `pod ${target.pod.namespace}/${target.pod.name}`;
  const {
    annotation: { AnnotationError },
    resolve: { resolveCommands, unmatchedKeyWarnings },
    rules: { PolicyError },
  } = await runModules();
  let commands: string[];
  let key: string | undefined;
  let warnings: string[] = [];
  try {
    ({ commands, key } = resolveCommands(annotation, attachmentName(target)));
    const all = deps.podAttachments;
    if (all) warnings = unmatchedKeyWarnings(annotation, all);
  } catch (e) {
    if (!(e instanceof AnnotationError)) throw e;
    const error = new CniError(ErrorCode.CommandRejected, `${who}: ${e.message}`);
    return { commands: [], warnings, verdict: "rejected", error };
  }
  const picked = key === undefined ? {} : { key };
  let policy: Policy;
  try {
    policy = await deps.loadPolicy(target.chainPolicy);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    const error = new CniError(ErrorCode.InvalidNetworkConfig, `invalid policy: ${e.message}`);
    return { commands, ...picked, warnings, verdict: "error", error };
  }
  // Only a policy scoped by namespace labels costs this lookup; without API access the scope refuses.
  const namespaceLabels = commands.length > 0 && policy.namespaceLabels?.length && deps.namespaceLabels
    ? await deps.namespaceLabels(target.pod.namespace)
    : undefined;
  const ctx: EvalContext = {
    ifname: target.ifname,
    podInterfaces: [...target.podInterfaces],
    namespace: target.pod.namespace,
    namespaceLabels,
  };
  return { commands, ...picked, warnings, policy, ctx };
}

/**
 * Runs the commands `annotation` asks for on `target`'s network, in its netns. Never throws: every problem
 * becomes the report's verdict and `error` (unexpected ones as code 999).
 *
 * In declarative mode (`target.mode`) `prior` is the effect the previous value left there: the run takes back
 * what the new value does not set (src/exec/declarative.ts), a value with no commands takes it all back, and
 * the outcome's `effect` is what chainsaw owns afterwards.
 *
 * @param target the attachment
 * @param annotation the chainsaw annotation's value (undefined: the pod has none)
 * @param deps the edges
 * @param prior declarative mode: the effect the previous value left (absent or `[]`: chainsaw owns nothing)
 * @returns the report and the error, if any
 */
export async function runOnAttachment(
  target: AttachmentTarget,
  annotation: string | undefined,
  deps: ExecutorDeps,
  prior: readonly EffectItem[] = [],
): Promise<ExecOutcome> {
  const started = performance.now();
  const who = `pod ${target.pod.namespace}/${target.pod.name}`;
  const report = baseReport(target, deps);
  if (annotation !== undefined) report.annotation = annotation;
  const declarative = target.mode === "declarative";
  let effect: EffectItem[] | undefined = declarative ? [...prior] : undefined;
  const finish = (verdict: Report["verdict"], error?: CniError, fatal = error !== undefined): ExecOutcome => {
    report.verdict = verdict;
    if (error) report.error = { code: error.code, msg: error.message };
    report.durationMs = round(performance.now() - started);
    return effect === undefined ? { report, error, fatal } : { report, error, fatal, effect };
  };
  const blank = (annotation ?? "").trim() === "";
  // No annotation (the common case): nothing to read, check or run, and nothing to load for it — unless a
  // previous value's effect is to be taken back.
  if (blank && prior.length === 0 || blank && !declarative) return finish("nothing");
  try {
    const {
      apply: { applyCommands, readsOnly },
      binaries: { IP_CANDIDATES, NSENTER_CANDIDATES, resolveBinary },
      netns: { netnsState: realNetnsState },
      snapshot: { restoreNetns, snapshotNetns },
      declarative: { DeclarativeRun, DeclarativeSnapshotError, effectRecord, TakeBackError, takeBackAll },
    } = await runModules();
    let commands: string[] = [];
    let runPlan: Extract<RunPlan, { policy: Policy }> | undefined;
    if (!blank) {
      const plan = await planOnAttachment(target, annotation, deps);
      if (plan.key !== undefined) report.key = plan.key;
      if (plan.warnings.length > 0) report.warnings = plan.warnings;
      if ("error" in plan) {
        report.detected = plan.commands;
        return finish(plan.verdict, plan.error);
      }
      runPlan = plan;
      commands = plan.commands;
    }
    report.detected = commands;
    const takeBackOnly = declarative && commands.length === 0 && prior.length > 0;
    if (commands.length === 0 && !takeBackOnly) return finish("nothing");

    const problem = deps.netnsProblem?.(target.netns);
    if (problem !== undefined) {
      return finish(
        "error",
        new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS ${target.netns} ${problem}: nothing run`),
      );
    }
    // Certainly absent is code 3; a path that cannot be checked (/proc/PID/ns/net) is left to nsenter.
    if ((await (deps.netnsState ?? realNetnsState)(target.netns)) === "gone") {
      return finish(
        "error",
        new CniError(ErrorCode.UnknownContainer, `network namespace ${target.netns} does not exist`),
      );
    }
    let binaries: { ipPath: string; nsenterPath: string };
    try {
      binaries = {
        ipPath: resolveBinary("ipPath", target.ipPath, IP_CANDIDATES, deps.fileExists),
        nsenterPath: resolveBinary("nsenterPath", target.nsenterPath, NSENTER_CANDIDATES, deps.fileExists),
      };
    } catch (e) {
      return finish(
        "error",
        new CniError(ErrorCode.InvalidNetworkConfig, `invalid chainsaw config key ${errorText(e)}`),
      );
    }
    /** A snapshot the run needs before anything (declarative mode's, the rollback's) failed: code 100. */
    const snapshotError = (e: unknown, needer = "declarative mode") =>
      new CniError(
        ErrorCode.CommandFailed,
        `${who}: ${needer} needs a snapshot of the netns first, and it failed: ${errorText(e)}; nothing run`,
        "",
        { cause: e },
      );
    const restoreOf = (restored: RestoreOutcome): NonNullable<Report["rollback"]> =>
      restored.ok ? { restored: true, durationMs: round(restored.durationMs) } : {
        restored: false,
        durationMs: round(restored.durationMs),
        failures: restored.failures.slice(0, MAX_ROLLBACK_FAILURES).map((f) => f.slice(0, MAX_FAILURE_CHARS)),
      };
    /** A declarative run's own failures (no snapshot, a take-back that failed) as the outcome; others go on. */
    const declarativeFailure = (e: unknown) => {
      if (e instanceof DeclarativeSnapshotError) return finish("error", snapshotError(e));
      if (e instanceof TakeBackError) {
        report.rollback = restoreOf(e.undo);
        return finish("failed", new CniError(ErrorCode.CommandFailed, `${who}: ${e.message}`));
      }
      throw e;
    };
    const declarativeDeps = {
      snapshot: deps.snapshot ?? snapshotNetns,
      restore: deps.restore ?? restoreNetns,
      run: deps.run,
      batch: deps.batch,
    };

    if (takeBackOnly || !runPlan) {
      // The value has no commands here any more: the whole effect goes back.
      try {
        const settled = await takeBackAll({
          netns: target.netns,
          bins: binaries,
          prior,
          ...(deps.beforeChange ? { beforeChange: deps.beforeChange } : {}),
        }, declarativeDeps);
        effect = settled.effect;
        report.effect = effectRecord(settled);
        if (settled.stuck) {
          const { items, failures } = settled.stuck;
          const shown = failures.slice(0, MESSAGE_ROLLBACK_FAILURES).map((f) =>
            f.slice(0, MAX_FAILURE_CHARS)
          );
          return finish(
            "failed",
            new CniError(
              ErrorCode.CommandFailed,
              `${who}: ${plural(items.length, "object")} could not be taken back to what the chain set up (${
                items.slice(0, 4).map((i) => i.key).join(", ")
              }): ${
                shown.join("; ") || "unknown"
              }; they are left as they are, and chainsaw owns nothing here any more`,
            ),
          );
        }
        return finish("nothing");
      } catch (e) {
        return declarativeFailure(e);
      }
    }
    const { policy, ctx } = runPlan;
    /** What both ways of running the list give {@link applyCommands}. */
    const list = {
      commands,
      annotationBytes: new TextEncoder().encode(annotation ?? "").length,
      policy,
      ctx,
      onError: target.onError === "continue" ? "continue" as const : "fail" as const,
      runner: { ...binaries, netns: target.netns },
      who,
    };

    if (declarative) {
      const run = new DeclarativeRun({
        netns: target.netns,
        bins: binaries,
        onError: target.onError,
        prior,
        // The dumps around the list are bounded like the rollback snapshot (2 s) on top of the list's deadline.
        batchTimeoutMs: policy.limits.listTimeoutMs + 2000,
        maxOutputBytes: 16 * 1024 * 1024,
        ...(deps.beforeChange ? { beforeChange: deps.beforeChange } : {}),
      }, declarativeDeps);
      let began = false;
      let outcome;
      try {
        outcome = await applyCommands({
          ...list,
          run: (c, argv, opts) => run.run(c, argv, opts),
          beforeRun: async (prepared) => {
            await run.beforeRun(prepared);
            began = true;
          },
        });
      } catch (e) {
        return declarativeFailure(e);
      }
      report.commands = outcome.results;
      let error = outcome.error;
      const settled = await run.settle(outcome.verdict === "failed", began);
      effect = settled.effect;
      // What chainsaw owns, took back or left alone — nothing to say for a list that only read on an attachment
      // owning nothing.
      if (began && settled.effect.length + settled.takenBack.length + settled.leftAlone.length > 0) {
        report.effect = effectRecord(settled);
      }
      if (settled.rollback && error) {
        report.rollback = restoreOf(settled.rollback);
        error = rolledBackError(error, outcome.results.filter((r) => !r.kept).length, settled.rollback);
      }
      return finish(outcome.verdict, error, error !== undefined && target.onError !== "continue");
    }

    let before: NetnsSnapshot | undefined;
    const outcome = await applyCommands({
      ...list,
      run: deps.run,
      // A list that only reads (show, get, monitor) cannot leave anything half-changed: no snapshot to take.
      beforeRun: target.onError === "rollback"
        ? async (prepared) => {
          if (readsOnly(prepared)) return;
          try {
            before = await (deps.snapshot ?? snapshotNetns)(target.netns, binaries);
          } catch (e) {
            throw snapshotError(e, `onError "rollback"`);
          }
        }
        : undefined,
    });
    report.commands = outcome.results;
    let error = outcome.error;
    if (before && outcome.verdict === "failed" && error) {
      const restored = await (deps.restore ?? restoreNetns)(before, binaries);
      report.rollback = restoreOf(restored);
      error = rolledBackError(error, outcome.results.length, restored);
    }
    return finish(outcome.verdict, error, error !== undefined && target.onError !== "continue");
  } catch (e) {
    if (e instanceof CniError) return finish("error", e);
    return finish("error", new CniError(ErrorCode.Internal, `internal error: ${errorText(e)}`));
  }
}
