/**
 * The raw dumps behind a netns snapshot: two `ip -j -d -batch -` processes (one `-4`, one `-6`) run in the netns
 * through `nsenter --net=PATH`, each answering several `show` commands read from stdin. iproute2 6.1 prints one
 * compact JSON document per batch line, each on its own line, so the output splits into documents by line.
 *
 * The family split is needed because neither `ip route show` nor `ip rule show` name the family of an entry in
 * their JSON, `ip rule show` without a family shows IPv4 only, and batch lines cannot carry global options such
 * as `-6`.
 *
 * The processes run like every one of chainsaw's (`_ip_process.ts`: absolute paths, a clean environment, a
 * deadline, an output cap), with the commands on stdin.
 * @module
 */
import { DumpError, type RawDumps } from "../netns/model.ts";
import { runIpProcess } from "./_ip_process.ts";

/** What the `-4` process answers, in order (the batch of src/exec/_netns_batch.ts dumps the same lines). */
export const V4_COMMANDS = [
  "link show",
  "addr show",
  "route show table all",
  "rule show",
  "neigh show nud permanent",
] as const;
/** What the `-6` process answers, in order. */
const V6_COMMANDS = [
  "addr show",
  "route show table all",
  "rule show",
  "neigh show nud permanent",
] as const;

/** How to run the dumps. */
export interface DumpOptions {
  ipPath: string;
  nsenterPath: string;
  netns: string;
  /** Kill each process after this many milliseconds. */
  timeoutMs: number;
  /** Fail when one process prints more than this many bytes. */
  maxOutputBytes: number;
}

/**
 * Runs `ip -<family> -j -d -batch -` with `commands` on stdin and returns one parsed document per command.
 *
 * @param family 4 or 6
 * @param commands batch lines (chainsaw's own, never a pod's)
 * @param opts binaries, netns, bounds
 */
export async function batchJson(
  family: 4 | 6,
  commands: readonly string[],
  opts: DumpOptions,
): Promise<unknown[]> {
  const what = `ip -${family} -j -d -batch - in ${opts.netns}`;
  let out;
  try {
    out = await runIpProcess({
      ...opts,
      args: [`-${family}`, "-j", "-d", "-batch", "-"],
      stdin: commands.join("\n") + "\n",
      maxStdout: opts.maxOutputBytes,
      maxStderr: 64 * 1024,
    });
  } catch (e) {
    throw new DumpError(`${what}: could not start ${opts.nsenterPath}`, { cause: e });
  }
  if (out.timedOut) throw new DumpError(`${what} timed out after ${opts.timeoutMs} ms`);
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.status.success) {
    throw new DumpError(`${what} exited with code ${out.status.code}${err ? `: ${err}` : ""}`);
  }
  if (out.stdoutOver) throw new DumpError(`${what} printed more than ${opts.maxOutputBytes} bytes`);
  return parseDocuments(new TextDecoder().decode(out.stdout), commands.length, what);
}

/**
 * Splits `ip -j -batch` output into its JSON documents (one per non-empty line).
 *
 * @param text the process's stdout
 * @param expected how many documents there must be
 * @param what names the process in errors
 * @example
 * ```ts
 * parseDocuments('[{"a":1}]\n[]\n', 2, "ip"); // [[{a: 1}], []]
 * ```
 */
export function parseDocuments(text: string, expected: number, what = "ip -j -batch"): unknown[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== expected) {
    throw new DumpError(`${what}: expected ${expected} JSON documents, got ${lines.length}`);
  }
  return lines.map((line, i) => {
    try {
      // `ip -j` escapes \n, \r, \t and `"` in names and aliases but prints other control characters raw (an
      // interface named "e\x1b[2Jx", an alias with \x01): JSON forbids them unescaped, so escape them here.
      return JSON.parse(
        // deno-lint-ignore no-control-regex
        line.replace(/[\x00-\x1f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
      );
    } catch (e) {
      throw new DumpError(`${what}: document ${i + 1} is not JSON`, { cause: e });
    }
  });
}

/**
 * Takes every dump a snapshot needs: two processes, run concurrently.
 *
 * @param opts binaries, netns, bounds
 */
export async function takeDumps(opts: DumpOptions): Promise<RawDumps> {
  const [v4, v6] = await Promise.all([batchJson(4, V4_COMMANDS, opts), batchJson(6, V6_COMMANDS, opts)]);
  return {
    links: v4[0],
    addr4: v4[1],
    route4: v4[2],
    rule4: v4[3],
    neigh4: v4[4],
    addr6: v6[0],
    route6: v6[1],
    rule6: v6[2],
    neigh6: v6[3],
  };
}
