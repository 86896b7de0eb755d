/**
 * Which network namespace a path names, as far as its spelling tells: chainsaw runs annotation commands with
 * `nsenter --net=PATH`, so a path that names chainsaw's own namespace (the host's, for the plugin and for the
 * hostNetwork daemon) would turn a pod's annotation into commands on the host.
 *
 * The check is lexical: Deno refuses `stat` and `readlink` below `/proc/PID` without `--allow-all`, so the
 * namespace behind a path cannot be compared by inode. Repeated slashes, `.` segments and a trailing slash are
 * normalised away; then refused are:
 *
 * - relative paths (they depend on the working directory) and any `..` segment (`/proc/self/../self/ns/net`:
 *   what `..` leads to depends on symlinks, which a lexical check cannot follow);
 * - every `/proc` path other than `/proc/PID/ns/net` and `/proc/PID/task/TID/ns/net` with numeric ids: this
 *   covers `/proc/self/…`, `/proc/thread-self/…` and `/proc/net` (the opener's own namespace, whoever opens it);
 * - `/proc/PID/…` where PID (or TID) is the caller itself, its parent (the runtime that ran the plugin, or the
 *   daemon's parent) or 1 (init: the host's namespace when the plugin runs in the host's PID namespace, and the
 *   container's init — in the host's netns with hostNetwork — when the daemon runs in a container).
 *
 * What a lexical check cannot see, and is left to the (trusted) runtime: a named path (`/var/run/netns/NAME`)
 * that is a bind mount of, or a symlink to, the host's namespace (`ip netns attach NAME 1`), and the thread ids
 * of the caller's own threads (no runtime can know them before it starts the plugin).
 * @module
 */

/** The processes whose `/proc/PID/ns/net` is the caller's own namespace (init, PID 1, is always one). */
export interface OwnProcesses {
  /** The calling process. */
  readonly pid: number;
  /** Its parent. */
  readonly ppid: number;
}

/** The running process and its parent (no permission needed). */
export function ownProcesses(): OwnProcesses {
  return { pid: Deno.pid, ppid: Deno.ppid };
}

/**
 * `path` with repeated slashes collapsed and `.` segments and a trailing slash removed; `..` segments are kept
 * (see {@link netnsPathProblem}). Purely lexical: nothing is read.
 *
 * @param path A netns path as given (CNI_NETNS, or an attachment's).
 * @returns The normalised spelling.
 * @example
 * ```ts
 * normalizeNetnsPath("//proc/./self/ns/net/"); // "/proc/self/ns/net"
 * normalizeNetnsPath("/var/run/netns/cni-1"); // unchanged
 * ```
 */
export function normalizeNetnsPath(path: string): string {
  const absolute = path.startsWith("/");
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  return (absolute ? "/" : "") + segments.join("/");
}

/** True when the (normalised) path is `/proc` or below it. */
export function isUnderProc(path: string): boolean {
  const p = normalizeNetnsPath(path);
  return p === "/proc" || p.startsWith("/proc/");
}

const PROC_NETNS = /^\/proc\/(\d+)(?:\/task\/(\d+))?\/ns\/net$/;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `path` must not be entered as a pod's network namespace, or undefined when its spelling is acceptable.
 * The reason is a phrase to follow the path in a message ("… is not an absolute path").
 *
 * @param path A netns path as given.
 * @param own The caller's own processes (default: this process and its parent).
 * @returns The problem, or undefined.
 * @example
 * ```ts
 * netnsPathProblem("/proc/self/ns/net"); // "is a /proc path other than /proc/PID/ns/net …"
 * netnsPathProblem("/var/run/netns/cni-1"); // undefined
 * netnsPathProblem("/proc/4242/ns/net"); // undefined, unless 4242 is this process or its parent
 * ```
 */
export function netnsPathProblem(path: string, own: OwnProcesses = ownProcesses()): string | undefined {
  if (path === "") return "is empty";
  if (CONTROL.test(path)) return "contains control characters";
  if (!path.startsWith("/")) return "is not an absolute path";
  if (path.split("/").includes("..")) {
    return 'contains ".." (it cannot be resolved without following symlinks)';
  }
  const p = normalizeNetnsPath(path);
  if (!isUnderProc(p)) return undefined;
  const m = PROC_NETNS.exec(p);
  if (!m) {
    return "is a /proc path other than /proc/PID/ns/net (such as /proc/self or /proc/thread-self, " +
      "which name the opener's own namespace)";
  }
  for (const id of [m[1], m[2]]) {
    if (id === undefined) continue;
    const n = Number(id);
    const whose = n === 1
      ? "init (PID 1)"
      : n === own.pid
      ? `chainsaw itself (PID ${n})`
      : n === own.ppid
      ? `chainsaw's parent process (PID ${n})`
      : undefined;
    if (whose) return `names the network namespace of ${whose}, not a pod's`;
  }
  return undefined;
}
