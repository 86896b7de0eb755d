/**
 * A command list and the snapshots around it in ONE process: `nsenter --net=PATH -- ip -j -d -batch -` reads a
 * dump (five show lines), then each command, each command that can change something followed by another dump.
 * iproute2 6.1 prints one JSON document per show line (a writer prints nothing), and without `-force` stops at
 * the first failing line with `Command failed -:N` on stderr; a line it cannot parse ends the process at once.
 * So the output says, line by line, the state before the list, what each command printed and changed, and
 * where the list stopped.
 *
 * What one process cannot see: IPv6 policy rules (`rule show` in a batch is IPv4 only, and a batch line cannot
 * carry `-6`), so a command that may touch them is not batchable ({@link batchable}) and snapshots from here have
 * no IPv6 rules ({@link withRulesOf} fills them in when they meet a full snapshot).
 * @module
 */
import type { CommandResult } from "../report/report.ts";
import { normalize } from "../policy/objects.ts";
import { parseDocuments, V4_COMMANDS } from "./_snapshot_dump.ts";
import { runIpProcess } from "./_ip_process.ts";
import { buildSnapshot, DumpError, type Entry, type NetnsSnapshot, type RawDumps } from "../netns/model.ts";

/** The show lines of one dump, in order: the snapshot's `-4` lines, so a batch dump and a snapshot hold the same objects. */
export const DUMP_LINES = V4_COMMANDS;

/**
 * Which dump lines (indexes into {@link DUMP_LINES}) a writer of each object can change, so only those are dumped
 * after it: a route or rule command changes only its kind, an address also the kernel's routes for it; a link
 * command anything (setting a link down drops routes, IPv6 addresses and neighbours).
 */
const DUMPED_AFTER: Readonly<Record<string, readonly number[]>> = {
  route: [2],
  rule: [3],
  neighbor: [4],
  address: [1, 2],
  link: [0, 1, 2, 3, 4],
};

/** The dump lines to read after a writer (all of them for anything unexpected). */
export function dumpAfter(argv: readonly string[]): readonly number[] {
  const n = normalize(argv);
  return (n.kind === "command" ? DUMPED_AFTER[n.object] : undefined) ?? DUMPED_AFTER.link;
}

/** Objects whose commands may go into a batch: their shows print one JSON document, their writers nothing. */
const BATCH_OBJECTS = new Set(["link", "address", "route", "rule", "neighbor"]);

/** Words a batch line carries as they are (iproute2's batch reader splits on blanks, reads quotes and `#`). */
const PLAIN_WORD = /^[A-Za-z0-9_.:\/+=,@%-]+$/;

/** Whether a command only reads (the policy's reading of the words). */
export function isRead(argv: readonly string[]): boolean {
  const n = normalize(argv);
  return n.kind === "command" && (n.object === "monitor" || n.verb === "show" || n.verb === "get");
}

/**
 * Whether a command can run as a batch line: no global options, an object whose output the batch can attribute,
 * words that need no quoting, and not a rule that may be IPv6.
 *
 * @param argv the command's words after `ip`
 */
export function batchable(argv: readonly string[]): boolean {
  if (argv.length === 0 || argv[0].startsWith("-")) return false;
  if (!argv.every((w) => PLAIN_WORD.test(w))) return false;
  const n = normalize(argv);
  if (n.kind !== "command" || !BATCH_OBJECTS.has(n.object) || n.globals.length > 0) return false;
  if (n.object === "rule" && argv.some((w) => w.includes(":"))) return false;
  return true;
}

/** Splits the documents of one dump into the raw dumps of both families (route family by IPv6's `pref`). */
export function dumpsOf(docs: readonly unknown[]): RawDumps {
  const [links, addrs, routes, rules, neighs] = docs;
  const arr = (v: unknown): Record<string, unknown>[] =>
    (Array.isArray(v) ? v : []) as Record<string, unknown>[];
  const addrOf = (family: string) =>
    arr(addrs).map((l) => ({
      ...l,
      addr_info: arr(l.addr_info).filter((a) => a.family === family),
    }));
  const isV6Route = (r: Record<string, unknown>) => r.pref !== undefined || String(r.dst).includes(":");
  const isV6Neigh = (n: Record<string, unknown>) => String(n.dst).includes(":");
  if (!Array.isArray(addrs) || !Array.isArray(routes) || !Array.isArray(neighs)) {
    throw new DumpError("ip -j -batch: a dump is not a JSON array");
  }
  return {
    links,
    addr4: addrOf("inet"),
    addr6: addrOf("inet6"),
    route4: arr(routes).filter((r) => !isV6Route(r)),
    route6: arr(routes).filter(isV6Route),
    rule4: rules,
    rule6: [],
    neigh4: arr(neighs).filter((n) => !isV6Neigh(n)),
    neigh6: arr(neighs).filter(isV6Neigh),
  };
}

/**
 * `s` with the IPv6 rules of `from` (a one-process dump has none): so a batch snapshot and a full one compare on
 * what the batch could see.
 *
 * @param s a snapshot
 * @param from where the IPv6 rules come from
 */
export function withRulesOf(s: NetnsSnapshot, from: NetnsSnapshot): NetnsSnapshot {
  const v6 = from.rules.filter((r: Entry) => r.family === 6);
  return { ...s, rules: [...s.rules.filter((r: Entry) => r.family !== 6), ...v6] };
}

/** Every dump line, by index: a full one-process dump. */
const ALL_DUMPS: readonly number[] = [0, 1, 2, 3, 4];

/**
 * `s`, a batch snapshot that dumped only the lines `dumped` (indexes into {@link DUMP_LINES}), completed from
 * `from` with everything else — the other kinds and the IPv6 rules a batch never sees — so it compares with a
 * full snapshot (and can be restored) on what the batch could not change.
 *
 * @param s the partial snapshot
 * @param from a snapshot with the rest
 * @param dumped what `s` has
 */
export function fillFrom(s: NetnsSnapshot, from: NetnsSnapshot, dumped: readonly number[]): NetnsSnapshot {
  const has = new Set(dumped);
  const out = {
    ...s,
    links: has.has(0) ? s.links : from.links,
    addresses: has.has(1) ? s.addresses : from.addresses,
    tentative: has.has(1) ? s.tentative : from.tentative,
    routes: has.has(2) ? s.routes : from.routes,
    rules: has.has(3) ? s.rules : from.rules,
    neighbours: has.has(4) ? s.neighbours : from.neighbours,
  };
  return withRulesOf(out, from);
}

/** The dump lines a list of writers can change (the baseline its batch needs), in order. */
export function dumpsFor(argvs: ReadonlyArray<readonly string[]>): number[] {
  const lines = new Set<number>();
  for (const argv of argvs) for (const k of dumpAfter(argv)) lines.add(k);
  return [...lines].sort((a, b) => a - b);
}

/** What to run. */
export interface BatchInput {
  ipPath: string;
  nsenterPath: string;
  netns: string;
  /** The commands, as `ip` words (each {@link batchable}). */
  commands: ReadonlyArray<{ source: string; argv: readonly string[] }>;
  /** Kill the process after this many milliseconds. */
  timeoutMs: number;
  /** Keep at most this many bytes of stdout (beyond it the run is an error) and of stderr. */
  maxOutputBytes: number;
  /**
   * The dump lines read before the first command (default all): only what the commands can change
   * ({@link dumpsFor}); the snapshots have the other kinds empty (see {@link fillFrom}).
   */
  baseline?: readonly number[];
}

/** What the one process said. */
export interface BatchOutcome {
  /** The netns before the first command (absent: the process printed nothing usable). */
  before?: NetnsSnapshot;
  /** The dump lines `before` and `after` have (the other kinds are empty in them). */
  dumped: readonly number[];
  /** One result per command that started, in order. */
  results: CommandResult[];
  /** The netns after each started command (a read's is the one before it); a failed command has none. */
  after: NetnsSnapshot[];
  /** Index of the command that failed or was killed, if any. */
  failedAt?: number;
  timedOut: boolean;
  durationMs: number;
}

/**
 * The exit code `ip` would have given the failed line on its own (a batch exits 1 for any of them): 2 when the
 * kernel refused the request (`RTNETLINK answers: …`, an extended ack `Error: …`), else 1.
 */
function ownExitCode(stderr: string): number {
  return /^(RTNETLINK answers|Error:)/m.test(stderr) ? 2 : 1;
}

/** `Command failed -:N` as a whole line: the batch line that failed (the last one, without `-force`). */
const FAILED_LINE = /^Command failed -:(\d+)$/;

/**
 * Runs the batch. Never throws for the commands' own failures; throws {@link DumpError} when the process cannot
 * start or its output cannot be read (too large, a dump that is not JSON).
 *
 * @param input what and where
 * @returns per-command results and the snapshots around them
 */
export async function runBatch(input: BatchInput): Promise<BatchOutcome> {
  const started = performance.now();
  const baseline = input.baseline ?? ALL_DUMPS;
  const lines: string[] = baseline.map((k) => DUMP_LINES[k]);
  /** Batch line (1-based) → command index, and per command the stdout documents it is followed by. */
  const lineOf: number[] = [];
  const reads: boolean[] = [];
  const dumped: (readonly number[])[] = [];
  for (const c of input.commands) {
    lines.push(c.argv.join(" "));
    lineOf.push(lines.length);
    const read = isRead(c.argv);
    reads.push(read);
    dumped.push(read ? [] : dumpAfter(c.argv).filter((k) => baseline.includes(k)));
    lines.push(...dumped[dumped.length - 1].map((k) => DUMP_LINES[k]));
  }
  let stdout: Uint8Array,
    outOver: boolean,
    stderrBytes: Uint8Array,
    status: Deno.CommandStatus,
    timedOut: boolean;
  try {
    ({ stdout, stdoutOver: outOver, stderr: stderrBytes, status, timedOut } = await runIpProcess({
      ...input,
      args: ["-j", "-d", "-batch", "-"],
      stdin: lines.join("\n") + "\n",
      maxStdout: input.maxOutputBytes,
      maxStderr: 64 * 1024,
    }));
  } catch (e) {
    throw new DumpError(`could not start ${input.nsenterPath}`, { cause: e });
  }
  if (outOver) throw new DumpError(`ip -batch printed more than ${input.maxOutputBytes} bytes`);
  const durationMs = Math.round((performance.now() - started) * 100) / 100;
  const stderr = new TextDecoder().decode(stderrBytes);
  const docsText = new TextDecoder().decode(stdout).split("\n").filter((l) => l.trim() !== "");
  const docs = parseDocuments(docsText.join("\n"), docsText.length, "ip -j -d -batch");

  // Where it stopped: the failing line ip named, else (a parse error ends the process, a kill) the first command
  // whose documents are not all there.
  const marker = stderr.split("\n").map((l) => FAILED_LINE.exec(l.trim())).filter((m) => m !== null).pop();
  const failedLine = marker ? Number(marker[1]) : undefined;
  const out: BatchOutcome = { results: [], after: [], dumped: baseline, timedOut, durationMs };
  let at = 0;
  /** The next `n` documents (and their raw lines), or undefined when the output ends before them. */
  const take = (n: number): unknown[] | undefined => {
    if (at + n > docs.length) return undefined;
    const d = docs.slice(at, at + n);
    at += n;
    return d;
  };
  const share = Math.round((durationMs / Math.max(1, input.commands.length)) * 100) / 100;
  const dump = take(baseline.length);
  if (!dump) {
    // The baseline never came (nsenter could not enter the netns, or a dump line failed): ip flushes its output
    // after every batch line, so no command ran. The first command carries the process's failure.
    if (input.commands.length > 0) {
      out.results.push({
        command: input.commands[0].source,
        argv: [...input.commands[0].argv],
        exitCode: timedOut ? null : (status.code || 1),
        signal: timedOut ? "SIGKILL" : null,
        timedOut,
        durationMs,
        stdout: "",
        stderr: stderr.trim() || "the netns could not be dumped before the list",
        truncated: false,
      });
      out.failedAt = 0;
    }
    return out;
  }
  const docsNow: unknown[] = DUMP_LINES.map(() => []);
  baseline.forEach((k, j) => docsNow[k] = dump[j]);
  out.before = buildSnapshot(input.netns, dumpsOf(docsNow));
  let state = out.before;
  const stderrText = stderr.split("\n").filter((l) => !FAILED_LINE.test(l.trim())).join("\n").trim();
  const result = (i: number, ok: boolean, stdoutText: string): CommandResult => ({
    command: input.commands[i].source,
    argv: [...input.commands[i].argv],
    exitCode: ok
      ? 0
      : timedOut
      ? null
      : failedLine !== undefined
      ? ownExitCode(stderrText)
      : (status.code || 1),
    signal: ok ? null : timedOut ? "SIGKILL" : null,
    timedOut: !ok && timedOut,
    durationMs: share,
    stdout: stdoutText,
    stderr: ok ? "" : stderrText,
    truncated: false,
  });
  for (let i = 0; i < input.commands.length; i++) {
    if (failedLine !== undefined && lineOf[i] === failedLine) {
      out.results.push(result(i, false, ""));
      out.failedAt = i;
      return out;
    }
    const line = at;
    const printed = reads[i] ? take(1) : [];
    const after = printed && !reads[i] ? take(dumped[i].length) : printed ? [] : undefined;
    if (printed === undefined || after === undefined) {
      if (status.success && !timedOut) throw new DumpError("ip -j -d -batch: fewer documents than lines");
      out.results.push(result(i, false, ""));
      out.failedAt = i;
      return out;
    }
    if (!reads[i]) {
      dumped[i].forEach((k, j) => docsNow[k] = after[j]);
      state = buildSnapshot(input.netns, dumpsOf(docsNow));
    }
    out.results.push(result(i, true, reads[i] ? docsText[line] + "\n" : ""));
    out.after.push(state);
  }
  if (!status.success || timedOut) {
    // Everything printed, yet the process failed (a dump line itself, or killed at the very end).
    out.failedAt = input.commands.length - 1;
    out.results[out.failedAt] = result(out.failedAt, false, out.results[out.failedAt].stdout);
    out.after.pop();
  }
  return out;
}
