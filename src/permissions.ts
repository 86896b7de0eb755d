/**
 * The one place that names chainsaw's permission set. `deno task compile` bakes these flags into the binary,
 * `deno task bundle` writes them into the launcher line, and every integration test runs the plugin and the
 * daemon under exactly these flags, so a missing permission fails a test instead of a pod.
 *
 * Why each scope is there is documented in docs/security.md ("Permissions").
 * @module
 */

/** Absolute paths the program may execute: iproute2's `ip` and util-linux's `nsenter`, wherever distros put them. */
export const RUN_PATHS: readonly string[] = [
  "/usr/sbin/ip",
  "/sbin/ip",
  "/usr/bin/ip",
  "/bin/ip",
  "/usr/bin/nsenter",
  "/usr/sbin/nsenter",
  "/bin/nsenter",
  "/sbin/nsenter",
];

/** Environment variables read: the CNI protocol, in-cluster API discovery, the node name, chainsaw's own. */
export const ENV_NAMES: readonly string[] = [
  "CNI_*",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
  "NODE_NAME",
  "CHAINSAW_*",
  // W3C trace context from newer libcni (src/cni/trace_context.ts): joined to the report, log line and Event.
  "TRACEPARENT",
  "TRACESTATE",
  // The npm `yaml` parser (YAML kubeconfigs and policy files only) reads these two debug switches through
  // node:process; without them a YAML parse throws NotCapable. Harmless to grant.
  "LOG_TOKENS",
  "LOG_STREAM",
  // commander (CLI mode only) reads these to decide on coloured help and errors.
  "FORCE_COLOR",
  "CLICOLOR_FORCE",
];

/** Paths read. */
export const READ_PATHS: readonly string[] = [
  "/etc/cni", // chain config dir: plugin kubeconfig (net.d/chainsaw.d), node policy ceiling (/etc/cni/chainsaw)
  "/etc/kubernetes/cni", // the same on OpenShift
  "/var/run/secrets/kubernetes.io/serviceaccount", // in-cluster credentials
  "/run/secrets/kubernetes.io/serviceaccount",
  "/run/chainsaw", // daemon socket, runtime files
  "/var/run/chainsaw",
  "/var/lib/chainsaw", // daemon state (attachments)
  "/run/netns", // named network namespaces (existence checks)
  "/var/run/netns",
  "/host", // daemon: the host's directories as mounted into the DaemonSet pod
  "/usr/local/bin/chainsaw", // the compiled binary reads itself to install into the host (Deno refuses /proc/self/exe)
  ...RUN_PATHS, // to find which of the candidate binaries exists (stat only)
];

/** Paths written (the daemon only; the plugin revokes write at start-up). */
export const WRITE_PATHS: readonly string[] = [
  "/run/chainsaw",
  "/var/run/chainsaw",
  "/var/lib/chainsaw",
  "/host",
];

/** The Deno flags, in order, shared by compile, bundle and the tests. */
export function permissionFlags(): string[] {
  return [
    `--allow-run=${RUN_PATHS.join(",")}`,
    `--allow-env=${ENV_NAMES.join(",")}`,
    `--allow-read=${READ_PATHS.join(",")}`,
    `--allow-write=${WRITE_PATHS.join(",")}`,
    // Unscoped net: the API server's address is only known at run time (kubeconfig / KUBERNETES_SERVICE_HOST),
    // and the daemon's health port is a flag. The plugin revokes nothing here; it only dials what it is given.
    "--allow-net",
    "--no-prompt",
  ];
}
