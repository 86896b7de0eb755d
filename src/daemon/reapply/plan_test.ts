/** Re-apply planning: per attachment, once per distinct value, object form by network, nothing when deleted. */
import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import type { CachedPod } from "../pods/pod_cache.ts";
import type { Attachment } from "../attachments/attachment_store.ts";
import { attachmentOf, planReapply, type ReapplyStep } from "./plan.ts";

const pod = (extra: Partial<CachedPod> = {}): CachedPod => ({
  namespace: "ns",
  name: "p",
  uid: "u1",
  resourceVersion: "5",
  phase: "Running",
  annotations: {},
  ...extra,
});

const att = (ifname: string, network: string, extra: Partial<Attachment> = {}): Attachment => ({
  containerId: "c1",
  netns: "/var/run/netns/x",
  ifname,
  network,
  podUid: "u1",
  namespace: "ns",
  name: "p",
  ...extra,
});

const summary = (steps: ReapplyStep[]) =>
  steps.map((s) =>
    `${s.attachment.ifname}: ${"commands" in s ? s.commands.join(" | ") : `error ${s.error}`}`
  );

Deno.test("plan: a new list runs on every attachment of the pod; other pods' attachments are ignored", () => {
  const atts = [att("net1", "a"), att("net2", "b"), att("eth0", "a", { podUid: "other" })];
  const steps = planReapply(
    pod(),
    atts,
    '["ip r"]',
    '["ip route add 10.0.0.0/8 dev CURRENT_INTERFACE", "ip r"]',
  );
  assertEquals(summary(steps), [
    "net1: ip route add 10.0.0.0/8 dev CURRENT_INTERFACE | ip r",
    "net2: ip route add 10.0.0.0/8 dev CURRENT_INTERFACE | ip r",
  ]);
  assertEquals(steps[0].value, '["ip route add 10.0.0.0/8 dev CURRENT_INTERFACE", "ip r"]');
});

Deno.test("plan: nothing when the annotation is deleted or blank, the pod terminates or finished, or has no attachments", () => {
  const atts = [att("net1", "a")];
  assertEquals(planReapply(pod(), atts, "ip r", undefined), []);
  assertEquals(planReapply(pod(), atts, "ip r", "  "), []);
  assertEquals(planReapply(pod({ deletionTimestamp: "2026-01-01T00:00:00Z" }), atts, "ip r", "ip a"), []);
  assertEquals(planReapply(pod({ phase: "Succeeded" }), atts, "ip r", "ip a"), []);
  assertEquals(planReapply(pod({ phase: "Failed" }), atts, "ip r", "ip a"), []);
  assertEquals(planReapply(pod(), [], "ip r", "ip a"), []);
  assertEquals(summary(planReapply(pod({ phase: "Pending" }), atts, "ip r", "ip a")), ["net1: ip a"]);
});

Deno.test("plan: once per distinct value — the attachment's applied value wins over the event's old value", () => {
  assertEquals(planReapply(pod(), [att("net1", "a", { applied: "ip a" })], "ip r", "ip a"), []);
  assertEquals(summary(planReapply(pod(), [att("net1", "a", { applied: "ip a" })], "ip a", "ip r")), [
    "net1: ip r",
  ]);
  assertEquals(planReapply(pod(), [att("net1", "a")], "ip a", "ip a"), []);
  // unknown applied value and no old value: the annotation was added to a running pod
  assertEquals(summary(planReapply(pod(), [att("net1", "a")], undefined, "ip a")), ["net1: ip a"]);
  // "" = the pod had no annotation at ADD
  assertEquals(summary(planReapply(pod(), [att("net1", "a", { applied: "" })], undefined, "ip a")), [
    "net1: ip a",
  ]);
  // the same commands written differently are not re-run
  assertEquals(planReapply(pod(), [att("net1", "a", { applied: '["ip a"]' })], undefined, '"ip a"'), []);
});

Deno.test("plan: object form keyed by network name with '*'; unchanged entries are not re-run", () => {
  const atts = [att("net1", "a"), att("net2", "b"), att("net3", "c")];
  const old = JSON.stringify({ a: "ip r", b: ["ip a"] });
  const next = JSON.stringify({ a: "ip r", b: ["ip a", "ip l"], "*": "ip n" });
  assertEquals(summary(planReapply(pod(), atts, old, next)), ["net2: ip a | ip l", "net3: ip n"]);
  assertEquals(planReapply(pod(), [att("net1", "z")], undefined, JSON.stringify({ a: "ip r" })), []);
});

Deno.test("plan: an unparsable value gives an error step per attachment", () => {
  const atts = [att("net1", "a"), att("net2", "b")];
  const bad = summary(planReapply(pod(), atts, "ip r", '["ip r", 3]'));
  assertEquals(bad.length, 2);
  assertStringIncludes(bad[0], `net1: error annotation ${ANNOTATION} must be a JSON list of strings`);
});

Deno.test("plan: attachments without a pod UID match by namespace and name", () => {
  assertEquals(attachmentOf(pod(), att("x", "a", { podUid: "" })), true);
  assertEquals(attachmentOf(pod(), att("x", "a", { podUid: "", name: "q" })), false);
  assertEquals(attachmentOf(pod({ uid: "u2" }), att("x", "a")), false);
});

Deno.test("plan: declarative — a deleted, blank or commandless value takes back what the attachment owns", () => {
  const item = {
    key: "link 2 mtu",
    kind: "link" as const,
    base: 1500,
    set: 1400,
    by: ["link set dev net1 mtu 1400"],
  };
  const owning = att("net1", "a", {
    mode: "declarative",
    applied: '["ip link set dev net1 mtu 1400"]',
    effect: { items: [item] },
  });
  const empty = att("net2", "b", { mode: "declarative", applied: '["ip r"]' });
  const imperative = att("net3", "c", { mode: "imperative", applied: "x", effect: { items: [item] } });
  for (const value of [undefined, "", "  "]) {
    assertEquals(summary(planReapply(pod(), [owning, empty, imperative], undefined, value)), ["net1: "]);
  }
  // An object form without an entry for the network: the same.
  assertEquals(summary(planReapply(pod(), [owning, empty], undefined, '{"b": "ip route"}')), [
    "net1: ",
    "net2: ip route",
  ]);
  // Once taken back (applied "", nothing owned), a blank value is not run again.
  assertEquals(planReapply(pod(), [{ ...owning, applied: "", effect: undefined }], undefined, ""), []);
});

Deno.test("plan: keys by interface and NAD (stored at ADD): an edit of net2's entry re-applies net2 only", () => {
  const nad = "ns/test-chainsaw";
  const atts = [att("net1", "chain", { nad }), att("net2", "chain", { nad })];
  const before = JSON.stringify({
    "test-chainsaw": "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
    net2: "ip a",
  });
  const after = JSON.stringify({
    "test-chainsaw": "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
    net2: "ip r",
  });
  assertEquals(summary(planReapply(pod(), atts.map((a) => ({ ...a, applied: before })), before, after)), [
    "net2: ip r",
  ]);
  // Without the stored NAD the bare NAD key names nothing: net1 has no commands.
  assertEquals(summary(planReapply(pod(), [att("net1", "chain")], undefined, after)), []);
  assertEquals(summary(planReapply(pod(), [atts[0]], undefined, after)), [
    "net1: ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
  ]);
});
