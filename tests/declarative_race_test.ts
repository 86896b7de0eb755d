/**
 * Rapid edits in declarative mode (issue 17: "there is never a lost update"): v1 → v2 → v3 → v4 set within
 * milliseconds while the daemon applies them, then the annotation deleted. Whatever the daemon coalesced, the
 * netns ends at the last value's routes only, chainsaw owns exactly them, and the deletion restores the baseline.
 * Real chain (bridge + host-local, chainsaw; libcni), the real daemon, the fake API server with watch.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { fixture } from "./support/chain_fixture.ts";
import { type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, requireRoot } from "./support/netns.ts";
import { apiDaemonArgs, apiScratch, type Daemon, startDaemon, waitFor, waitReady } from "./daemon_harness.ts";
import { annotatedPod } from "./support/annotated_pod.ts";

const NODE = "node-krace";
const route = (dst: string) => `ip route add ${dst} dev CURRENT_INTERFACE`;
const VALUES = [
  [route("192.0.3.0/24")],
  [route("198.51.100.0/24"), route("192.0.3.0/24")],
  [route("198.51.100.128/25")],
  [route("198.51.100.64/26"), route("198.51.100.128/25")],
].map((l) => JSON.stringify(l));

function pod(annotation: string | undefined, rv: number): Pod {
  const p = annotatedPod(NODE, annotation);
  p.metadata.resourceVersion = String(1000 + rv);
  return p;
}

Deno.test({
  name:
    "declarative: four edits within milliseconds end at the last value exactly; deletion restores the baseline",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    let daemon: Daemon | undefined;
    try {
      const api = await startFakeApiServer({ pods: [pod(VALUES[0], 0)], bookmarkIntervalMs: 200 });
      cleanup.defer(() => api.close(), "fake apiserver");
      const tmp = await apiScratch(cleanup, api);
      daemon = await startDaemon(tmp.path, apiDaemonArgs(tmp.kubeconfig, NODE));
      cleanup.defer(() => daemon?.stop(), "daemon");
      await waitReady(daemon);
      const stateFile = `${tmp.path}/state/attachments.json`;
      const saved = async () =>
        JSON.parse(await Deno.readTextFile(stateFile).catch(() => '{"attachments":[]}')).attachments[0] ?? {};
      const f = await fixture("krc", {
        kubeconfig: tmp.kubeconfig,
        daemonSocket: `${tmp.path}/sock/chainsaw.sock`,
      });
      cleanup.defer(() => f.cleanup.run(), "chain");
      assertEquals((await f.chain("add")).code, 0);
      await waitFor("the ADD's effect", async () => (await saved()).effect?.items.length === 1);
      // What the chain set up: the routes now without the one chainsaw's ADD added.
      const baseline = (await f.ns.routes()).replace(/^192\.0\.3\.0\/24 .*\n/m, "");
      for (const [i, v] of VALUES.slice(1).entries()) api.setPod(pod(v, i + 1));
      const last = VALUES.at(-1)!;
      await waitFor("the last value applied", async () => (await saved()).applied === last, 15_000);
      const keys = ((await saved()).effect?.items ?? []).map((i: { key: string }) => i.key).sort();
      assertEquals(
        keys,
        ["route v4 main 198.51.100.128/25", "route v4 main 198.51.100.64/26"],
        daemon.stdout(),
      );
      const routes = await f.ns.routes();
      for (const dst of ["192.0.3.0/24", "198.51.100.0/24 "]) assert(!routes.includes(dst), routes);
      assert(
        routes.includes("198.51.100.64/26 dev eth0") && routes.includes("198.51.100.128/25 dev eth0"),
        routes,
      );
      assert(!daemon.stdout().includes("Result: failed"), daemon.stdout());

      api.setPod(pod(undefined, 9));
      await waitFor("all taken back", async () => (await saved()).applied === "", 15_000);
      assertEquals(await f.ns.routes(), baseline);
      assertEquals((await saved()).effect, undefined);
    } finally {
      await cleanup.run();
    }
  },
});
