// The CHECK route with fake edges: each verdict, a check racing a sync, and the HTTP answers for bad requests.
import { assertEquals } from "../../../tests/support/assert.ts";
import type { Entry, NetnsSnapshot } from "../../netns/model.ts";
import { effectBetween } from "../../declarative/effect.ts";
import {
  CHECK_ROUTE,
  type CheckAttachment,
  checkAttachment,
  type CheckRouteDeps,
  createCheckRoute,
  MAX_CHECK_BODY_BYTES,
} from "./check_route.ts";

/** A stored attachment as the route's tests fake it. */
type Stored = CheckAttachment & {
  containerId: string;
  ifname: string;
  netns: string;
  namespace: string;
  name: string;
  podUid: string;
};

const route = (dst: string): Entry => ({
  type: "unicast",
  dst,
  dev: "eth0",
  table: "main",
  scope: "link",
  family: 4,
});
const snap = (routes: Entry[]): NetnsSnapshot => ({
  netns: "/var/run/netns/t",
  links: [{ ifindex: 2, ifname: "eth0", mtu: 1500 }],
  addresses: [],
  routes,
  rules: [],
  neighbours: [],
  tentative: [],
});
const BASE = snap([]);
const SET = snap([route("192.0.3.0/24"), route("198.51.100.0/24")]);

function attachment(over: Partial<Stored> = {}): Stored {
  return {
    containerId: "c1",
    ifname: "eth0",
    network: "n",
    netns: "/var/run/netns/t",
    namespace: "default",
    name: "p1",
    podUid: "u1",
    applied: "v1",
    mode: "declarative",
    effect: { items: effectBetween(BASE, SET, ["route add"]) },
    ...over,
  };
}

function deps(a: Stored | undefined, observed: NetnsSnapshot | Error = SET, busy = false) {
  const calls = { observe: 0 };
  const d: CheckRouteDeps = {
    find: (c, i) => a && a.containerId === c && a.ifname === i ? { ...a } : undefined,
    observe: () => {
      calls.observe++;
      return observed instanceof Error ? Promise.reject(observed) : Promise.resolve(observed);
    },
    busy: () => busy,
  };
  return { d, calls };
}

const REQ = { containerId: "c1", ifname: "eth0", network: "n" };

Deno.test("check route: holds, drifted (first differences first), unowned; nothing observed when nothing is owned", async () => {
  assertEquals(await checkAttachment(deps(attachment()).d, REQ), {
    verdict: "holds",
    owned: 2,
    differences: [],
  });
  assertEquals(await checkAttachment(deps(attachment(), snap([route("198.51.100.0/24")])).d, REQ), {
    verdict: "drifted",
    owned: 2,
    differences: [
      "route v4 main 192.0.3.0/24: gone (chainsaw set: unicast 192.0.3.0/24 table main scope link dev eth0)",
    ],
    total: 1,
  });
  for (
    const [a, req] of [
      [undefined, REQ],
      [attachment(), { ...REQ, network: "other" }],
      [attachment(), { ...REQ, ifname: "net1" }],
      [attachment({ mode: "imperative" }), REQ],
      [attachment({ mode: undefined }), REQ],
      [attachment({ effect: { items: [] } }), REQ],
      [attachment({ effect: undefined }), REQ],
    ] as const
  ) {
    const { d, calls } = deps(a);
    assertEquals(await checkAttachment(d, req), { verdict: "unowned", owned: 0, differences: [] });
    assertEquals(calls.observe, 0);
  }
});

Deno.test("check route: unknown when drift checks are off, a sync runs or ran meanwhile, or the netns cannot be read", async () => {
  const off = deps(attachment({ drift: "off" }));
  assertEquals((await checkAttachment(off.d, REQ)).verdict, "unknown");
  assertEquals(off.calls.observe, 0);
  const busy = deps(attachment(), SET, true);
  assertEquals(await checkAttachment(busy.d, REQ), {
    verdict: "unknown",
    owned: 2,
    differences: ["a re-apply of the pod is running; not checked"],
  });
  assertEquals(await checkAttachment(deps(attachment(), new Error("netns gone")).d, REQ), {
    verdict: "unknown",
    owned: 2,
    differences: ["netns gone"],
  });
  // The attachment's value changes while its netns is read: the observation is not trusted.
  let a = attachment();
  const raced: CheckRouteDeps = {
    find: () => a,
    observe: () => {
      a = attachment({ applied: "v2" });
      return Promise.resolve(BASE);
    },
    busy: () => false,
  };
  assertEquals((await checkAttachment(raced, REQ)).verdict, "unknown");
});

Deno.test("check route: the HTTP answers (200 JSON, 400, 405, 404, 413)", async () => {
  const handler = createCheckRoute(deps(attachment(), BASE).d);
  const call = (body: string, method = "POST", path = CHECK_ROUTE) =>
    handler(
      new Request(`http://chainsaw${path}`, { method, body: method === "GET" ? undefined : body }),
      new URL(`http://chainsaw${path}`),
    );
  const ok = await call(JSON.stringify(REQ));
  assertEquals(ok.status, 200);
  assertEquals((await ok.json()).verdict, "drifted");
  assertEquals((await call("{")).status, 400);
  assertEquals((await call(JSON.stringify({ ...REQ, containerId: "" }))).status, 400);
  assertEquals((await call("", "GET")).status, 405);
  assertEquals((await call("{}", "POST", "/v1/check/x")).status, 404);
  assertEquals((await call("x".repeat(MAX_CHECK_BODY_BYTES + 1))).status, 413);
});
