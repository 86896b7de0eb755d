/**
 * Applying a pod's command list to one attachment: check the whole list against the policy, then run it in the
 * netns. Called by the one executor (executor.ts), so ADD (in the daemon or the plugin) and the daemon's live
 * re-apply behave (and report) the same.
 * @module
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { PreparedCommand } from "../annotation/prepare.ts";
import { describeRejection, type EvalContext, evaluateList } from "../policy/evaluate.ts";
import { normalize } from "../policy/objects.ts";
import type { Policy } from "../policy/rules.ts";
import type { Verdict } from "../report/report.ts";
import { errorText } from "../text/error_text.ts";
import { type CommandResult, describeFailure, type RunnerOptions, succeeded } from "./runner.ts";

/** What to apply and how. */
export interface ApplyInput {
  /** Command strings from the annotation (see resolveCommands, src/annotation/resolve.ts). */
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
  /** A monotonic clock in milliseconds for the list's deadline (default `performance.now`). */
  now?(): number;
  /**
   * Called once the policy accepted the whole list, before the first command runs (and before the list's
   * deadline starts), with the commands as the policy prepared them: the executor's snapshot for
   * `onError: "rollback"`. A thrown error stops the list with nothing run and propagates to the caller.
   */
  beforeRun?(prepared: readonly PreparedCommand[]): Promise<void>;
}

/** What happened. */
export interface ApplyOutcome {
  verdict: Verdict;
  results: CommandResult[];
  /** The first problem (101 rejected, 100 failed or out of time), if any. */
  error?: CniError;
  /** Commands not started because the list's deadline (`limits.listTimeoutMs`) had passed. */
  notStarted: number;
}

/**
 * True when every command only reads the netns (`show`/`get` of any object, `monitor`), as iproute2 reads it; a
 * command that does not normalise counts as a writer.
 *
 * @param prepared the commands as the policy prepared them (the `beforeRun` argument)
 * @returns whether none of them can change the netns
 */
export function readsOnly(prepared: readonly PreparedCommand[]): boolean {
  return prepared.every(({ argv }) => {
    const n = normalize(argv);
    return n.kind === "command" && (n.object === "monitor" || n.verb === "show" || n.verb === "get");
  });
}

/**
 * Runs one command. A runner that throws (the spawn itself failed: EAGAIN under a pids limit, EMFILE, a binary
 * gone) is a failed command like any other, so the list stops (or continues), is reported and rolled back the
 * same way, instead of the error escaping with the commands that already ran unreported and not undone.
 */
async function runOne(
  input: ApplyInput,
  command: string,
  argv: readonly string[],
  opts: RunnerOptions,
): Promise<CommandResult> {
  const started = performance.now();
  try {
    return await input.run(command, argv, opts);
  } catch (e) {
    return {
      command,
      argv: [...argv],
      // 127, the shell's "could not be executed": describeFailure words it as an exit, the stderr says why.
      exitCode: 127,
      signal: null,
      timedOut: false,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      stdout: "",
      stderr: `chainsaw could not start it: ${errorText(e)}`,
      truncated: false,
    };
  }
}

/**
 * Applies `input.commands`. With onError "fail", a rejection means nothing runs and the first failing command
 * stops the list; with "continue", rejected commands are skipped and failing ones do not stop the rest.
 * Whatever `onError`, the whole list has `limits.listTimeoutMs`: each command's timeout is cut to what is left
 * of it, and once it has passed no further command is started (code 100 naming the deadline; the verdict is
 * "failed" unless a command was rejected).
 *
 * @param input What to apply and how.
 * @returns The verdict, each started command's result and the first problem.
 * @example
 * ```ts
 * const outcome = await applyCommands({ commands: ["ip route"], annotationBytes: 10, policy, ctx,
 *   onError: "fail", runner: { ipPath, nsenterPath, netns }, who: "pod default/p1", run: runInNetns });
 * ```
 */
export async function applyCommands(input: ApplyInput): Promise<ApplyOutcome> {
  if (input.commands.length === 0) return { verdict: "nothing", results: [], notStarted: 0 };
  const now = input.now ?? (() => performance.now());
  const listTimeoutMs = input.policy.limits.listTimeoutMs;
  let deadline = now() + listTimeoutMs;
  const verdict = evaluateList(input.commands, input.policy, input.ctx, input.annotationBytes);
  let error: CniError | undefined;
  if (!verdict.allowed) {
    error = new CniError(
      ErrorCode.CommandRejected,
      `${input.who}: ${describeRejection(verdict)}; ${
        input.onError === "continue" ? "it was skipped" : "nothing was run"
      }`,
    );
    if (input.onError === "fail") return { verdict: "rejected", results: [], error, notStarted: 0 };
  }
  if (input.beforeRun && verdict.allowed) {
    await input.beforeRun(verdict.prepared);
    deadline = now() + listTimeoutMs;
  }
  const opts: RunnerOptions = {
    ...input.runner,
    timeoutMs: input.policy.limits.commandTimeoutMs,
    maxOutputBytes: input.policy.limits.maxOutputBytes,
  };
  const results: CommandResult[] = [];
  let failure: CommandResult | undefined;
  let deadlineHit = false;
  let killedAtDeadline: CommandResult | undefined;
  for (const cmd of verdict.prepared) {
    const left = Math.ceil(deadline - now());
    if (left <= 0) {
      deadlineHit = true;
      break;
    }
    const cut = left < opts.timeoutMs;
    const r = await runOne(input, cmd.source, cmd.argv, cut ? { ...opts, timeoutMs: left } : opts);
    results.push(r);
    if (cut && r.timedOut) {
      deadlineHit = true;
      killedAtDeadline = r;
      failure ??= r;
      break;
    }
    if (!succeeded(r)) {
      failure ??= r;
      if (input.onError === "fail") break;
    }
  }
  const total = verdict.prepared.length;
  const notStarted = deadlineHit ? total - results.length : 0;
  if (deadlineHit) {
    const earlier = error
      ? error.message.slice(input.who.length + 2)
      : failure && failure !== killedAtDeadline
      ? describeFailure(failure)
      : undefined;
    const parts = [
      `the list's deadline of ${listTimeoutMs} ms (policy limits.listTimeoutMs) passed after ${results.length} ` +
      `of ${total} commands`,
      ...(killedAtDeadline ? [`"${killedAtDeadline.command}" was killed at it`] : []),
      ...(notStarted > 0
        ? [`${notStarted} not started, the first "${verdict.prepared[results.length].source}"`]
        : []),
      ...(earlier ? [`before that: ${earlier}`] : []),
    ];
    error = new CniError(
      ErrorCode.CommandFailed,
      `${input.who}: ${parts.join("; ")}`,
      `ran ${results.length} of ${total} commands in ${input.runner.netns}`,
    );
  } else if (failure && !error) {
    error = new CniError(
      ErrorCode.CommandFailed,
      `${input.who}: ${describeFailure(failure)}`,
      `ran ${results.length} of ${total} commands in ${input.runner.netns}`,
    );
  }
  const failed = failure !== undefined || deadlineHit;
  return {
    verdict: !verdict.allowed ? "rejected" : failed ? "failed" : "applied",
    results,
    error,
    notStarted,
  };
}
