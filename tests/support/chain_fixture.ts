/**
 * A real chain for integration tests: bridge (+host-local) then chainsaw, in a scratch netns, driven by libcni.
 * @module
 */
import {
  bridgeConflist,
  type ChainResult,
  Cleanup,
  createNetns,
  deleteLink,
  type Netns,
  runChain,
  uniqueName,
} from "./netns.ts";
import { pathWithDeno, scopedTempDir } from "./plugin.ts";

/** The annotation key. */
export const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
/** The pod identity every fixture chain passes in CNI_ARGS. */
export const POD_ARGS: Record<string, string> = {
  IgnoreUnknown: "1",
  K8S_POD_NAMESPACE: "default",
  K8S_POD_NAME: "p1",
  K8S_POD_UID: "uid-1",
};

/** A scratch netns, a unique bridge and a chain bridge -> chainsaw, with its cleanup. */
export interface Fixture {
  ns: Netns;
  cleanup: Cleanup;
  scratch: string;
  /** The chain's network name (what an object-form annotation is keyed by). */
  network: string;
  chain(
    cmd: "add" | "check" | "del",
    opts?: { netns?: string; cap?: Record<string, unknown>; env?: Record<string, string> },
  ): Promise<ChainResult>;
}

/**
 * Builds a {@link Fixture}; `chainsaw` is chainsaw's entry in the chain, `podArgs` the pod identity passed in
 * CNI_ARGS (default {@link POD_ARGS}).
 */
export async function fixture(
  tag: string,
  chainsaw: Record<string, unknown>,
  cniVersion = "1.0.0",
  podArgs: Record<string, string> = POD_ARGS,
): Promise<Fixture> {
  const cleanup = new Cleanup();
  const ns = await createNetns(tag);
  cleanup.defer(() => ns.delete(), "netns");
  const bridge = uniqueName("csbr");
  cleanup.defer(() => deleteLink(bridge), "bridge");
  const dir = await scopedTempDir();
  cleanup.defer(() => dir.remove(), "scratch");
  const conflist = bridgeConflist({
    bridge,
    dataDir: `${dir.path}/ipam`,
    cniVersion,
    plugins: [{ type: "chainsaw", ...chainsaw }],
  });
  const id = uniqueName("ctr-", 8);
  const chain = (
    cmd: "add" | "check" | "del",
    opts: { netns?: string; cap?: Record<string, unknown>; env?: Record<string, string> } = {},
  ) =>
    runChain({
      conflist,
      cmd,
      netns: opts.netns ?? ns.path,
      id,
      args: podArgs,
      cap: opts.cap,
      cacheDir: `${dir.path}/cache`,
      env: { PATH: pathWithDeno(), ...opts.env },
    });
  return { ns, cleanup, scratch: dir.path, network: String(conflist.name), chain };
}

/** Capability args that pass the chainsaw annotation from the runtime (no API call). */
export const runtimeAnnotations = (value: string): Record<string, unknown> => ({
  "io.kubernetes.cri.pod-annotations": { [ANNOTATION]: value },
});
