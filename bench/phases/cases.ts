/**
 * Phase 5, cases: every chain measured (bridge alone, the reference pass-throughs, chainsaw's cases) for the
 * rounds and for the bursts, and their conflists. A case the run cannot have (no daemon) is kept, marked
 * unavailable, so the report shows why.
 * @module
 */
import { ANNOTATION, CAPABILITY, CNI_ARGS_FIVE, FIVE_COMMANDS, ONE_COMMAND } from "../fixtures.ts";
import type { BurstVariant, Group, Variant } from "../findings.ts";
import type { Build } from "./build.ts";
import type { ChainDaemon } from "./daemon.ts";
import type { Kubernetes } from "./kubernetes.ts";
import type { Network } from "./network.ts";

/** The cases and their conflist files. */
export interface Cases {
  variants: Variant[];
  burstVariants: BurstVariant[];
  /** Case id → its conflist file. */
  conflists: Map<string, string>;
}

/**
 * Lists the cases and writes their conflists.
 *
 * @param built the scratch directory
 * @param net the bridge
 * @param kube the kubeconfig and the daemon-less socket
 * @param daemon the chain daemon, if any
 */
export async function cases(
  built: Build,
  net: Network,
  kube: Kubernetes,
  daemon: ChainDaemon,
): Promise<Cases> {
  const cs = (extra: Record<string, unknown>) => ({
    type: "chainsaw",
    daemonSocket: kube.noDaemonSocket,
    ...extra,
  });
  const capOn = { capabilities: { [CAPABILITY]: true } };
  const runtimeCap = (value?: string) => ({
    [CAPABILITY]: value === undefined ? { "other.example/annotation": "x" } : { [ANNOTATION]: value },
  });
  const references = (group: Group): Variant[] => [
    { id: `${group}/base`, label: "bridge alone", group, kind: "base" },
    {
      id: `${group}/deno`,
      label: "+ Deno floor (empty pass-through, chainsaw's launcher)",
      group,
      kind: "floor",
      plugin: { type: "denopass" },
    },
    {
      id: `${group}/go`,
      label: "+ Go pass-through (libcni skel)",
      group,
      kind: "go",
      plugin: { type: "gopass" },
    },
    { id: `${group}/node`, label: "+ Node pass-through", group, kind: "node", plugin: { type: "nodepass" } },
  ];
  const podCacheReason = !daemon.running
    ? daemon.note ?? "n/a (daemon not available)"
    : !daemon.features.podCache
    ? "n/a (daemon cache not available)"
    : !daemon.podCacheReady
    ? "n/a (daemon cache not available: the socket did not serve the pod)"
    : undefined;
  const variants: Variant[] = [
    ...references("acd"),
    {
      id: "acd/cs-none",
      label: "+ chainsaw, no annotation (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(),
    },
    {
      id: "acd/cs-1",
      label: "+ chainsaw, 1 command (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(ONE_COMMAND),
    },
    {
      id: "acd/cs-5",
      label: "+ chainsaw, 5 commands (runtime annotations)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(FIVE_COMMANDS),
    },
    {
      id: "acd/cs-reports",
      label: "+ chainsaw, 1 command (runtime annotations), daemon up",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon.running?.socket }),
      cap: runtimeCap(ONE_COMMAND),
      unavailable: daemon.running ? undefined : daemon.note ?? "n/a (daemon not available)",
    },
    {
      id: "acd/cs-5-daemon",
      label: "+ chainsaw, 5 commands (runtime annotations), daemon up",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon.running?.socket }),
      cap: runtimeCap(FIVE_COMMANDS),
      args: CNI_ARGS_FIVE,
      unavailable: daemon.running ? undefined : daemon.note ?? "n/a (daemon not available)",
    },
    {
      id: "acd/cs-5-daemon-imp",
      label: "+ chainsaw, 5 commands (runtime annotations), daemon up, imperative mode",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon.running?.socket, mode: "imperative" }),
      cap: runtimeCap(FIVE_COMMANDS),
      args: CNI_ARGS_FIVE,
      unavailable: daemon.running ? undefined : daemon.note ?? "n/a (daemon not available)",
    },
    {
      id: "acd/cs-daemon",
      label: "+ chainsaw, 1 command, pod from the daemon cache",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ daemonSocket: daemon.running?.socket, kubeconfig: kube.kubeconfigFile }),
      unavailable: podCacheReason,
      countApi: true,
    },
    {
      id: "acd/cs-api",
      label: "+ chainsaw, 1 command, pod from the API server (TLS, JSON kubeconfig)",
      group: "acd",
      kind: "chainsaw",
      plugin: cs({ kubeconfig: kube.kubeconfigFile }),
      countApi: true,
    },
    ...references("version"),
    { id: "version/cs", label: "+ chainsaw", group: "version", kind: "chainsaw", plugin: cs(capOn) },
    ...references("delgone"),
    { id: "delgone/cs", label: "+ chainsaw", group: "delgone", kind: "chainsaw", plugin: cs(capOn) },
  ];
  function chainConf(name: string, plugin?: Record<string, unknown>): Record<string, unknown> {
    return {
      cniVersion: "1.0.0",
      name,
      plugins: [
        {
          type: "bridge",
          bridge: net.bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: "198.51.100.0/24" }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: `${built.scratch}/ipam`,
          },
        },
        ...(plugin ? [plugin] : []),
      ],
    };
  }
  const burstVariants: BurstVariant[] = [
    { id: "burst/base", label: "bridge alone", kind: "base" },
    { id: "burst/deno", label: "+ Deno floor", kind: "floor", plugin: { type: "denopass" } },
    { id: "burst/go", label: "+ Go pass-through (libcni skel)", kind: "go", plugin: { type: "gopass" } },
    {
      id: "burst/cs-daemon",
      label: "+ chainsaw, 1 command each (runtime annotations), daemon up",
      kind: "chainsaw",
      plugin: cs({ ...capOn, daemonSocket: daemon.running?.socket }),
      cap: runtimeCap(ONE_COMMAND),
      unavailable: daemon.running ? undefined : daemon.note ?? "n/a (daemon not available)",
    },
    {
      id: "burst/cs-nodaemon",
      label: "+ chainsaw, 1 command each (runtime annotations), no daemon",
      kind: "chainsaw",
      plugin: cs(capOn),
      cap: runtimeCap(ONE_COMMAND),
    },
  ];
  const conflists = new Map<string, string>();
  for (const v of [...variants, ...burstVariants]) {
    const file = `${built.scratch}/${v.id.replace("/", "-")}.conflist`;
    await Deno.writeTextFile(file, JSON.stringify(chainConf(`bench-${v.id.replace("/", "-")}`, v.plugin)));
    conflists.set(v.id, file);
  }
  return { variants, burstVariants, conflists };
}
