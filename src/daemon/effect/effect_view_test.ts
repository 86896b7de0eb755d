// The explain view of an attachment's effect: imperative, owning nothing, holding, drifted, not observable.
import { assertEquals } from "../../../tests/support/assert.ts";
import type { Entry, NetnsSnapshot } from "../../netns/model.ts";
import { effectBetween } from "../../declarative/effect.ts";
import { ExplainEffectSchema } from "../../wire/explain.ts";
import { effectView } from "./effect_view.ts";

const route = (dst: string): Entry => ({
  type: "unicast",
  dst,
  dev: "eth0",
  table: "main",
  scope: "link",
  family: 4,
});
const snap = (routes: Entry[], mtu = 1500): NetnsSnapshot => ({
  netns: "/var/run/netns/t",
  links: [{ ifindex: 2, ifname: "eth0", mtu }],
  addresses: [],
  routes,
  rules: [],
  neighbours: [],
  tentative: [],
});
const BASE = snap([]);
const SET = snap([route("192.0.3.0/24")], 1400);
const effect = { items: effectBetween(BASE, SET, ["x"]) };
const never = () => Promise.reject(new Error("not to be observed"));

Deno.test("effectView: mode and drift; nothing owned is not observed; before the mode existed: no view", async () => {
  assertEquals(await effectView({}, never), undefined);
  assertEquals(await effectView({ mode: "imperative" }, never), {
    mode: "imperative",
    drift: "report",
    items: [],
  });
  assertEquals(await effectView({ mode: "declarative", drift: "heal" }, never), {
    mode: "declarative",
    drift: "heal",
    items: [],
  });
});

Deno.test("effectView: each owned object, baseline → set, holds or drifted with its value now; unobservable said", async () => {
  const holding = await effectView({ mode: "declarative", effect }, () => Promise.resolve(SET));
  assertEquals(holding?.holds, true);
  assertEquals(holding?.items.map((i) => [i.object, i.base, i.set, i.holds]), [
    ["link eth0 mtu", "1500", "1400", true],
    ["route v4 main 192.0.3.0/24", "absent", "unicast 192.0.3.0/24 table main scope link dev eth0", true],
  ]);
  const drifted = await effectView({ mode: "declarative", effect }, () => Promise.resolve(snap([], 1400)));
  assertEquals(drifted?.holds, false);
  assertEquals(drifted?.items.map((i) => [i.holds, i.now]), [[true, undefined], [false, "absent"]]);
  const unobserved = await effectView({ mode: "declarative", effect }, never);
  assertEquals([unobserved?.holds, unobserved?.unobserved], [undefined, "not to be observed"]);
  assertEquals(unobserved?.items.map((i) => [i.object, i.holds]), [["link #2 mtu", undefined], [
    "route v4 main 192.0.3.0/24",
    undefined,
  ]]);
  for (const v of [holding, drifted, unobserved]) {
    assertEquals(ExplainEffectSchema.safeParse(v).success, true);
  }
});
