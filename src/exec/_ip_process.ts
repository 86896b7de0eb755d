/**
 * One `nsenter --net=NETNS -- ip ARGS…` process, the way every one of chainsaw's is run: never through a shell,
 * with a clean environment, stdin given (or none), a deadline that SIGKILLs it, stdout and stderr each kept up to
 * a cap (the rest drained, so the child never blocks on a full pipe). The command runner (`runner.ts`), the
 * snapshot's dumps (`_snapshot_dump.ts`) and the declarative batch (`_netns_batch.ts`) run theirs here.
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** The child's whole environment: nothing inherited from the runtime. */
const CLEAN_ENV: Readonly<Record<string, string>> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** What to run, where, and its bounds. */
export interface IpProcessOptions {
  /** Absolute path of `nsenter`. */
  nsenterPath: string;
  /** Absolute path of `ip`. */
  ipPath: string;
  /** Network namespace path. */
  netns: string;
  /** `ip`'s arguments. */
  args: readonly string[];
  /** Written to stdin, which is then closed; undefined: no stdin (`/dev/null`). */
  stdin?: string;
  /** SIGKILL the process after this many milliseconds. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout. */
  maxStdout: number;
  /** Keep at most this many bytes of stderr. */
  maxStderr: number;
}

/** How the process ended and what it printed (up to the caps). */
export interface IpProcessOutput {
  status: Deno.CommandStatus;
  /** Killed at the deadline. */
  timedOut: boolean;
  stdout: Uint8Array;
  /** stdout was longer than `maxStdout` (what is kept is its beginning). */
  stdoutOver: boolean;
  stderr: Uint8Array;
  /** stderr was longer than `maxStderr`. */
  stderrOver: boolean;
}

/**
 * Reads a stream to its end, keeping the first `cap` bytes.
 *
 * @param stream the child's stdout or stderr
 * @param cap bytes kept at most
 * @returns the bytes kept, and whether there were more
 */
async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<[Uint8Array, boolean]> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let over = false;
  for await (const chunk of stream) {
    if (kept < cap) {
      const take = chunk.subarray(0, cap - kept);
      chunks.push(take);
      kept += take.length;
      if (take.length < chunk.length) over = true;
    } else if (chunk.length > 0) {
      over = true; // keep draining so the child never blocks on a full pipe
    }
  }
  return [concatBytes(chunks), over];
}

/**
 * Runs the process to its end. Never throws for the process's own failure (see `status`); throws what
 * `Deno.Command.spawn` throws when it cannot start.
 *
 * @param o what to run, where, and its bounds
 * @returns its status and output
 * @example
 * ```ts
 * import { runIpProcess } from "./_ip_process.ts";
 * const out = await runIpProcess({
 *   nsenterPath: "/usr/bin/nsenter", ipPath: "/usr/sbin/ip", netns: "/var/run/netns/n1",
 *   args: ["-j", "-batch", "-"], stdin: "route show\n", timeoutMs: 2000, maxStdout: 1 << 20, maxStderr: 65536,
 * });
 * out.status.success;
 * ```
 */
export async function runIpProcess(o: IpProcessOptions): Promise<IpProcessOutput> {
  const child = new Deno.Command(o.nsenterPath, {
    args: [`--net=${o.netns}`, "--", o.ipPath, ...o.args],
    clearEnv: true,
    env: CLEAN_ENV,
    stdin: o.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // AbortSignal.timeout, not setTimeout: the first `setTimeout` of a Deno 2.9 process costs 5–9 ms (its timer
  // code is set up lazily), the signal's timer < 1 ms.
  let timedOut = false;
  const deadline = AbortSignal.timeout(o.timeoutMs);
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
    const writing = o.stdin === undefined ? undefined : (async (text: string) => {
      const w = child.stdin.getWriter();
      try {
        await w.write(new TextEncoder().encode(text));
        await w.close();
      } catch {
        // the child stopped reading (it failed early); its status says why
      }
    })(o.stdin);
    const [[stdout, stdoutOver], [stderr, stderrOver], status] = await Promise.all([
      readCapped(child.stdout, o.maxStdout),
      readCapped(child.stderr, o.maxStderr),
      child.status,
      writing,
    ]);
    return { status, timedOut, stdout, stdoutOver, stderr, stderrOver };
  } finally {
    deadline.removeEventListener("abort", onDeadline);
  }
}
