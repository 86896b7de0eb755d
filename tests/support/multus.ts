/**
 * Multus (v4.0.2, thin plugin) as chainsaw sees it, emulated for the tests: Multus itself cannot be part of
 * them. What it passes each delegate is recorded in the shared captures (`captures/multus-4.0.2/`):
 * - one libcni ADD per element of the pod's `k8s.v1.cni.cncf.io/networks`, in order, with the NAD's conflist
 *   (chainsaw's stdin `name` is the conflist's, never the NAD's), stopping at the first failure;
 * - `CNI_IFNAME` `net1`, `net2`, … or the interface the element names (the test states which: this emulator does
 *   not use chainsaw's own reading of the selection, so the two cannot agree by construction);
 * - `CNI_ARGS` with Multus's pairs and then the runtime's again, duplicates included, `IgnoreUnknown=true` and
 *   `=1`, `K8S_POD_INFRA_CONTAINER_ID=` empty;
 * - no `runtimeConfig` (Multus drops the pod annotations): chainsaw must GET the pod or ask its daemon;
 * - an element's `cni-args` as `args.cni` in every plugin of the conflist.
 * DEL runs per element in reverse order.
 * @module
 */
import { type ChainResult, runChain } from "./netns.ts";
import { pathWithDeno } from "./plugin.ts";

/** Multus's network selection annotation. */
export const NETWORKS = "k8s.v1.cni.cncf.io/networks";

/** The pod Multus sets up. */
export interface MultusPod {
  namespace: string;
  name: string;
  uid: string;
}

/** One delegate: the NAD's conflist and the interface Multus gives it. */
export interface Delegate {
  /** The NAD's CNI config (a conflist whose `name` is the chain's). */
  conflist: Record<string, unknown>;
  /** `CNI_IFNAME` as Multus sets it for this element. */
  ifname: string;
  /** The element's `cni-args`, passed as `args.cni`. */
  cniArgs?: Record<string, unknown>;
}

/**
 * `CNI_ARGS` exactly as Multus passes them to a delegate (see the captures): its own pairs, then the runtime's.
 *
 * @param pod the pod
 * @returns the `K=V;…` string
 */
export function multusCniArgs(pod: MultusPod): string {
  const p = pod;
  return `IgnoreUnknown=true;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name};` +
    `K8S_POD_INFRA_CONTAINER_ID=;K8S_POD_UID=${p.uid};IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};` +
    `K8S_POD_NAME=${p.name};K8S_POD_UID=${p.uid}`;
}

function withCniArgs(conflist: Record<string, unknown>, cniArgs?: Record<string, unknown>) {
  if (!cniArgs) return conflist;
  const plugins = (conflist.plugins as Record<string, unknown>[]).map((p) => ({
    ...p,
    args: { cni: cniArgs },
  }));
  return { ...conflist, plugins };
}

/** Options of {@link multusAdd} and {@link multusDel}. */
export interface MultusRun {
  pod: MultusPod;
  delegates: Delegate[];
  netns: string;
  containerId: string;
  /** libcni cache directory (a test's scratch). */
  cacheDir: string;
  env?: Record<string, string>;
}

/**
 * ADD of every delegate in order, stopping at the first failure as Multus does.
 *
 * @param opts the pod, its delegates and the sandbox
 * @returns each delegate's run, up to and including a failed one
 */
export async function multusAdd(opts: MultusRun): Promise<(ChainResult & { ifname: string })[]> {
  const out: (ChainResult & { ifname: string })[] = [];
  for (const d of opts.delegates) {
    const r = await runChain({
      conflist: withCniArgs(d.conflist, d.cniArgs),
      cmd: "add",
      netns: opts.netns,
      id: opts.containerId,
      ifname: d.ifname,
      args: multusCniArgs(opts.pod),
      cacheDir: opts.cacheDir,
      env: { PATH: pathWithDeno(), ...opts.env },
    });
    out.push({ ...r, ifname: d.ifname });
    if (r.code !== 0) break;
  }
  return out;
}

/**
 * DEL of every delegate in reverse order (all of them, as Multus does on teardown).
 *
 * @param opts the pod, its delegates and the sandbox
 * @returns the runs, last delegate first
 */
export async function multusDel(opts: MultusRun): Promise<ChainResult[]> {
  const out: ChainResult[] = [];
  for (const d of [...opts.delegates].reverse()) {
    out.push(
      await runChain({
        conflist: withCniArgs(d.conflist, d.cniArgs),
        cmd: "del",
        netns: opts.netns,
        id: opts.containerId,
        ifname: d.ifname,
        args: multusCniArgs(opts.pod),
        cacheDir: opts.cacheDir,
        env: { PATH: pathWithDeno(), ...opts.env },
      }),
    );
  }
  return out;
}

/**
 * A NAD's conflist like the seed's `test-chainsaw`: bridge (no gateway, host-local on `subnet`, no routes), then
 * chainsaw with `foo: bar` and the given keys.
 *
 * @param opts the chain's name, the bridge (unique per test), host-local's data dir, the subnet, chainsaw's keys
 * @returns the conflist
 */
export function nadConflist(opts: {
  name: string;
  bridge: string;
  dataDir: string;
  subnet?: string;
  cniVersion?: string;
  chainsaw: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    cniVersion: opts.cniVersion ?? "1.0.0",
    name: opts.name,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: opts.subnet ?? "198.51.100.0/24" }]],
          dataDir: opts.dataDir,
        },
      },
      { type: "chainsaw", foo: "bar", ...opts.chainsaw },
    ],
  };
}
