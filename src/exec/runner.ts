/**
 * Runs one `ip` command inside a network namespace given by path (`/var/run/netns/NAME` or `/proc/PID/ns/net`):
 * `nsenter --net=PATH -- IP ARGS…`, never through a shell, with a clean environment, a timeout and an output cap.
 * @module
 */
import type { CommandResult } from "../report/report.ts";
import { concatBytes } from "../bytes.ts";

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

async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<[string, boolean]> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  for await (const chunk of stream) {
    if (kept < cap) {
      const take = chunk.subarray(0, cap - kept);
      chunks.push(take);
      kept += take.length;
      if (take.length < chunk.length) truncated = true;
    } else if (chunk.length > 0) {
      truncated = true; // keep draining so the child never blocks on a full pipe
    }
  }
  return [new TextDecoder().decode(concatBytes(chunks)), truncated];
}

/** The child's whole environment: nothing inherited from the runtime. */
const CLEAN_ENV: Readonly<Record<string, string>> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** Runs `ip argv…` in the namespace. Never throws for the command's own failure; see the result. */
export async function runInNetns(
  command: string,
  argv: readonly string[],
  opts: RunnerOptions,
): Promise<CommandResult> {
  const started = performance.now();
  const child = new Deno.Command(opts.nsenterPath, {
    args: [`--net=${opts.netns}`, "--", opts.ipPath, ...argv],
    clearEnv: true,
    env: CLEAN_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // AbortSignal.timeout, not setTimeout: the first `setTimeout` of a Deno 2.9 process costs 5–9 ms (its timer
  // code is set up lazily), the signal's timer < 1 ms.
  let timedOut = false;
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const onDeadline = () => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  deadline.addEventListener("abort", onDeadline);
  try {
    const [[stdout, outCut], [stderr, errCut], status] = await Promise.all([
      readCapped(child.stdout, opts.maxOutputBytes),
      readCapped(child.stderr, opts.maxOutputBytes),
      child.status,
    ]);
    return {
      command,
      argv: [...argv],
      exitCode: status.signal ? null : status.code,
      signal: status.signal,
      timedOut,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      stdout,
      stderr,
      truncated: outCut || errCut,
    };
  } finally {
    deadline.removeEventListener("abort", onDeadline);
  }
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
