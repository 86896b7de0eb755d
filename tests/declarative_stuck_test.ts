/**
 * A deleted annotation when one object can no longer go back to what the chain set up (issue 17: "Deletion: takes
 * the whole effect back, and chainsaw then owns nothing in that netns"): chainsaw deleted the default route, then
 * the gateway became unreachable (its address removed by hand), so the kernel refuses the route. The rest of the
 * effect is taken back, the stuck route is named in a failed report, and chainsaw owns nothing afterwards — so
 * the next value applies instead of failing on the same take-back forever. The one executor in a real netns.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { Cleanup, createNetns, IP, type Netns, requireRoot } from "./support/netns.ts";
import { sampleExecutorDeps, sampleTarget } from "./daemon_fixtures.ts";
import { runOnAttachment } from "../src/exec/executor.ts";
import { runInNetns } from "../src/exec/runner.ts";
import type { EffectItem } from "../src/wire/effect.ts";

async function ip(ns: Netns, ...argv: string[]): Promise<string> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

Deno.test({
  name:
    "declarative: a deleted annotation whose default route cannot come back (gateway unreachable) takes back " +
    "the rest, reports the route, owns nothing; the next value applies",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const ns = await createNetns("kst");
      cleanup.defer(() => ns.delete(), "netns");
      await ip(ns, "link", "add", "ksta", "type", "veth", "peer", "name", "kstb");
      for (const l of ["ksta", "kstb"]) await ip(ns, "link", "set", l, "addrgenmode", "none");
      await ip(ns, "link", "set", "kstb", "up");
      await ip(ns, "link", "set", "ksta", "up");
      await ip(ns, "addr", "add", "192.0.2.5/24", "dev", "ksta");
      // A second address: the device keeps its IPv4 routes when the first one goes.
      await ip(ns, "addr", "add", "10.99.0.5/24", "dev", "ksta");
      await ip(ns, "route", "add", "default", "via", "192.0.2.1");
      const target = sampleTarget({
        netns: ns.path,
        ifname: "ksta",
        podInterfaces: ["ksta"],
        onError: "rollback",
        mode: "declarative",
      });
      const deps = sampleExecutorDeps((c, argv, opts) => runInNetns(c, argv, opts));
      const apply = (v: string | undefined, prior: readonly EffectItem[]) =>
        runOnAttachment(target, v, deps, prior);

      const v1 = await apply(
        JSON.stringify(["ip route del default", "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]),
        [],
      );
      assertEquals(v1.report.verdict, "applied", v1.report.error?.msg);
      assertEquals(v1.effect?.map((i) => i.key), ["route v4 main default", "route v4 main 192.0.3.0/24"]);
      await ip(ns, "addr", "del", "192.0.2.5/24", "dev", "ksta"); // 192.0.2.1 is unreachable from now on

      const del = await apply(undefined, v1.effect!);
      assertEquals(del.report.verdict, "failed");
      assertStringIncludes(
        String(del.report.error?.msg),
        "1 object could not be taken back to what the chain set up (route v4 main default): ",
      );
      assertStringIncludes(String(del.report.error?.msg), "chainsaw owns nothing here any more");
      assertEquals(del.effect, [], "owns nothing");
      assertEquals(del.report.effect?.takenBack, ["route v4 main 192.0.3.0/24: removed (chainsaw added it)"]);
      assert(!(await ip(ns, "route")).includes("192.0.3.0/24"), "the rest was taken back");

      const v2 = await apply(
        JSON.stringify(["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]),
        del.effect!,
      );
      assertEquals(v2.report.verdict, "applied", v2.report.error?.msg);
      assertEquals(v2.effect?.map((i) => i.key), ["route v4 main 198.51.100.0/24"]);
    } finally {
      await cleanup.run();
    }
  },
});
