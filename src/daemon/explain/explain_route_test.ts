import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import { sampleAttachment, sampleCachedPod } from "../../../tests/daemon_fixtures.ts";
import type { NetnsState } from "../../exec/netns_state.ts";
import { effectivePolicy } from "../../policy/load.ts";
import { PolicyError } from "../../policy/rules.ts";
import { ExplainAnswerSchema } from "../../wire/explain.ts";
import { ROUTES } from "../../wire/routes.ts";
import type { Attachment } from "../attachments/attachment_store.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import { createExplainRoute, type ExplainDeps, explainPod, type ExplainRouteDeps } from "./explain_route.ts";

const ALLOWED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';
const REFUSED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip netns exec x sh", "ip route"]';

function pod(value: string | undefined, over: Partial<CachedPod> = {}): CachedPod {
  return sampleCachedPod({ annotations: value === undefined ? {} : { [ANNOTATION]: value }, ...over });
}

function att(over: Partial<Attachment> = {}): Attachment {
  return sampleAttachment({ applied: ALLOWED, ...over });
}

function deps(over: Partial<ExplainDeps> = {}): ExplainDeps & { netnsAsked: string[] } {
  const netnsAsked: string[] = [];
  return {
    netnsAsked,
    node: "node-a",
    loadPolicy: (doc) => Promise.resolve(effectivePolicy(undefined, doc)),
    netnsState: (p): Promise<NetnsState> => {
      netnsAsked.push(p);
      return Promise.resolve("present");
    },
    ...over,
  };
}

Deno.test("explain: an allowed list already applied: substituted commands, their rules, nothing to re-apply", async () => {
  const answer = await explainPod(pod(ALLOWED), [att()], deps());
  assertEquals(ExplainAnswerSchema.safeParse(answer).success, true);
  assertEquals(answer.allowed, true);
  assertEquals(answer.node, "node-a");
  const [a] = answer.attachments;
  assertEquals([a.containerId, a.ifname, a.network, a.netns, a.onError], [
    "ctr-1",
    "net1",
    "net-a",
    "/var/run/netns/cs-x",
    "fail",
  ]);
  assertEquals(a.annotation, ALLOWED);
  assertEquals(a.commands.map((c) => [c.argv, c.allowed]), [
    [["route", "add", "192.0.3.0/24", "dev", "net1"], true],
    [["route"], true],
  ]);
  for (const c of a.commands) assert(c.rule !== "" && c.reason === undefined, JSON.stringify(c));
  assertEquals(a.reapply.action, "none");
  assertStringIncludes(a.reapply.reason, "already applied");
});

Deno.test("explain: a changed value would be re-applied: the plan says run, with every command", async () => {
  const answer = await explainPod(pod(ALLOWED), [att({ applied: '["ip route"]' })], deps());
  const [a] = answer.attachments;
  assertEquals(a.applied, '["ip route"]');
  assertEquals(a.reapply, { action: "run", reason: "would run 2 commands", run: [0, 1] });
});

Deno.test("explain: a refused command names its rule and reason; fail refuses the list, continue skips it", async () => {
  const d = deps();
  const answer = await explainPod(pod(REFUSED), [att({ applied: "" })], d);
  assertEquals(answer.allowed, false);
  const [a] = answer.attachments;
  assertEquals(a.commands.map((c) => c.allowed), [true, false, true]);
  assertEquals(a.commands[1].rule, "escape:netns-object");
  assertStringIncludes(a.commands[1].reason ?? "", "netns");
  assertEquals(a.reapply.action, "refuse");
  assertStringIncludes(a.reapply.reason, "command 2 is not allowed (escape:netns-object");

  const cont = await explainPod(pod(REFUSED), [att({ applied: "", onError: "continue" })], d);
  assertEquals(cont.attachments[0].reapply.action, "run");
  assertEquals(cont.attachments[0].reapply.run, [0, 2]);
});

Deno.test("explain: a malformed annotation and an invalid policy refuse the list with their codes", async () => {
  const bad = await explainPod(pod('["ip route"'), [att({ applied: "" })], deps());
  assertEquals(bad.allowed, false);
  assertEquals(bad.attachments[0].error?.code, 101);
  assertEquals(bad.attachments[0].commands, []);
  assertEquals(bad.attachments[0].reapply.action, "refuse");

  const policy = await explainPod(
    pod(ALLOWED),
    [att({ applied: "" })],
    deps({ loadPolicy: () => Promise.reject(new PolicyError("node policy: allow[0]: bad rule")) }),
  );
  const [a] = policy.attachments;
  assertEquals(a.error?.code, 7);
  assertStringIncludes(a.error?.msg ?? "", "invalid policy: node policy");
  assertEquals(a.commands.map((c) => [c.argv, c.rule]), [
    [["route", "add", "192.0.3.0/24", "dev", "net1"], "policy:invalid"],
    [["route"], "policy:invalid"],
  ]);
});

Deno.test("explain: list limits and namespace scope refuse the list as a whole", async () => {
  const scoped = await explainPod(
    pod(ALLOWED),
    [att()],
    deps({ loadPolicy: () => Promise.resolve(effectivePolicy({ namespaces: ["prod"] }, undefined)) }),
  );
  const [a] = scoped.attachments;
  assertEquals(a.allowed, false);
  assertEquals(a.error?.rule, "namespace:not-allowed");
  assertEquals(a.commands.every((c) => c.rule === "namespace:not-allowed"), true);
});

Deno.test("explain: the re-applier's skips: unknown applied value, another pod's UID, /proc netns, netns gone, object form", async () => {
  const value = JSON.stringify({ "net-a": ["ip route"], "*": ["ip addr"] });
  const gone = deps({ netnsState: () => Promise.resolve("gone") });
  const answer = await explainPod(pod(value), [
    att({ containerId: "unknown", applied: undefined }),
    att({ containerId: "stale", podUid: "uid-0" }),
    att({ containerId: "proc", netns: "/proc/42/ns/net" }),
    att({ containerId: "gone", netns: "/var/run/netns/gone" }),
    att({ containerId: "other-net", network: "net-b", applied: JSON.stringify({ "*": ["ip addr"] }) }),
  ], gone);
  const why = Object.fromEntries(answer.attachments.map((a) => [a.containerId, a.reapply]));
  for (const a of answer.attachments) assertEquals(a.reapply.action, "none", a.containerId);
  assertStringIncludes(why.unknown.reason, "unknown");
  assertStringIncludes(why.stale.reason, "another pod");
  assertStringIncludes(why.proc.reason, "/proc path");
  assertStringIncludes(why.gone.reason, "no longer exists");
  assertStringIncludes(why["other-net"].reason, "already applied");
  assertEquals(answer.attachments[4].commands.map((c) => c.argv), [["addr"]]);
  assertEquals(answer.attachments[0].commands.map((c) => c.argv), [["route"]]);
});

Deno.test("explain: the planner's own skip words: no commands for the network, terminating, finished", async () => {
  const other = JSON.stringify({ "net-b": ["ip route"] });
  const [noCommands] = (await explainPod(pod(other), [att()], deps())).attachments;
  assertEquals(noCommands.reapply.reason, "the value has no commands for network net-a on net1");
  const [terminating] =
    (await explainPod(pod("ip a", { deletionTimestamp: "2026-01-01T00:00:00Z" }), [att()], deps()))
      .attachments;
  assertEquals(terminating.reapply.reason, "the pod is terminating");
  const [done] = (await explainPod(pod("ip a", { phase: "Succeeded" }), [att()], deps())).attachments;
  assertEquals(done.reapply.reason, "the pod is Succeeded");
});

function routeDeps(over: Partial<ExplainRouteDeps> = {}): ExplainRouteDeps {
  const pods = new Map([["default/p1", pod(ALLOWED)]]);
  return {
    ...deps(),
    attachments: (ns, name) => ns === "default" && name === "p1" ? [att()] : [],
    cache: { get: (ns, name) => pods.get(`${ns}/${name}`) },
    synced: () => true,
    ...over,
  };
}

async function ask(d: ExplainRouteDeps, query: string, method = "GET"): Promise<Response> {
  const url = new URL(`http://chainsaw${ROUTES.explain.path}${query}`);
  return await createExplainRoute(d)(new Request(url, { method }), url);
}

Deno.test("explain route: 200 with the answer; 400, 404, 405 and 503 with a message", async () => {
  const ok = await ask(routeDeps(), "?pod=default/p1");
  assertEquals(ok.status, 200);
  const body = ExplainAnswerSchema.parse(await ok.json());
  assertEquals(body.attachments.length, 1);

  for (const q of ["", "?pod=default", "?pod=a/b/c", "?pod=%20/x"]) {
    const r = await ask(routeDeps(), q);
    assertEquals(r.status, 400, q);
    assertStringIncludes(await r.text(), "pod=NAMESPACE/NAME");
  }
  const none = await ask(routeDeps(), "?pod=default/p2");
  assertEquals(none.status, 404);
  assertStringIncludes(await none.text(), "pod default/p2 has no attachments on this node");
  const left = await ask(routeDeps({ cache: { get: () => undefined } }), "?pod=default/p1");
  assertEquals(left.status, 404);
  assertStringIncludes(await left.text(), "not in the pod cache");
  assertEquals((await ask(routeDeps(), "?pod=default/p1", "POST")).status, 405);
  const unsynced = await ask(routeDeps({ synced: () => false }), "?pod=default/p1");
  assertEquals(unsynced.status, 503);
  assertStringIncludes(await unsynced.text(), "not synced");
  const noCache = await ask(routeDeps({ cache: undefined }), "?pod=default/p1");
  assertEquals(noCache.status, 503);
  assertStringIncludes(await noCache.text(), "watches no pods");
  const thrown = await ask(
    routeDeps({ loadPolicy: () => Promise.reject(new Error("EACCES")) }),
    "?pod=default/p1",
  );
  assertEquals(thrown.status, 200, "an unexpected error is the attachment's, not the route's");
  assertEquals(ExplainAnswerSchema.parse(await thrown.json()).attachments[0].error?.code, 999);
});

Deno.test("explain: each attachment's NAD and the key that picks it; keys naming no attachment are warnings", async () => {
  const nad = "default/test-chainsaw";
  const value = JSON.stringify({ net2: "ip route", "test-chainsaw": "ip addr", nett2: "ip link", "*": [] });
  const atts = [
    att({ nad, network: "test-chainsaw-chain", applied: value }),
    att({ nad, network: "test-chainsaw-chain", ifname: "net2", applied: value }),
    att({ ifname: "net9", podUid: "other-uid", applied: value }), // another pod of this name: not counted
  ];
  const answer = await explainPod(pod(value), atts, deps());
  assertEquals(ExplainAnswerSchema.safeParse(answer).success, true);
  assertEquals(answer.attachments.map((a) => [a.ifname, a.nad, a.key, a.commands.map((c) => c.source)]), [
    ["net1", nad, "test-chainsaw", ["ip addr"]],
    ["net2", nad, "net2", ["ip route"]],
    ["net9", undefined, "*", []],
  ]);
  assertEquals(answer.warnings, [
    'key "nett2" of the chainsaw annotation matches none of the pod\'s attachments: net1 (network ' +
    "default/test-chainsaw, chain test-chainsaw-chain), net2 (network default/test-chainsaw, chain " +
    "test-chainsaw-chain); it does nothing",
  ]);
  assertEquals((await explainPod(pod('["ip route"]'), atts, deps())).warnings, undefined);
  assertEquals((await explainPod(pod("{"), atts, deps())).warnings, undefined); // malformed: each attachment's error
});

Deno.test("explain: declarative — a deleted annotation would take back what chainsaw owns; an edit says it takes back first", async () => {
  const item = {
    key: "link 2 mtu",
    kind: "link" as const,
    base: 1500,
    set: 1400,
    by: ["link set dev net1 mtu 1400"],
  };
  const owning = att({ mode: "declarative", effect: { items: [item] } });
  const [deleted] = (await explainPod(pod(undefined), [owning], deps())).attachments;
  assertEquals(deleted.reapply, {
    action: "run",
    reason: "would take back what chainsaw owns here (1 object), running no command",
    run: [],
  });
  const [edited] = (await explainPod(pod('["ip route"]'), [owning], deps())).attachments;
  assertEquals(edited.reapply.action, "run");
  assertStringIncludes(
    edited.reapply.reason,
    "first takes back what the old value set and this one does not",
  );
});
