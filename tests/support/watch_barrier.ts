/**
 * A barrier through the daemon's pod watch, for tests that check that a pod event changed nothing (instead of
 * sleeping and hoping the daemon has caught up).
 *
 * The fake API server sends the node's pod events on one watch stream, in resourceVersion order (a resumed stream
 * goes on from the last one seen), and the daemon applies them to its pod cache in that order, calling the
 * cache's listeners (re-apply, pod condition) synchronously. So once the cache holds a barrier pod created after
 * the event, the daemon has taken the event in and made every decision it makes on it.
 *
 * Work those decisions started (a re-apply's commands, a status PATCH) may still be running then: check its
 * outcome after a later result of the same pod's queue (rounds of one pod run in order), or after stopping the
 * daemon (running work finishes before it exits).
 *
 * @example
 * ```ts
 * api.setPod(touched); // must change nothing
 * await podWatchBarrier(api, socket, NODE);
 * ```
 * @module
 */
import { type FakeApiServer, makePod } from "./fake_apiserver.ts";
import { socketRequest, waitFor } from "../daemon_harness.ts";
import { MAX_WAIT_MS } from "../../src/wire/pod_lookup.ts";

/** The barrier pod's name (namespace `default`); each barrier replaces it with a new UID. */
export const BARRIER_POD = "chainsaw-test-barrier";

let serial = 0;

/**
 * Creates a fresh barrier pod on `nodeName` and waits until the daemon's pod cache holds it (its socket's pod
 * lookup answers 200 for the new UID). The pod is `hostNetwork` and has no annotation: no feature acts on it.
 *
 * @param api the fake API server the daemon watches
 * @param socket the daemon's socket
 * @param nodeName the daemon's node
 */
export async function podWatchBarrier(api: FakeApiServer, socket: string, nodeName: string): Promise<void> {
  const uid = `uid-barrier-${++serial}`;
  const pod = makePod({ namespace: "default", name: BARRIER_POD, uid, nodeName });
  pod.spec.hostNetwork = true;
  api.setPod(pod);
  const path = `/v1/pods/default/${BARRIER_POD}?uid=${uid}&waitMs=${MAX_WAIT_MS}`;
  await waitFor(
    `the barrier pod ${uid} in the daemon's pod cache`,
    async () => (await socketRequest(socket, path)).status === 200,
    30_000,
  );
}
