/**
 * Applying a pod's command list to one attachment: check the whole list against the policy, then run it in the
 * netns. Shared by the plugin's ADD and the daemon's live re-apply, so both behave (and report) the same.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { describeRejection, type EvalContext, evaluateList } from "../policy/evaluate.ts";
import type { Policy } from "../policy/rules.ts";
import type { Verdict } from "../report/report.ts";
import { type CommandResult, describeFailure, type RunnerOptions, succeeded } from "./runner.ts";

/** What to apply and how. */
export interface ApplyInput {
  /** Command strings from the annotation (see parseAnnotation). */
  commands: readonly string[];
  /** UTF-8 size of the raw annotation, for the size limit. */
  annotationBytes: number;
  policy: Policy;
  ctx: EvalContext;
  /** "fail": stop at the first problem; "continue": skip rejected commands, run the rest, report everything. */
  onError: "fail" | "continue";
  /** Runner settings except those the policy's limits set. */
  runner: Omit<RunnerOptions, "timeoutMs" | "maxOutputBytes">;
  /** Prefix for error messages, e.g. "pod default/p1". */
  who: string;
  /** Runs one command (injected: runInNetns in production). */
  run(command: string, argv: readonly string[], opts: RunnerOptions): Promise<CommandResult>;
}

/** What happened. */
export interface ApplyOutcome {
  verdict: Verdict;
  results: CommandResult[];
  /** The first problem (101 rejected, 100 failed), if any. */
  error?: CniError;
}

/**
 * Applies `input.commands`. With onError "fail", a rejection means nothing runs and the first failing command
 * stops the list; with "continue", rejected commands are skipped and failing ones do not stop the rest.
 */
export async function applyCommands(input: ApplyInput): Promise<ApplyOutcome> {
  if (input.commands.length === 0) return { verdict: "nothing", results: [] };
  const verdict = evaluateList(input.commands, input.policy, input.ctx, input.annotationBytes);
  let error: CniError | undefined;
  if (!verdict.allowed) {
    error = new CniError(
      ErrorCode.CommandRejected,
      `${input.who}: ${describeRejection(verdict)}; ${
        input.onError === "continue" ? "it was skipped" : "nothing was run"
      }`,
    );
    if (input.onError === "fail") return { verdict: "rejected", results: [], error };
  }
  const opts: RunnerOptions = {
    ...input.runner,
    timeoutMs: input.policy.limits.commandTimeoutMs,
    maxOutputBytes: input.policy.limits.maxOutputBytes,
  };
  const results: CommandResult[] = [];
  let failure: CommandResult | undefined;
  for (const cmd of verdict.prepared) {
    const r = await input.run(cmd.source, cmd.argv, opts);
    results.push(r);
    if (!succeeded(r)) {
      failure ??= r;
      if (input.onError === "fail") break;
    }
  }
  if (failure && !error) {
    error = new CniError(
      ErrorCode.CommandFailed,
      `${input.who}: ${describeFailure(failure)}`,
      `ran ${results.length} of ${verdict.prepared.length} commands in ${input.runner.netns}`,
    );
  }
  return { verdict: !verdict.allowed ? "rejected" : failure ? "failed" : "applied", results, error };
}
