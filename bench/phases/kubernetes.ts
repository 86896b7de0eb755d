/**
 * Phase 3, Kubernetes: the fake API server (the API case, and the daemon's pod watch) with the bench pod and the
 * burst's pods, and a kubeconfig for it.
 * @module
 */
import {
  type FakeApiServer,
  makePod,
  type Pod,
  startFakeApiServer,
} from "../../tests/support/fake_apiserver.ts";
import type { Bench } from "../context.ts";
import { ANNOTATION, benchPods, burstPodList, FIVE_COMMANDS, NODE_NAME, POD_FIVE } from "../fixtures.ts";
import type { Build } from "./build.ts";

/** The fake API server and what points at it. */
export interface Kubernetes {
  api: FakeApiServer;
  /** The burst's pods (the daemon-alone phase removes them). */
  burstPods: Pod[];
  kubeconfigFile: string;
  /** A socket path with no daemon behind it (chainsaw's cases without the daemon). */
  noDaemonSocket: string;
}

/**
 * Starts the fake API server (and defers its closing).
 *
 * @param bench the run
 * @param built the scratch directory
 */
export async function kubernetes(bench: Bench, built: Build): Promise<Kubernetes> {
  const burstPods = burstPodList(bench.opts.burstPods);
  const fivePod = makePod({ ...POD_FIVE, nodeName: NODE_NAME, annotations: { [ANNOTATION]: FIVE_COMMANDS } });
  const api = await startFakeApiServer({ pods: [...benchPods(1), fivePod, ...burstPods] });
  bench.cleanup.defer(() => api.close(), "fake API server");
  const kubeconfigFile = `${built.scratch}/chainsaw.kubeconfig`;
  await Deno.writeTextFile(kubeconfigFile, jsonKubeconfig(api));
  const noDaemonSocket = `${built.scratch}/no-daemon.sock`;
  return { api, burstPods, kubeconfigFile, noDaemonSocket };
}

function jsonKubeconfig(api: FakeApiServer): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "fake", cluster: { server: api.url, "certificate-authority-data": btoa(api.caPem) } }],
    users: [{ name: "fake-user", user: { token: api.token } }],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user" } }],
    "current-context": "fake",
  });
}
