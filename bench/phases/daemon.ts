/**
 * Phase 4, the daemon, when this chainsaw has one: started for the chain cases ("daemon up"), its pod cache
 * waited for.
 * @module
 */
import type { Bench } from "../context.ts";
import {
  type DaemonFeatures,
  daemonFeatures,
  type DaemonSetup,
  type RunningDaemon,
  startDaemon,
  waitForPod,
} from "../daemon_bench.ts";
import { NODE_NAME, POD } from "../fixtures.ts";
import type { Build } from "./build.ts";
import type { Kubernetes } from "./kubernetes.ts";

/** The daemon of the chain cases. */
export interface ChainDaemon {
  features: DaemonFeatures;
  /** Running, or undefined: none (see `note`), or stopped by the daemon-alone phase. */
  running?: RunningDaemon;
  /** Its socket served the bench pod from its cache. */
  podCacheReady: boolean;
  /** Why there is no daemon. */
  note?: string;
  /** How to start one (the daemon-alone phase starts its own). */
  setup(): DaemonSetup;
}

/**
 * Starts the daemon unless `--no-daemon` or this chainsaw has none (and defers its stop).
 *
 * @param bench the run
 * @param built the chainsaw measured
 * @param kube the fake API server
 */
export async function chainDaemon(bench: Bench, built: Build, kube: Kubernetes): Promise<ChainDaemon> {
  const { opts, log, cleanup } = bench;
  const { api, kubeconfigFile } = kube;
  const d: ChainDaemon = {
    features: { daemon: false, podCache: false, flags: new Set() },
    podCacheReady: false,
    setup: () => ({
      bundle: built.chainsaw,
      env: built.env,
      dir: built.scratch,
      features: d.features,
      nodeName: NODE_NAME,
      api: { host: "127.0.0.1", port: api.port, token: api.token, caPem: api.caPem, kubeconfigFile },
    }),
  };
  if (opts.noDaemon) {
    d.note = "skipped (--no-daemon)";
  } else {
    d.features = await daemonFeatures(built.chainsaw, built.env);
    if (!d.features.daemon) {
      d.note = "n/a (`chainsaw daemon --help` lists no --socket)";
    } else {
      try {
        d.running = await startDaemon(d.setup(), "chain");
        cleanup.defer(() => d.running?.stop(), "daemon");
        if (d.features.podCache) {
          d.podCacheReady = await waitForPod(d.running, POD, opts.smoke ? 10_000 : 20_000);
          if (!d.podCacheReady) log("daemon lists pod-watch flags but its socket did not serve the pod");
        }
      } catch (e) {
        d.note = `n/a (daemon did not start: ${(e as Error).message.split("\n")[0]})`;
        d.running = undefined;
      }
    }
  }
  return d;
}
