/**
 * The flags of `chainsaw daemon`, each defined once: {@link DAEMON_FLAGS} is the table (flag, attribute, type,
 * default, help) from which everything else is generated — the commander options (src/cli/daemon.ts and, for the
 * rows marked `install`, src/cli/install.ts), the options schema and its type (options.ts: `z.infer`), the
 * defaults ({@link DAEMON_DEFAULTS}), and the flags table of docs/daemon.md, which options_test.ts compares with
 * it. Adding a flag is one row here (then paste the table the test prints into docs/daemon.md).
 *
 * The path defaults are the paths as mounted in the DaemonSet (`deployments/daemonset.yaml`);
 * tests/deployments_test.ts checks that the manifests agree, and options_test.ts that they match the plugin's
 * own defaults (src/host_paths.ts).
 * @module
 */
import * as z from "zod/mini";
import { DEFAULT_ATTACHMENTS_PATH, DEFAULT_DAEMON_SOCKET } from "../host_paths.ts";
import { LOG_FORMATS } from "./reports/log_format.ts";

/** The values of `--pod-condition`. */
export const POD_CONDITION_MODES = ["gated", "all", "off"] as const;
/** Which pods get the pod condition (`--pod-condition`). */
export type ConditionMode = typeof POD_CONDITION_MODES[number];

/** The environment variable the node name defaults to (the DaemonSet sets it from `spec.nodeName`). */
export const NODE_NAME_ENV = "NODE_NAME";

// ---------------------------------------------------------------------------------------------------------------
// The value types flags take. Each accepts what commander hands over (a string) and what a caller passes in
// (the default, a number), and says what is wrong in words that follow the flag's name.

const absolutePath = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));

/** A number from `min` to `max` (whole when `int`), given as a number or its decimal text. */
function numberIn(min: number, max: number, int: boolean) {
  return z.pipe(
    z.union([z.number(), z.string().check(z.regex(/^\d+(\.\d+)?$/, "must be a number"))]),
    z.transform((v) => Number(v)),
  ).check(
    z.refine(
      (n) => n >= min && n <= max && (!int || Number.isInteger(n)),
      `must be ${int ? "a whole number " : ""}from ${min} to ${max}`,
    ),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

/** A TCP listen address. */
export interface ListenAddr {
  hostname: string;
  port: number;
}

/** Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses). Port 0 picks a free port. */
export function parseHealthAddr(s: string): ListenAddr {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`invalid address ${JSON.stringify(s)}: want HOST:PORT (IPv6 as [ADDR]:PORT)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in ${JSON.stringify(s)}`);
  const hostname = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]);
  return { hostname, port };
}

/** `http://HOST:PORT` for a listen address (IPv6 bracketed). */
export function listenUrl(a: ListenAddr): string {
  return `http://${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}

const listenAddress = z.string().check(z.refine((s) => {
  try {
    parseHealthAddr(s);
    return true;
  } catch {
    return false;
  }
}, "must be HOST:PORT (IPv6 as [ADDR]:PORT)"));

const nodeName = z.string().check(
  z.regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Kubernetes node name"),
);

// ---------------------------------------------------------------------------------------------------------------
// The table.

/** One flag of `chainsaw daemon`. */
export interface DaemonFlag<A extends string = string, T extends z.ZodMiniType = z.ZodMiniType, D = unknown> {
  /** As commander reads it: `--name <arg>` takes a value, `--no-name` switches a default-true boolean off. */
  readonly flag: string;
  /** The option's attribute (its name in DaemonOptions). */
  readonly attribute: A;
  /** The value's type: what is accepted and what it decodes to. */
  readonly type: T;
  /** The value when the flag is not given; undefined: the option is optional. */
  readonly default: D;
  /** What it does, for `--help` and docs/daemon.md. */
  readonly help: string;
  /** docs/daemon.md's text when it says more than `help` (Markdown). */
  readonly doc?: string;
  /** The default as docs/daemon.md (and `--help`, where commander has none) shows it, when not the value. */
  readonly defaultText?: string;
  /** The values, shown in `--help` and docs/daemon.md. */
  readonly choices?: readonly string[];
  /** An environment variable the value defaults to when the flag is not given (empty: not set). */
  readonly env?: string;
  /** `chainsaw install` takes the flag too. */
  readonly install?: boolean;
}

/** A row; `default` typed by the value's type. */
function flag<
  const A extends string,
  T extends z.ZodMiniType,
  const D extends z.output<T> | undefined = undefined,
>(
  row: Omit<DaemonFlag<A, T, D>, "default"> & { default?: D },
): DaemonFlag<A, T, D> {
  return { ...row, default: row.default as D };
}

/** Every flag of `chainsaw daemon`, in the order of `--help` and docs/daemon.md. */
export const DAEMON_FLAGS = [
  flag({
    flag: "--cni-bin-dir <dir>",
    attribute: "cniBinDir",
    type: absolutePath,
    default: "/host/opt/cni/bin",
    help: "the host's CNI bin dir as mounted in the pod; the plugin is installed here",
    install: true,
  }),
  flag({
    flag: "--cni-conf-dir <dir>",
    attribute: "cniConfDir",
    type: absolutePath,
    default: "/host/etc/cni/net.d",
    help:
      "the host's CNI config dir as mounted; the plugin kubeconfig goes to chainsaw.d/chainsaw.kubeconfig",
    doc: "the host's CNI config dir as mounted; the kubeconfig goes to `chainsaw.d/chainsaw.kubeconfig`",
    install: true,
  }),
  flag({
    flag: "--service-account-dir <dir>",
    attribute: "serviceAccountDir",
    type: absolutePath,
    default: "/var/run/secrets/kubernetes.io/serviceaccount",
    help: "the service account whose token and CA go into the plugin kubeconfig",
    doc: "token and `ca.crt` for the plugin kubeconfig",
    install: true,
  }),
  flag({
    flag: "--source <path>",
    attribute: "source",
    type: absolutePath,
    help: "the file installed as the plugin",
    doc: "the file installed as the plugin (see below)",
    defaultText: "this program",
    install: true,
  }),
  flag({
    flag: "--no-install",
    attribute: "install",
    type: z.boolean(),
    default: true,
    help: "do not install the plugin binary",
    defaultText: "(install)",
  }),
  flag({
    flag: "--no-kubeconfig",
    attribute: "kubeconfig",
    type: z.boolean(),
    default: true,
    help: "do not write the plugin kubeconfig (needed outside a pod)",
    defaultText: "(write it)",
    install: true,
  }),
  flag({
    flag: "--socket <path>",
    attribute: "socket",
    type: absolutePath,
    default: DEFAULT_DAEMON_SOCKET,
    help: "the daemon socket: ADDs, attachments, reports, the logs API (the plugin's daemonSocket default)",
    doc: "the daemon socket: ADDs, attachments, reports, the logs API (the plugin's `daemonSocket` default)",
  }),
  flag({
    flag: "--health-addr <host:port>",
    attribute: "healthAddr",
    type: listenAddress,
    // Loopback: in a hostNetwork DaemonSet a port opens on every address of the node, and the kubelet (which runs
    // the probes on the node) reaches loopback anyway. 9651 is clear of the kubelet (10248-10259), kube-proxy
    // (10249, 10256), node-exporter (9100), Calico (9099, 9091) and Cilium (9876, 9879, 9962-9964).
    default: "127.0.0.1:9651",
    help:
      "/healthz, /readyz, /metrics; [::1]:9651 for IPv6, :9651 for all addresses, port 0 for any free port",
    doc:
      "`/healthz`, `/readyz`, `/metrics`; `[::1]:9651` for IPv6, `:9651` for all addresses, port 0 for any " +
      "free port",
  }),
  flag({
    flag: "--log-format <format>",
    attribute: "logFormat",
    type: oneOf(LOG_FORMATS),
    choices: LOG_FORMATS,
    default: "human",
    help: "how reports are printed on stdout",
  }),
  flag({
    flag: "--ring-size <n>",
    attribute: "ringSize",
    type: numberIn(1, 1_000_000, true),
    default: 1000,
    help: "recent reports kept for the logs API",
  }),
  flag({
    flag: "--ring-max-bytes <n>",
    attribute: "ringMaxBytes",
    type: numberIn(1024, 4 * 1024 * 1024 * 1024, true),
    default: 32 * 1024 * 1024,
    defaultText: "`33554432` (32 MiB)",
    help: "memory bound of the kept reports (their JSON size); the oldest go first",
  }),
  flag({
    flag: "--kubeconfig-poll-seconds <s>",
    attribute: "kubeconfigPollSeconds",
    type: numberIn(0.01, 86400, false),
    default: 30,
    help: "safety-net re-check of the service account, besides watching it",
  }),
  flag({
    flag: "--shutdown-delay-seconds <s>",
    attribute: "shutdownDelaySeconds",
    type: numberIn(0, 3600, false),
    default: 2,
    help: "after SIGTERM, how long /readyz answers 503 before the listeners close",
    doc: "after SIGTERM, how long `/readyz` answers 503 before the listeners close",
  }),
  flag({
    flag: "--node-name <name>",
    attribute: "nodeName",
    type: nodeName,
    env: NODE_NAME_ENV,
    defaultText: `\`$${NODE_NAME_ENV}\``,
    help:
      "this node: the pod watch's spec.nodeName and the Events' source; without it the pod features are off",
    doc:
      "this node: the pod watch's `spec.nodeName` and the Events' source; without it the pod features are off",
  }),
  flag({
    // Not `kubeconfig`: that is `--no-kubeconfig`'s (do not write the plugin kubeconfig).
    flag: "--kubeconfig <path>",
    attribute: "apiKubeconfig",
    type: absolutePath,
    defaultText: "the in-cluster service account",
    help: "the daemon's own API credentials (pod watch, Events); not to be confused with --no-kubeconfig",
    doc: "the daemon's own API credentials (pod watch, Events); not to be confused with `--no-kubeconfig`",
  }),
  flag({
    flag: "--state-file <path>",
    attribute: "stateFile",
    type: absolutePath,
    default: DEFAULT_ATTACHMENTS_PATH,
    help: "the attachments (pod interfaces set up on this node), kept across restarts",
  }),
  flag({
    flag: "--policy-dir <dir>",
    attribute: "policyDir",
    type: absolutePath,
    // The host's /etc/cni/chainsaw (NODE_POLICY_DIR, where the plugin reads its ceiling) as mounted.
    default: "/host/etc/cni/chainsaw",
    help:
      "the host's node policy directory as mounted (the plugin reads /etc/cni/chainsaw/policy.json there); " +
      "the ADDs the daemon runs and its re-applies are checked against it, like the plugin's",
    doc: "the host's node policy directory as mounted (the plugin reads `/etc/cni/chainsaw/policy.json` " +
      "there); the ADDs the daemon runs and its re-applies are checked against it, like the plugin's",
  }),
  flag({
    flag: "--policy-configmap-dir <dir>",
    attribute: "policyConfigmapDir",
    type: absolutePath,
    defaultText: "(none)",
    help:
      "where the chainsaw-policy ConfigMap is mounted (the manifests: /etc/cni/chainsaw): its policy is " +
      "validated and mirrored as JSON into --policy-dir every 10 s; an invalid one is logged and the last good " +
      "one stays; no policy there removes the node's files (default policy)",
    doc:
      "where the `chainsaw-policy` ConfigMap is mounted (the manifests: `/etc/cni/chainsaw`): its policy is " +
      "validated and mirrored as JSON into `--policy-dir` every 10 s; an invalid one is logged and the last " +
      "good one stays; no policy there removes the node's files (default policy)",
  }),
  flag({
    flag: "--no-pod-watch",
    attribute: "podWatch",
    type: z.boolean(),
    default: true,
    defaultText: "(watch)",
    help: "no pod watch: no pod cache (an ADD's pod is read from the API server), no live re-apply, no pod " +
      "condition",
  }),
  flag({
    flag: "--no-events",
    attribute: "events",
    type: z.boolean(),
    default: true,
    defaultText: "(record them)",
    help: "do not post Kubernetes Events",
  }),
  flag({
    flag: "--pod-condition <mode>",
    attribute: "podCondition",
    type: oneOf(POD_CONDITION_MODES),
    choices: POD_CONDITION_MODES,
    // Those listing it in spec.readinessGates.
    default: "gated",
    help: "the pod condition chainsaw.cni.cncf.io/applied (docs/reapply.md): on pods that list it in " +
      "spec.readinessGates (gated), on every non-hostNetwork pod of the node (all), or never (off); needs the " +
      "pod watch",
    doc: "the pod condition `chainsaw.cni.cncf.io/applied` (docs/reapply.md): on pods that list it in " +
      "`spec.readinessGates` (`gated`), on every non-hostNetwork pod of the node (`all`), or never (`off`); " +
      "needs the pod watch",
  }),
  flag({
    flag: "--drift-check-seconds <s>",
    attribute: "driftCheckSeconds",
    type: numberIn(0, 86400, false),
    default: 60,
    help: "how often every attachment's effect (declarative mode) is checked for drift, spread over the " +
      "interval (chain key drift: report, heal or off; docs/reapply.md); 0 turns the checks off",
    doc: "how often every attachment's effect (declarative mode) is checked for drift, spread over the " +
      "interval (chain key `drift`: `report`, `heal` or `off`; [docs/reapply.md](reapply.md#drift)); `0` turns " +
      "the checks off",
  }),
  flag({
    flag: "--health-max-connections <n>",
    attribute: "healthMaxConnections",
    type: numberIn(1, 100_000, true),
    default: 64,
    help: "connections the health port serves at once; at the cap a newcomer evicts the connection longest " +
      "without a complete request (chainsaw_http_connections_evicted_total), and with all of them busy new " +
      "ones wait in the kernel's backlog",
    doc: "connections the health port serves at once; at the cap a newcomer evicts the connection longest " +
      "without a complete request (`chainsaw_http_connections_evicted_total`), and with all of them busy new " +
      "ones wait in the kernel's backlog ([Floods and slow readers](#floods-and-slow-readers))",
  }),
  flag({
    flag: "--socket-max-connections <n>",
    attribute: "socketMaxConnections",
    type: numberIn(1, 100_000, true),
    default: 256,
    help:
      "connections the daemon socket serves at once (plugins, chainsaw logs, chainsaw explain); at the cap " +
      "as for the health port (beyond the backlog a plugin runs its ADD itself)",
    doc:
      "connections the daemon socket serves at once (plugins, `chainsaw logs`, `chainsaw explain`); at the " +
      "cap as for the health port (beyond the backlog a plugin runs its ADD itself)",
  }),
  flag({
    flag: "--idle-timeout-seconds <s>",
    attribute: "idleTimeoutSeconds",
    type: numberIn(0.01, 3600, false),
    default: 10,
    help: "both listeners: a connection that sends no request for this long (new or kept alive) is closed",
  }),
  flag({
    flag: "--header-timeout-seconds <s>",
    attribute: "headerTimeoutSeconds",
    type: numberIn(0.01, 3600, false),
    default: 5,
    help: "both listeners: a request head not complete this long after its first byte is closed (slowloris)",
  }),
  flag({
    flag: "--body-timeout-seconds <s>",
    attribute: "bodyTimeoutSeconds",
    type: numberIn(0.01, 3600, false),
    default: 10,
    help: "both listeners: a request body not complete this long after its head is closed",
  }),
  flag({
    flag: "--write-timeout-seconds <s>",
    attribute: "writeTimeoutSeconds",
    type: numberIn(0.01, 3600, false),
    default: 30,
    help:
      "both listeners: a connection whose one write of an answer (or of a follow stream) does not complete " +
      "in this long is closed (a peer that stopped reading)",
  }),
  flag({
    flag: "--follower-max-bytes <n>",
    attribute: "followerMaxBytes",
    type: numberIn(1024, 1024 * 1024 * 1024, true),
    default: 4 * 1024 * 1024,
    defaultText: "`4194304` (4 MiB)",
    help: "a logs -f follower more than this many bytes of new reports behind is dropped with a final line",
    doc:
      "a `logs -f` follower more than this many bytes of new reports behind is dropped with a final line " +
      "(see [Floods and slow readers](#floods-and-slow-readers))",
  }),
] as const;

/** One row of {@link DAEMON_FLAGS}. */
export type DaemonFlagRow = typeof DAEMON_FLAGS[number];

type Defaults = {
  readonly [R in DaemonFlagRow as R["default"] extends undefined ? never : R["attribute"]]: R["default"];
};

/** The defaults of the flags that have one, by attribute (`chainsaw daemon`, `chainsaw install`, the CLI). */
export const DAEMON_DEFAULTS: Defaults = Object.fromEntries(
  DAEMON_FLAGS.filter((f) => f.default !== undefined).map((f) => [f.attribute, f.default]),
) as Defaults;
