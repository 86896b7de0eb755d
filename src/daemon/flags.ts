/**
 * The daemon's flag defaults, light (only the import-free host paths) so the CLI can show them without loading
 * the daemon. They are the paths as mounted in the DaemonSet (`deployments/daemonset.yaml`);
 * tests/deployments_test.ts checks that the manifests agree, and options_test.ts that they match the plugin's
 * own defaults (src/host_paths.ts).
 * @module
 */
import { DEFAULT_ATTACHMENTS_PATH, DEFAULT_DAEMON_SOCKET } from "../host_paths.ts";

/** Default flag values of `chainsaw daemon` and `chainsaw install`. */
export const DAEMON_DEFAULTS = {
  /** The daemon socket plugins hand ADDs to (the plugin's `daemonSocket` default, DEFAULT_DAEMON_SOCKET). */
  socket: DEFAULT_DAEMON_SOCKET,
  /**
   * Health, readiness and metrics. Loopback: in a hostNetwork DaemonSet a port opens on every address of the
   * node, and the kubelet (which runs the probes on the node) reaches loopback anyway. 9651 is clear of the
   * kubelet (10248-10259), kube-proxy (10249, 10256), node-exporter (9100), Calico (9099, 9091) and Cilium
   * (9876, 9879, 9962-9964).
   */
  healthAddr: "127.0.0.1:9651",
  /** The host's /opt/cni/bin as mounted in the pod. */
  cniBinDir: "/host/opt/cni/bin",
  /** The host's /etc/cni/net.d as mounted in the pod. */
  cniConfDir: "/host/etc/cni/net.d",
  /** Every pod's service account directory (SERVICE_ACCOUNT_DIR). */
  serviceAccountDir: "/var/run/secrets/kubernetes.io/serviceaccount",
  /** Safety-net re-check of the service account, besides watching it. */
  kubeconfigPollSeconds: 30,
  logFormat: "human",
  ringSize: 1000,
  /** 32 MiB of JSON: the ring's memory bound whatever the reports' size. */
  ringMaxBytes: 32 * 1024 * 1024,
  /** Time between SIGTERM (readyz turns 503) and closing the listeners. */
  shutdownDelaySeconds: 2,
  /** The attachments state file (DEFAULT_ATTACHMENTS_PATH), on the host's /var/lib/chainsaw. */
  stateFile: DEFAULT_ATTACHMENTS_PATH,
  /**
   * The node policy directory: the host's /etc/cni/chainsaw (NODE_POLICY_DIR, where the plugin reads its
   * ceiling) as mounted. The daemon's ADDs and re-applies are checked against it; `--policy-configmap-dir`
   * mirrors into it.
   */
  policyDir: "/host/etc/cni/chainsaw",
  /** Connections served at once on the health port (probes and scrapes need a few); the excess is closed. */
  healthMaxConnections: 64,
  /** Connections served at once on the daemon socket (plugins, `chainsaw logs`); the excess is closed. */
  socketMaxConnections: 256,
  /** Both listeners: how long a connection may wait with no request. */
  idleTimeoutSeconds: 10,
  /** Both listeners: from a request's first byte to the end of its head. */
  headerTimeoutSeconds: 5,
  /** Both listeners: for a request's whole body. */
  bodyTimeoutSeconds: 10,
  /** Both listeners: for any one write of an answer (a peer that stops reading). */
  writeTimeoutSeconds: 30,
  /** Bytes of new reports a `chainsaw logs -f` may fall behind before the daemon drops it. */
  followerMaxBytes: 4 * 1024 * 1024,
  /** Which pods get the condition chainsaw.cni.cncf.io/applied: those listing it in spec.readinessGates. */
  podCondition: "gated",
} as const;

/** The values of `--pod-condition`. */
export const POD_CONDITION_MODES = ["gated", "all", "off"] as const;
/** Which pods get the pod condition (`--pod-condition`). */
export type ConditionMode = typeof POD_CONDITION_MODES[number];

/** The environment variable the node name defaults to (the DaemonSet sets it from `spec.nodeName`). */
export const NODE_NAME_ENV = "NODE_NAME";
