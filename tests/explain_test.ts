/**
 * `chainsaw explain` end to end: the real daemon (the bundle under its shipped permission flags) watching the
 * fake API server, a real chain (bridge + chainsaw, libcni) in a real netns, and the real `chainsaw explain`
 * process asking the daemon's socket. Explaining runs nothing: the netns is compared before and after.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { ANNOTATION, fixture } from "./support/chain_fixture.ts";
import { makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, requireRoot } from "./support/netns.ts";
import { apiScratch, runChainsaw, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import { ExplainAnswerSchema } from "../src/wire/explain.ts";

const NODE = "node-a";
const ALLOWED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';
const REFUSED =
  '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip link set CURRENT_INTERFACE address 02:00:00:00:00:01"]';

function pod(annotation: string): Pod {
  return makePod({
    namespace: "default",
    name: "p1",
    uid: "uid-1",
    nodeName: NODE,
    annotations: { [ANNOTATION]: annotation },
  });
}

Deno.test({
  name: "explain: substituted commands and rules (exit 0), a refused command's rule and reason (exit 1), " +
    "nothing run; no such pod, usage and no daemon exit 2",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const api = await startFakeApiServer({ pods: [pod(ALLOWED)], bookmarkIntervalMs: 200 });
      cleanup.defer(() => api.close(), "fake apiserver");
      const scratch = await apiScratch(cleanup, api);
      const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, {
        node: NODE,
        args: ["--policy-dir", `${scratch.path}/policy`],
        scratch,
      });
      const f = await fixture("expl", { kubeconfig, daemonSocket: d.socket });
      cleanup.defer(() => f.cleanup.run(), "chain");
      const explain = (...args: string[]) => runChainsaw(["explain", "--socket", d.socket, ...args]);
      const netnsState = async () =>
        [
          await f.ns.routes(),
          (await f.ns.exec(["/usr/sbin/ip", "-o", "link"])).stdout.replace(/ link-netnsid \d+/g, ""),
          await f.ns.addrs(),
        ].join("\n");

      const add = await f.chain("add");
      assertEquals(add.code, 0, add.stdout + add.stderr);
      await waitFor("the attachment", async () => (await explain("--pod", "default/p1")).code !== 2);

      // The ADD's route is removed by hand: if explaining ran the commands, it would come back.
      assertEquals((await f.ns.exec(["/usr/sbin/ip", "route", "del", "192.0.3.0/24"])).code, 0);
      const before = await netnsState();
      const ok = await explain("--pod", "default/p1");
      assertEquals(ok.code, 0, ok.stdout + ok.stderr);
      assertStringIncludes(ok.stdout, `pod default/p1 (uid uid-1) on node ${NODE}: 1 attachment\n`);
      assertStringIncludes(ok.stdout, `  eth0  network ${f.network}  container `);
      assertStringIncludes(ok.stdout, "    allowed  ip route add 192.0.3.0/24 dev eth0  (rule: ");
      assertStringIncludes(ok.stdout, "    allowed  ip route  (rule: ");
      assertStringIncludes(ok.stdout, "    re-apply: nothing to re-apply (the value is already applied)\n");
      assertStringIncludes(ok.stdout, "result: every command is allowed\n");

      const json = await explain("--pod", "default/p1", "--json");
      assertEquals(json.code, 0, json.stderr);
      const answer = ExplainAnswerSchema.parse(JSON.parse(json.stdout));
      const [a] = answer.attachments;
      assertEquals([a.ifname, a.network, a.netns, a.annotation, a.applied], [
        "eth0",
        f.network,
        f.ns.path,
        ALLOWED,
        ALLOWED,
      ]);
      assertEquals(a.commands.map((c) => [c.argv, c.allowed]), [
        [["route", "add", "192.0.3.0/24", "dev", "eth0"], true],
        [["route"], true],
      ]);
      assert(a.commands.every((c) => c.rule !== ""), json.stdout);
      assertEquals(await netnsState(), before, "explain ran nothing");

      // A list with a refused command: the live re-apply refuses it (nothing runs), explain says why.
      api.setPod(pod(REFUSED));
      await waitFor("the rejected REAPPLY", () => d.stdout().includes(" REAPPLY default/p1 "));
      await waitFor(
        "the value to be recorded",
        async () => (await explain("--pod", "default/p1")).stdout.includes("already applied"),
      );
      const refused = await explain("--pod", "default/p1");
      assertEquals(refused.code, 1, refused.stdout + refused.stderr);
      assertStringIncludes(refused.stdout, "    allowed  ip route add 198.51.100.0/24 dev eth0  (rule: ");
      const denied = refused.stdout.split("\n").find((l) => l.includes("denied   ip link set eth0 address"));
      assert(denied !== undefined, refused.stdout);
      const rj = ExplainAnswerSchema.parse(
        JSON.parse((await explain("--pod", "default/p1", "--json")).stdout),
      );
      const bad = rj.attachments[0].commands[1];
      assertEquals([bad.allowed, bad.argv], [false, ["link", "set", "eth0", "address", "02:00:00:00:00:01"]]);
      assertStringIncludes(denied, `(rule: ${bad.rule}: ${bad.reason})`);
      assert(bad.reason !== undefined && bad.reason !== "", JSON.stringify(bad));
      assertStringIncludes(refused.stdout, "result: refused (1 command denied)\n");
      assertEquals(await netnsState(), before, "neither the refused re-apply nor explain changed the netns");

      // No such pod; usage errors.
      const none = await explain("--pod", "default/nope");
      assertEquals([none.code, none.stdout], [2, ""]);
      assertStringIncludes(
        none.stderr,
        "chainsaw explain: no such pod on this node: pod default/nope has no attachments on this node",
      );
      assertEquals((await explain()).code, 2);
      const usage = await explain("--pod", "nope");
      assertEquals(usage.code, 2);
      assertStringIncludes(usage.stderr, "must be namespace/name");

      // No daemon.
      assertEquals((await d.stop()).code, 0, d.stderr());
      const down = await explain("--pod", "default/p1");
      assertEquals(down.code, 2);
      assertStringIncludes(down.stderr, `chainsaw explain: cannot reach the daemon at ${d.socket}: `);
      assertEquals(await netnsState(), before);
      assertEquals((await f.chain("del")).code, 0);
    } finally {
      await cleanup.run();
    }
  },
});
