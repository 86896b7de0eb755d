/**
 * The escape list: constructs that leave the pod's network namespace, run programs, or read files on the
 * host (its /proc included). They are rejected before any configured rule is looked at, whatever the policy
 * says: every built-in deny lives here, never in a policy's `deny` list (which a node file replaces).
 *
 * Checks are deliberately wider than iproute2 (e.g. `netn` is refused although iproute2 only accepts
 * `netns` there, and `xdp off` is refused with the rest of the XDP keywords): a false refusal costs an
 * annotation edit, a false acceptance costs the node.
 * @module
 */
import { matches, type Normalized } from "./objects.ts";

/** A hit on the escape list: a stable rule id (`escape:...`) and a human reason. */
export interface EscapeHit {
  readonly rule: string;
  readonly reason: string;
}

/** Stable ids of every escape rule, in the order they are checked. */
export const ESCAPE_RULES: readonly string[] = [
  "escape:global-netns",
  "escape:global-batch",
  "escape:global-force",
  "escape:global-all",
  "escape:netns-object",
  "escape:exec",
  "escape:reads-stdin",
  "escape:reads-file",
  "escape:reads-host-proc",
  "escape:link-netns",
  "escape:all-nsid",
  "escape:loads-program",
  "escape:monitor-unbounded",
  "escape:non-ascii",
  "escape:file-path",
];

const GLOBAL_ESCAPES: Readonly<Record<string, EscapeHit>> = {
  "-netns": {
    rule: "escape:global-netns",
    reason: "global option -netns (-n, --netns, ...) switches to another network namespace",
  },
  "-batch": {
    rule: "escape:global-batch",
    reason: "global option -batch (-b, ...) reads commands from a file",
  },
  "-force": { rule: "escape:global-force", reason: "global option -force only serves -batch" },
  "-all": {
    rule: "escape:global-all",
    reason: "global option -all (-a, ...) acts on every network namespace",
  },
};

/** Words that load BPF programs or name their object files (iplink_xdp.c, lwt `encap bpf`, lib/bpf_legacy.c). */
const PROGRAM_WORDS = new Set([
  "xdp",
  "xdpgeneric",
  "xdpdrv",
  "xdpoffload",
  "bpf",
  "obj",
  "object-file",
  "object-pinned",
  "pinned",
  "bytecode-file",
]);

/** Verbs that read a dump from standard input (`ip route restore`, `ip address showdump`, ...). */
const STDIN_VERBS = new Set(["restore", "showdump"]);

/**
 * Commands that read the host's /proc, /sys or cgroup files. The runner only enters the pod's network
 * namespace, so the mount and PID namespaces (and what these files describe) are the host's:
 * `ip -d tuntap show` scans /proc/PID/fdinfo of every host process for /dev/net/tun and reads
 * /sys/class/net (every verb of `tuntap` opens /dev/net/tun); `ip vrf identify PID` reads /proc/PID/cgroup;
 * `ip vrf pids NAME` lists the host processes of a VRF's cgroup.
 */
function readsHostProc(n: Normalized): string | undefined {
  if (n.object === "tuntap") {
    return "ip tuntap reads the host's /proc and /sys (it would list host processes) and opens /dev/net/tun";
  }
  if (n.object === "vrf" && (n.verb === "identify" || n.verb === "pids")) {
    return `ip vrf ${n.verb} reads the host's /proc and cgroup files (host processes)`;
  }
  return undefined;
}

/** Canonical objects/sub-objects that listen for events until killed. */
function isMonitor(n: Normalized): boolean {
  return n.verb === "monitor";
}

/** Whether `word` moves something into or refers to another namespace (`netns`, `link-netns`, `link-netnsid`). */
function isNetnsWord(word: string): boolean {
  if (word.length >= 4 && matches(word, "netns")) return true;
  return word.length >= 5 && (matches(word, "link-netns") || matches(word, "link-netnsid"));
}

/** Whether `word` is an address prefix, a number pair (`fwmark 0x1/0xff`, `realms 1/2`) or an MPLS label stack. */
function isSlashValue(word: string): boolean {
  return /^[0-9.]+\/[0-9.]+$/.test(word) ||
    /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/[0-9]+$/.test(word) ||
    /^(0x[0-9a-fA-F]+|[0-9]+)(\/(0x[0-9a-fA-F]+|[0-9]+))+$/.test(word);
}

/**
 * Whether `word` looks like a file path: it starts with `/`, `~`, `./` or `../`, is `.` or `..`, or contains
 * `/` without being an address prefix or number pair. (Interface names cannot contain `/`.)
 */
export function isPathLike(word: string): boolean {
  if (word === "." || word === "..") return true;
  if (/^(\/|~|\.\.?\/)/.test(word)) return true;
  return word.includes("/") && !isSlashValue(word);
}

/** Printable ASCII only: anything else is a look-alike or invisible character in a log line. */
function findNonAscii(words: readonly string[]): string | undefined {
  return words.find((w) => /[^\x21-\x7e]/.test(w));
}

/**
 * Checks the words alone, before or without normalisation: non-ASCII characters and file paths.
 * Returns the first hit, or undefined.
 */
export function checkRawEscapes(rawArgv: readonly string[]): EscapeHit | undefined {
  const odd = findNonAscii(rawArgv);
  if (odd !== undefined) {
    return {
      rule: "escape:non-ascii",
      reason: `"${JSON.stringify(odd).slice(1, -1)}" contains a character outside printable ASCII`,
    };
  }
  const path = rawArgv.find(isPathLike);
  if (path !== undefined) return { rule: "escape:file-path", reason: `"${path}" looks like a file path` };
  return undefined;
}

/** Checks global options (only they can switch namespace or read a batch file). */
export function checkGlobalEscapes(globals: readonly string[]): EscapeHit | undefined {
  for (const g of globals) {
    const hit = GLOBAL_ESCAPES[g];
    if (hit) return hit;
  }
  return undefined;
}

/** Options for {@link checkEscapes}. */
export interface EscapeOptions {
  /** The per-command timeout the runner enforces; monitors are only acceptable when it is finite. */
  readonly timeoutMs?: number;
}

/**
 * Returns the first escape construct in the normalised command `n` (whose raw words were `rawArgv`), or
 * undefined when there is none. Order: global options, the netns object, exec, stdin readers, file readers,
 * readers of the host's /proc, namespace keywords, all-nsid listeners, program loaders, unbounded monitors, non-ASCII, file paths.
 */
export function checkEscapes(
  n: Normalized,
  rawArgv: readonly string[],
  opts: EscapeOptions = { timeoutMs: 10_000 },
): EscapeHit | undefined {
  const global = checkGlobalEscapes(n.globals);
  if (global) return global;
  if (n.object === "netns") {
    return {
      rule: "escape:netns-object",
      reason: "ip netns (any spelling: net, netn, ...) manages other namespaces",
    };
  }
  if (n.verb === "exec" || n.args.includes("exec")) {
    return { rule: "escape:exec", reason: `"exec" runs a program (ip ${n.object} exec)` };
  }
  if (STDIN_VERBS.has(n.verb)) {
    return {
      rule: "escape:reads-stdin",
      reason: `ip ${n.object} ${n.verb} reads a dump from standard input`,
    };
  }
  if (n.kv.has("file")) {
    return { rule: "escape:reads-file", reason: `ip ${n.object} ... file reads a host file` };
  }
  const hostProc = readsHostProc(n);
  if (hostProc) return { rule: "escape:reads-host-proc", reason: hostProc };
  const nsWord = n.args.find(isNetnsWord);
  if (nsWord !== undefined) {
    return {
      rule: "escape:link-netns",
      reason: `"${nsWord}" moves or links an interface to another namespace`,
    };
  }
  if (n.kv.has("all-nsid") || n.args.some((w) => w.length >= 4 && matches(w, "all-nsid"))) {
    return {
      rule: "escape:all-nsid",
      reason: "all-nsid listens to events of other namespaces (the host's too)",
    };
  }
  const program = n.args.find((w) => PROGRAM_WORDS.has(w));
  if (program !== undefined) {
    return { rule: "escape:loads-program", reason: `"${program}" loads a BPF program from a file` };
  }
  if (
    isMonitor(n) && !(opts.timeoutMs !== undefined && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)
  ) {
    return {
      rule: "escape:monitor-unbounded",
      reason: "a monitor runs until killed and no timeout bounds it",
    };
  }
  return checkRawEscapes(rawArgv);
}
