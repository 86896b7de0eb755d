/**
 * Every host path chainsaw knows by default, in one import-free module: the plugin, the daemon, the CLI and the
 * permission set (src/permissions.ts) take them from here, so a path is spelled once.
 * @module
 */

/** The daemon's unix socket: the plugin⇄daemon contract (src/wire) is served here. */
export const DEFAULT_DAEMON_SOCKET = "/run/chainsaw/chainsaw.sock";
/** The plugin's kubeconfig, written by `chainsaw daemon`. */
export const DEFAULT_KUBECONFIG = "/etc/cni/net.d/chainsaw.d/chainsaw.kubeconfig";
/** Where OpenShift keeps CNI configuration; tried when {@link DEFAULT_KUBECONFIG} does not exist. */
export const OPENSHIFT_KUBECONFIG = "/etc/kubernetes/cni/net.d/chainsaw.d/chainsaw.kubeconfig";
/** The node policy directory (the ceiling): `policy.json`, else `policy.yaml`/`policy.yml`. */
export const NODE_POLICY_DIR = "/etc/cni/chainsaw";
/** The daemon's attachment store. */
export const DEFAULT_ATTACHMENTS_PATH = "/var/lib/chainsaw/attachments.json";
/** Where the compiled binary is installed in the DaemonSet image (it reads itself to install). */
export const INSTALLED_BINARY = "/usr/local/bin/chainsaw";

/**
 * Where runtimes pin pods' network namespaces (containerd and CRI-O by default): the DaemonSet mounts the
 * host's `/var/run/netns` (HostToContainer), so the daemon can enter a netns only below these. Other paths
 * (`/proc/PID/ns/net`, containerd's `netns_mounts_under_state_dir`) are run by the plugin, on the host.
 */
export const PINNED_NETNS_DIRS: readonly string[] = ["/var/run/netns", "/run/netns"];
