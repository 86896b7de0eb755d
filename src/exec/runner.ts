/**
 * Runs one `ip` command inside a network namespace given by path (`/var/run/netns/NAME` or `/proc/PID/ns/net`):
 * `nsenter --net=PATH -- IP ARGS…`, never through a shell, with a clean environment, a timeout and an output cap.
 * @module
 */
import type { CommandResult } from "../report/report.ts";
import { runIpProcess } from "./_ip_process.ts";

/** How to run commands. */
export interface RunnerOptions {
  /** Absolute path of `ip`. */
  ipPath: string;
  /** Absolute path of `nsenter`. */
  nsenterPath: string;
  /** Network namespace path. */
  netns: string;
  /** Kill the command after this many milliseconds. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout and of stderr each. */
  maxOutputBytes: number;
}

export type { CommandResult };

/** Runs `ip argv…` in the namespace. Never throws for the command's own failure; see the result. */
export async function runInNetns(
  command: string,
  argv: readonly string[],
  opts: RunnerOptions,
): Promise<CommandResult> {
  const started = performance.now();
  const out = await runIpProcess({
    ...opts,
    args: argv,
    maxStdout: opts.maxOutputBytes,
    maxStderr: opts.maxOutputBytes,
  });
  const text = new TextDecoder();
  return {
    command,
    argv: [...argv],
    exitCode: out.status.signal ? null : out.status.code,
    signal: out.status.signal,
    timedOut: out.timedOut,
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
    truncated: out.stdoutOver || out.stderrOver,
  };
}

/** True when the command succeeded. */
export function succeeded(r: CommandResult): boolean {
  return r.exitCode === 0 && !r.timedOut;
}

/** A one-line description of a failed command for error messages. */
export function describeFailure(r: CommandResult): string {
  const how = r.timedOut
    ? "timed out"
    : r.exitCode === null
    ? `was killed by ${r.signal}`
    : `exited with code ${r.exitCode}`;
  const err = r.stderr.trim();
  return `command "${r.command}" ${how}${err ? `: ${err}` : ""}`;
}
