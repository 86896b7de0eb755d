/**
 * The CNI_* environment a runtime passes (SPEC "Parameters"), checked the way libcni's skel checks it.
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";
import { netnsPathProblem, normalizeNetnsPath, type OwnProcesses, ownProcesses } from "./netns_path.ts";

/** The verbs of the spec, spelled exactly (libcni's skel refuses anything else with code 4). */
export const CNI_VERBS: readonly string[] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

/** What the runtime told the plugin through the environment. */
export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
}

/** Which variables each verb needs (skel's table; STATUS and GC need only CNI_COMMAND). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/**
 * Reads and checks the CNI environment; code 4 names every missing or invalid variable. `CNI_COMMAND` must be
 * one of {@link CNI_VERBS} exactly. On ADD, `CNI_NETNS` is normalised ({@link normalizeNetnsPath}) and refused
 * when it names (or may name) the plugin's own network namespace ({@link netnsPathProblem}).
 *
 * @param getenv Reads one variable.
 * @param own The plugin's own processes (default: this process and its parent).
 * @returns The environment.
 * @example
 * ```ts
 * const env = readCniEnv((n) => Deno.env.get(n));
 * ```
 */
export function readCniEnv(
  getenv: (name: string) => string | undefined,
  own: OwnProcesses = ownProcesses(),
): CniEnv {
  const get = (n: string): string => getenv(n) ?? "";
  const env: CniEnv = {
    command: get("CNI_COMMAND"),
    containerId: get("CNI_CONTAINERID"),
    netns: get("CNI_NETNS"),
    ifname: get("CNI_IFNAME"),
    args: get("CNI_ARGS"),
    path: get("CNI_PATH"),
  };
  if (env.command !== "" && !CNI_VERBS.includes(env.command)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      // libcni's wording; a value with blanks or controls is quoted so it cannot garble the message.
      `unknown CNI_COMMAND: ${/^[!-~]+$/.test(env.command) ? env.command : JSON.stringify(env.command)} ` +
        `(expected one of ${CNI_VERBS.join(", ")}, exactly)`,
    );
  }
  const missing = ["CNI_COMMAND", ...(REQUIRED[env.command] ?? [])].filter((n) => get(n) === "");
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(",")}] missing`);
  }
  if (env.command in REQUIRED) {
    if (!CONTAINER_ID.test(env.containerId)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        "invalid characters in CNI_CONTAINERID",
        env.containerId,
      );
    }
    const bad = interfaceNameProblem(env.ifname);
    if (bad) throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_IFNAME: ${bad}`, env.ifname);
  }
  if (env.command === "ADD") {
    // Pure string work (no stat, no spawn): the no-annotation ADD pays nothing measurable for it.
    const problem = netnsPathProblem(env.netns, own);
    if (problem) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `invalid CNI_NETNS ${
          JSON.stringify(env.netns)
        }: it ${problem}; chainsaw runs commands only in a pod's ` +
          "network namespace, never in its own (the host's)",
      );
    }
    env.netns = normalizeNetnsPath(env.netns);
  }
  return env;
}

/** Why `name` is not a valid Linux interface name (skel's rules), or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return "interface name is empty";
  if (new TextEncoder().encode(name).length > 15) return "interface name is too long (max 15 bytes)";
  if (name === "." || name === "..") return "interface name is . or ..";
  if (/[/:\s]/u.test(name)) return "interface name contains / or : or whitespace characters";
  return undefined;
}

/** The Kubernetes pod identity runtimes pass in CNI_ARGS (and `args.cni`). */
export interface PodRef {
  namespace: string;
  name: string;
  /** Empty when the runtime did not pass K8S_POD_UID. */
  uid: string;
}

/** Parses CNI_ARGS (`K=V;K=V`) into a map; malformed pairs are code 4. */
export function parseCniArgs(args: string): Map<string, string> {
  const out = new Map<string, string>();
  if (args.trim() === "") return out;
  for (const pair of args.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_ARGS pair "${pair}": expected KEY=VALUE`);
    }
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/**
 * The pod identity from CNI_ARGS, with `args.cni` from the config as a fallback for keys CNI_ARGS lacks.
 * Undefined when there is no namespace and name (not a Kubernetes pod: nothing for chainsaw to do).
 */
export function podRefFrom(cniArgs: Map<string, string>, confArgs: unknown): PodRef | undefined {
  const cni = typeof confArgs === "object" && confArgs !== null
    ? (confArgs as Record<string, unknown>).cni
    : undefined;
  const fromConf = (k: string): string => {
    const v = typeof cni === "object" && cni !== null ? (cni as Record<string, unknown>)[k] : undefined;
    return typeof v === "string" ? v : "";
  };
  const get = (k: string): string => cniArgs.get(k) || fromConf(k);
  const namespace = get("K8S_POD_NAMESPACE");
  const name = get("K8S_POD_NAME");
  if (!namespace || !name) return undefined;
  return { namespace, name, uid: get("K8S_POD_UID") };
}
