/**
 * Whether a network namespace path exists, as far as chainsaw can tell without entering it: the plugin checks
 * CNI_NETNS before running commands (code 3 when it is gone), the daemon its attachments' namespaces.
 *
 * Named namespaces (`/var/run/netns/cni-…`, the pinned paths containerd and CRI-O pass) are checked with a
 * `stat`. `/proc/PID/ns/net` paths (cri-dockerd) cannot be checked: Deno refuses any access below `/proc/PID`
 * without `--allow-all`, even `stat` — and in the DaemonSet, which does not share the host's PID namespace, such
 * a path would name the daemon container's own processes anyway. They are "unknown": kept until the runtime's
 * DEL or until their pod leaves the node, and never re-applied (see {@link isProcNetns}).
 *
 * Paths are normalised first ({@link normalizeNetnsPath}): `//proc/self/ns/net` is a `/proc` path too.
 * @module
 */
import { isUnderProc, normalizeNetnsPath } from "../cni/netns_path.ts";

/** What is known about a netns path. */
export type NetnsState = "present" | "gone" | "unknown";

/**
 * True for `/proc/…` namespace paths (`/proc/PID/ns/net`, `/proc/self/…`) in any spelling (`//proc/…`,
 * `/proc/./…`), and for paths whose place a lexical check cannot tell (relative, or with `..`).
 *
 * @param path A netns path as given.
 * @returns Whether the path is (or may be) below `/proc`.
 * @example
 * ```ts
 * isProcNetns("//proc/self/ns/net"); // true
 * isProcNetns("/var/run/netns/cni-1"); // false
 * ```
 */
export function isProcNetns(path: string): boolean {
  return !path.startsWith("/") || path.split("/").includes("..") || isUnderProc(path);
}

/**
 * The state of the namespace at `path`: "gone" only when it certainly does not exist (NotFound), "unknown" for
 * `/proc` paths and paths the daemon may not look at, else "present".
 */
export async function netnsState(
  path: string,
  stat: (path: string) => Promise<unknown> = Deno.stat,
): Promise<NetnsState> {
  if (path === "" || isProcNetns(path)) return "unknown";
  try {
    await stat(normalizeNetnsPath(path));
    return "present";
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "gone" : "unknown";
  }
}
