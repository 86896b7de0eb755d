/**
 * Phase 2, network: one netns and one bridge for every case; a netns path that never exists for DEL-gone; a
 * netns per burst pod.
 * @module
 */
import {
  createNetns,
  deleteLink,
  IP,
  type Netns,
  randomHex,
  run,
  uniqueName,
} from "../../tests/support/netns.ts";
import type { Bench } from "../context.ts";

/** The namespaces and the bridge the chains use. */
export interface Network {
  /** The cases' pod netns. */
  ns: Netns;
  bridge: string;
  /** A netns path that never exists (DEL with the netns gone). */
  goneNetns: string;
  /** Burst pod i's netns is `<burstPrefix>-<i>`, i from 0. */
  burstPrefix: string;
}

/**
 * Creates them (and defers their removal).
 *
 * @param bench the run
 */
export async function network(bench: Bench): Promise<Network> {
  const { opts, cleanup } = bench;
  const ns = await createNetns("bench");
  cleanup.defer(() => ns.delete(), "netns");
  const bridge = uniqueName("csbn");
  cleanup.defer(() => deleteLink(bridge), "bridge");
  const goneNetns = `/var/run/netns/cs-bench-gone-${randomHex(6)}`;
  // The burst's pods each need a netns (bridge puts eth0 in it): cs-bburst-<hex>-<i>, i from 0.
  const burstPrefix = `cs-bburst-${randomHex(6)}`;
  cleanup.defer(async () => {
    for (let i = 0; i < opts.burstPods; i++) {
      await run([IP, "netns", "del", `${burstPrefix}-${i}`]).catch(() => {});
    }
  }, "burst netns");
  for (let i = 0; i < opts.burstPods; i++) {
    const r = await run([IP, "netns", "add", `${burstPrefix}-${i}`]);
    if (r.code !== 0) throw new Error(`ip netns add ${burstPrefix}-${i} failed: ${r.stderr.trim()}`);
  }
  return { ns, bridge, goneNetns, burstPrefix };
}
