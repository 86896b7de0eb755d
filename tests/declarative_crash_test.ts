/**
 * `kill -9` of the daemon in the middle of a declarative re-apply (issue 17: "nothing lost", "survives kill -9"):
 * the netns already holds part or all of the new value, whose effect is not in the state file yet. The daemon
 * writes a record of the re-apply (the value and the netns before it) before changing the netns; on restart it
 * puts the netns back as it was before that edit and applies the pod's value again — no `File exists`, no route
 * left behind that nobody owns. Real chain (bridge + host-local, chainsaw; libcni), the real daemon killed with
 * SIGKILL while its step is running (a bounded `ip monitor` holds the step after the route is added), the fake
 * API server with watch.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { fixture } from "./support/chain_fixture.ts";
import { type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, requireRoot } from "./support/netns.ts";
import {
  apiDaemonArgs,
  apiScratch,
  type Daemon,
  startDaemon,
  waitFor,
  waitForOutput,
  waitReady,
} from "./daemon_harness.ts";
import { annotatedPod } from "./support/annotated_pod.ts";

const NODE = "node-kcrash";
const R1 = "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE";
const R2 = "ip route add 198.51.100.0/24 dev CURRENT_INTERFACE";

const pod = (annotation: string | undefined): Pod => annotatedPod(NODE, annotation);

interface Saved {
  applied?: string;
  effect?: { items: { key: string }[] };
  pending?: { value: string };
}

Deno.test({
  name:
    "declarative: kill -9 of the daemon while a re-apply runs (the new route in place, its effect not saved); " +
    "the restart puts the netns back and applies the value again: no File exists, nothing left unowned",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    let daemon: Daemon | undefined;
    try {
      const api = await startFakeApiServer({ pods: [pod(JSON.stringify([R1]))], bookmarkIntervalMs: 200 });
      cleanup.defer(() => api.close(), "fake apiserver");
      const tmp = await apiScratch(cleanup, api);
      cleanup.defer(() => daemon?.stop(), "daemon");
      // A node policy that also allows a monitor (bounded by the command timeout): it holds the step running.
      const policyDir = `${tmp.path}/policy`;
      await Deno.mkdir(policyDir);
      await Deno.writeTextFile(
        `${policyDir}/policy.yaml`,
        'allow:\n  - "route add|delete|replace|change dev?=@pod"\n  - "* show|get|monitor"\n' +
          "limits:\n  commandTimeoutMs: 60000\n  listTimeoutMs: 60000\n",
      );
      const start = async () => {
        daemon = await startDaemon(
          tmp.path,
          apiDaemonArgs(tmp.kubeconfig, NODE, ["--policy-dir", policyDir, "--drift-check-seconds", "0.2"]),
        );
        await waitReady(daemon);
        return daemon;
      };
      const stateFile = `${tmp.path}/state/attachments.json`;
      const saved = async (): Promise<Saved> =>
        JSON.parse(await Deno.readTextFile(stateFile).catch(() => '{"attachments":[]}')).attachments[0] ?? {};
      await start();
      const f = await fixture("kcr", {
        kubeconfig: tmp.kubeconfig,
        daemonSocket: `${tmp.path}/sock/chainsaw.sock`,
      });
      cleanup.defer(() => f.cleanup.run(), "chain");
      const add = await f.chain("add");
      assertEquals(add.code, 0, add.stdout + add.stderr);
      await waitFor("the ADD's effect", async () => (await saved()).effect?.items.length === 1);
      const baseline = (await f.ns.routes()).replace(/^192\.0\.3\.0\/24 .*\n/m, "");

      // The edit: R1 → R2, then a monitor that keeps the step running after R2 is in the netns.
      const v2 = JSON.stringify([R2, "ip monitor route"]);
      api.setPod(pod(v2));
      await waitFor("R2 in the netns while the step runs", async () => {
        const routes = await f.ns.routes();
        return routes.includes("198.51.100.0/24 dev eth0") && !routes.includes("192.0.3.0/24");
      });
      const during = await saved();
      assertEquals(during.applied, JSON.stringify([R1]), "the outcome is not saved yet");
      daemon!.kill("SIGKILL");
      await daemon!.status;
      daemon = undefined;

      // While it is down the user drops the monitor; the restart applies [R2].
      const v3 = JSON.stringify([R2]);
      api.setPod(pod(v3));
      const d = await start();
      await waitFor("the value applied", async () => (await saved()).applied === v3, 15_000);
      const after = await saved();
      assertEquals(after.pending, undefined);
      assertEquals(after.effect?.items.map((i) => i.key), ["route v4 main 198.51.100.0/24"], d.stdout());
      // The report (stdout) and the log (stderr) are pipes of their own, read apart from the state file.
      await waitForOutput("the re-apply's report", d.stdout, "Result: ");
      await waitForOutput(
        "the recovery's log line",
        d.stderr,
        "p1 eth0: the daemon stopped during a re-apply",
      );
      const reapply = d.stdout().split("\n").filter((l) => l.startsWith("Result: "));
      assert(!d.stdout().includes("File exists"), d.stdout());
      assert(reapply.at(-1)?.startsWith("Result: applied in "), d.stdout());
      // Nothing observed the netns between the start and the recovery as a drift of the saved effect.
      assert(!d.stderr().includes("drifted:"), d.stderr());
      const routes = await f.ns.routes();
      assertStringIncludes(routes, "198.51.100.0/24 dev eth0");
      assert(!routes.includes("192.0.3.0/24"), routes);

      // Deleting the annotation restores the baseline: nothing chainsaw added is left.
      api.setPod(pod(undefined));
      await waitFor("everything taken back", async () => (await saved()).applied === "", 15_000);
      assertEquals(await f.ns.routes(), baseline);
      assertEquals((await saved()).effect, undefined);
    } finally {
      await cleanup.run();
    }
  },
});
