/**
 * The pods, annotations and CNI arguments the benchmark's phases share.
 * @module
 */
import { randomHex } from "../tests/support/netns.ts";
import { makePod, type Pod } from "../tests/support/fake_apiserver.ts";

export const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
export const CAPABILITY = "io.kubernetes.cri.pod-annotations";
export const NODE_NAME = "bench-node";
export const POD = { namespace: "default", name: "bench-pod", uid: "bench-uid-1" };
export const CNI_ARGS =
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD.namespace};K8S_POD_NAME=${POD.name};K8S_POD_UID=${POD.uid}`;
export const ONE_COMMAND = JSON.stringify(["ip route add 192.0.2.0/24 dev CURRENT_INTERFACE"]);
export const FIVE_COMMANDS = JSON.stringify([
  "ip route add 192.0.2.0/26 dev CURRENT_INTERFACE",
  "ip route add 192.0.2.64/26 dev CURRENT_INTERFACE",
  "ip route add 192.0.2.128/26 dev CURRENT_INTERFACE",
  "ip link set dev CURRENT_INTERFACE mtu 1400",
  "ip route show",
]);
/**
 * The pod of the 5-command cases with the daemon up: its value in the API is the list those cases pass as
 * runtime annotations, so the attachment they register matches the pod and the daemon re-applies nothing. (With
 * the bench pod, whose value is one command, every such ADD scheduled an edit 5 → 1 commands in the shared
 * netns, racing the case's own CHECK, DEL and next ADD.)
 */
export const POD_FIVE = { namespace: "default", name: "bench-pod-5", uid: "bench-uid-5" };
export const CNI_ARGS_FIVE =
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD_FIVE.namespace};K8S_POD_NAME=${POD_FIVE.name};K8S_POD_UID=${POD_FIVE.uid}`;
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The burst's pods: pod i of `cnidriver -parallel` is `burst-pod-i` (in the fake API server and the cache). */
export const BURST_ARGS =
  "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=burst-pod-%d;K8S_POD_UID=burst-uid-%d";

/**
 * The burst's pods, each with one command.
 *
 * @param count how many
 */
export function burstPodList(count: number): Pod[] {
  return Array.from({ length: count }, (_, i) =>
    makePod({
      namespace: "default",
      name: `burst-pod-${i}`,
      uid: `burst-uid-${i}`,
      nodeName: NODE_NAME,
      annotations: { [ANNOTATION]: ONE_COMMAND },
    }));
}

/**
 * The bench pod and a node's worth of others (a third annotated), plus a few pods of other nodes.
 *
 * @param count pods of this node, the bench pod included
 */
export function benchPods(count: number): Pod[] {
  const pods: Pod[] = [
    makePod({ ...POD, nodeName: NODE_NAME, annotations: { [ANNOTATION]: ONE_COMMAND } }),
  ];
  for (let i = 1; i < count; i++) {
    pods.push(makePod({
      namespace: `ns-${i % 7}`,
      name: `pod-${i}-${randomHex(5)}`,
      nodeName: NODE_NAME,
      labels: { app: `app-${i % 13}`, "pod-template-hash": randomHex(10) },
      annotations: i % 3 === 0
        ? { [ANNOTATION]: FIVE_COMMANDS, "kubectl.kubernetes.io/restartedAt": new Date().toISOString() }
        : { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() },
      podIP: `10.244.${i >> 8}.${i & 255}`,
    }));
  }
  // A few pods of other nodes, which the node-local watch must not keep.
  for (let i = 0; i < 5; i++) {
    pods.push(makePod({ namespace: "other", name: `far-${i}`, nodeName: "other-node" }));
  }
  return pods;
}
