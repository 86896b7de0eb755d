import * as fc from "fast-check";
import { assertProperty } from "../../tests/support/property.ts";
import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { AnnotationError } from "./annotation.ts";
import {
  type AttachmentName,
  describeAttachment,
  keysOf,
  resolveCommands,
  unmatchedKeys,
  unmatchedKeyWarning,
} from "./resolve.ts";

const chain = "test-chainsaw-chain";
const net1: AttachmentName = {
  ifname: "net1",
  network: chain,
  nad: "default/test-chainsaw",
  podNamespace: "default",
};
const net2: AttachmentName = { ...net1, ifname: "net2" };
const eth0: AttachmentName = { ifname: "eth0", network: "k8s-pod-network", podNamespace: "default" };

const key = (value: unknown, a: AttachmentName) => resolveCommands(JSON.stringify(value), a).key;

Deno.test("a list is for every attachment; no key", () => {
  assertEquals(resolveCommands('["ip route", " ip addr "]', net1), { commands: ["ip route", "ip addr"] });
  assertEquals(resolveCommands("ip route", eth0), { commands: ["ip route"] });
  assertEquals(resolveCommands(undefined, net1), { commands: [] });
});

Deno.test("each key form picks the attachment: interface, NAD both spellings, chain name, '*'", () => {
  assertEquals(resolveCommands('{"net2": "ip route"}', net2), { commands: ["ip route"], key: "net2" });
  assertEquals(key({ "default/test-chainsaw": [] }, net1), "default/test-chainsaw");
  assertEquals(key({ "test-chainsaw": [] }, net1), "test-chainsaw");
  assertEquals(key({ [chain]: [] }, net1), chain);
  assertEquals(key({ "*": [] }, net1), "*");
  assertEquals(resolveCommands('{"net9": "ip route"}', net1), { commands: [] });
});

Deno.test("the most specific key wins whatever the order written", () => {
  const all = {
    "*": "ip a",
    [chain]: "ip b",
    "test-chainsaw": "ip c",
    "default/test-chainsaw": "ip d",
    net2: "ip e",
  };
  assertEquals(resolveCommands(JSON.stringify(all), net2), { commands: ["ip e"], key: "net2" });
  assertEquals(resolveCommands(JSON.stringify(all), net1), {
    commands: ["ip d"],
    key: "default/test-chainsaw",
  });
  const { "default/test-chainsaw": _d, ...noFull } = all;
  assertEquals(key(noFull, net1), "test-chainsaw");
  const { "test-chainsaw": _c, ...noNad } = noFull;
  assertEquals(key(noNad, net1), chain);
  assertEquals(key({ "*": "ip a", [chain]: "ip b" }, eth0), "*");
});

Deno.test("a bare NAD name means the pod's namespace only", () => {
  const other: AttachmentName = { ...net1, nad: "other/test-chainsaw" };
  assertEquals(key({ "test-chainsaw": "ip a" }, other), undefined);
  assertEquals(key({ "other/test-chainsaw": "ip a" }, other), "other/test-chainsaw");
  assertEquals(keysOf(other), ["net1", "other/test-chainsaw", chain, "*"]);
  assertEquals(keysOf(net1), ["net1", "default/test-chainsaw", "test-chainsaw", chain, "*"]);
});

Deno.test("the same NAD twice: each interface gets its own commands", () => {
  const v =
    '{"net1": "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "net2": "ip route add 192.0.4.0/24 ' +
    'dev CURRENT_INTERFACE"}';
  assertEquals(resolveCommands(v, net1).commands, ["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]);
  assertEquals(resolveCommands(v, net2).commands, ["ip route add 192.0.4.0/24 dev CURRENT_INTERFACE"]);
});

Deno.test("malformed values and empty commands in the picked entry are errors; other entries' are not run", () => {
  assertThrows(() => resolveCommands('{"net1": [1]}', net2), AnnotationError, 'key "net1"');
  assertThrows(
    () => resolveCommands('{"net1": ["ip route", " "]}', net1),
    AnnotationError,
    "command 2 is empty",
  );
  assertEquals(resolveCommands('{"net1": ["ip route", " "], "net2": "ip addr"}', net2).commands, ["ip addr"]);
  assertThrows(() => resolveCommands("[1]", net1), AnnotationError, "JSON list of strings");
  // "__proto__" is an ordinary key (JSON.parse makes it an own member).
  assertEquals(resolveCommands('{"__proto__": "ip a", "*": "ip b"}', net1).key, "*");
});

Deno.test("unmatchedKeys: keys that name none of the pod's attachments, never '*'", () => {
  const v = JSON.stringify({ net1: [], "test-chainsaw": [], nett2: [], "default/test-chainsw": [], "*": [] });
  assertEquals(unmatchedKeys(v, [net1, net2]), ["nett2", "default/test-chainsw"]);
  assertEquals(unmatchedKeys(JSON.stringify({ [chain]: [], eth0: [] }), [net1, eth0]), []);
  assertEquals(unmatchedKeys('["ip route"]', [net1]), []);
  assertEquals(unmatchedKeys(undefined, []), []);
  assertEquals(unmatchedKeys('{"*": "ip route", "x": []}', []), ["x"]);
});

Deno.test("the warning names the key and every attachment: interface, NAD, chain", () => {
  assertEquals(
    unmatchedKeyWarning("net3", [net1, eth0]),
    'key "net3" of the chainsaw annotation matches none of the pod\'s attachments: net1 (network ' +
      "default/test-chainsaw, chain test-chainsaw-chain), eth0 (chain k8s-pod-network); it does nothing",
  );
  assertStringIncludes(unmatchedKeyWarning("x", []), "attachments: none");
});

Deno.test("describeAttachment names the NAD next to the chain when there is one", () => {
  assertEquals(describeAttachment(net1), "network default/test-chainsaw (chain test-chainsaw-chain) on net1");
  assertEquals(describeAttachment(eth0), "network k8s-pod-network on eth0");
});

const word: fc.Arbitrary<string> = fc.constantFrom(
  "net1",
  "net2",
  "eth0",
  "default/a",
  "other/a",
  "a",
  "b",
  "chain-a",
  "chain-b",
  "*",
);

Deno.test("resolution is the first of the attachment's keys (most specific first) present in the value", () => {
  const attachment = fc.record({
    ifname: fc.constantFrom("net1", "net2", "eth0"),
    network: fc.constantFrom("chain-a", "chain-b", "a"),
    nad: fc.option(fc.constantFrom("default/a", "other/a", "default/b"), { nil: undefined }),
    podNamespace: fc.constant("default"),
  });
  const check = (keys: string[], a: AttachmentName) => {
    const value = JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, `ip route show table ${i}`])));
    const r = resolveCommands(value, a);
    const expected = keysOf(a).find((k) => keys.includes(k));
    assertEquals(r.key, expected);
    assertEquals(r.commands, expected === undefined ? [] : [`ip route show table ${keys.indexOf(expected)}`]);
    // A key unmatched for [a] is never the one picked for a; "*" is never unmatched.
    for (const k of unmatchedKeys(value, [a])) assertEquals(k === r.key || k === "*", false);
  };
  assertProperty(
    fc.property(fc.uniqueArray(word, { maxLength: 6 }), attachment, fc.nat(), (keys, a, n) => {
      check(keys, a);
      // Every run also checks a value that names the attachment (one of its keys added): a key is picked.
      const own = keysOf(a)[n % keysOf(a).length];
      check(keys.includes(own) ? keys : [...keys, own], a);
    }),
    { numRuns: 500 },
  );
});
