import { deepEqual, equal } from "node:assert/strict";
import { parseCommandPrefixes, parseRulePrefix, prefixContains } from "./prefix.ts";

Deno.test("rule prefixes: full addresses, optional length", () => {
  deepEqual(parseRulePrefix("192.0.2.0/24"), { family: "inet", bytes: [192, 0, 2, 0], length: 24 });
  deepEqual(parseRulePrefix("192.0.2.1"), { family: "inet", bytes: [192, 0, 2, 1], length: 32 });
  equal(parseRulePrefix("2001:db8::/32")?.length, 32);
  deepEqual(parseRulePrefix("::ffff:1.2.3.4")?.bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  for (
    const bad of [
      "10/8",
      "192.0.2.0/33",
      "1.2.3.4/8/9",
      "2001:db8::/129",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "x",
      "",
    ]
  ) {
    equal(parseRulePrefix(bad), undefined, bad);
  }
});

Deno.test("command prefixes are read like iproute2, or not at all", () => {
  deepEqual(parseCommandPrefixes("10/8", undefined), [{ family: "inet", bytes: [10, 0, 0, 0], length: 8 }]);
  deepEqual(parseCommandPrefixes("10.8", undefined), [{ family: "inet", bytes: [10, 8, 0, 0], length: 32 }]);
  equal(parseCommandPrefixes("default", undefined)?.length, 2);
  deepEqual(parseCommandPrefixes("any", "inet6"), [{
    family: "inet6",
    bytes: new Array(16).fill(0),
    length: 0,
  }]);
  // iproute2 reads 010 as octal 8 and 0x0a as 10: chainsaw refuses to guess.
  for (
    const odd of [
      "010.0.0.1",
      "0x0a.0.0.1",
      "+10.0.0.1",
      "10.0.0.0/08",
      "10.0.0.0/255.0.0.0",
      "default/0",
      "fe80::1%eth0",
    ]
  ) {
    equal(parseCommandPrefixes(odd, undefined), undefined, odd);
  }
  equal(parseCommandPrefixes("10.0.0.1", "inet6"), undefined);
  equal(parseCommandPrefixes("100", "mpls"), undefined);
});

Deno.test("containment", () => {
  const net = parseRulePrefix("192.0.2.0/24")!;
  equal(prefixContains(net, parseRulePrefix("192.0.2.128/25")!), true);
  equal(prefixContains(net, parseRulePrefix("192.0.2.7")!), true);
  equal(prefixContains(net, parseRulePrefix("192.0.0.0/16")!), false);
  equal(prefixContains(net, parseRulePrefix("192.0.3.0/24")!), false);
  equal(prefixContains(net, parseRulePrefix("::/0")!), false);
  equal(prefixContains(parseRulePrefix("0.0.0.0/0")!, parseRulePrefix("203.0.113.9")!), true);
  equal(prefixContains(parseRulePrefix("2001:db8::/32")!, parseRulePrefix("2001:db8:1::/48")!), true);
  equal(prefixContains(parseRulePrefix("2001:db8::/32")!, parseRulePrefix("2001:db9::/48")!), false);
});
