/**
 * chainsaw as a library: the pieces the plugin and the daemon are built from, for tools that want to parse
 * annotations, check commands against a policy, or drive the plugin in-process.
 *
 * ```ts
 * import { defaultPolicy, evaluateList, parseAnnotation } from "./mod.ts";
 *
 * const commands = parseAnnotation('["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]', "net-a");
 * const verdict = evaluateList(commands, defaultPolicy(), { ifname: "net1", podInterfaces: ["eth0", "net1"] });
 * console.log(verdict.allowed); // true
 * ```
 * @module
 */

// The CNI protocol.
export {
  CniError,
  type CniErrorJson,
  ErrorCode,
  type ErrorCodeValue,
  toErrorJson,
} from "./src/cni/errors.ts";
export { checkVersion, compareVersions, LATEST_VERSION, SUPPORTED_VERSIONS } from "./src/cni/versions.ts";
export { type CniEnv, parseCniArgs, type PodRef, podRefFrom, readCniEnv } from "./src/cni/env.ts";
export { decodeNetConf, decodePrevResult, type NetConf, type PrevResult } from "./src/cni/config.ts";
export { type ChainsawConf, decodeChainsawConf } from "./src/wire/chain_conf.ts";
export { DEFAULT_DAEMON_SOCKET, DEFAULT_KUBECONFIG } from "./src/host_paths.ts";
export { type CmdArgs, type PluginIo, pluginMain, type VerbHandlers } from "./src/cni/skel.ts";
export { rawMember } from "./src/cni/raw_json.ts";
export { chainsawHandlers, type PluginDeps } from "./src/plugin/handlers.ts";

// Annotations and commands.
export { ANNOTATION, AnnotationError, parseAnnotation } from "./src/annotation/annotation.ts";
export {
  type AttachmentName,
  describeAttachment,
  type Resolution,
  resolveCommands,
  unmatchedKeys,
} from "./src/annotation/resolve.ts";
export {
  isLastAttachment,
  nadOfInterface,
  NETWORKS_ANNOTATION,
  parseNetworkSelection,
  type SelectedNetwork,
  SelectionError,
} from "./src/annotation/network_selection.ts";
export { tokenize, TokenizeError } from "./src/annotation/tokenize.ts";
export { CURRENT_INTERFACE, prepareCommand, type PreparedCommand } from "./src/annotation/prepare.ts";
export { type CommandResult, runInNetns, type RunnerOptions } from "./src/exec/runner.ts";

// Policy.
export { defaultPolicy } from "./src/policy/default_policy.ts";
export {
  type CommandVerdict,
  type EvalContext,
  evaluateCommand,
  evaluateList,
  type ListVerdict,
  type Rejection,
} from "./src/policy/evaluate.ts";
export { effectivePolicy, loadPolicy, NODE_POLICY_DIR, readNodePolicy } from "./src/policy/load.ts";
export { type Limits, type Policy, PolicyError } from "./src/policy/rules.ts";
export { normalize, type NormalizeResult } from "./src/policy/objects.ts";

// Kubernetes.
export { KubeApiError, KubeClient, type Pod } from "./src/kube/client.ts";
export { type Credentials, loadKubeconfig, parseKubeconfig } from "./src/kube/kubeconfig.ts";

// Reports.
export { formatHuman, type Report, type Verdict } from "./src/report/report.ts";

// Build.
export { permissionFlags } from "./src/permissions.ts";
export { VERSION } from "./src/version.ts";
