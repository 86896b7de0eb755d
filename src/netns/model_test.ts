// Unit tests of the snapshot model (the real-netns tests are tests/netns_snapshot_test.ts).
import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { canonical, DumpError } from "./model.ts";
import { snap } from "./testdata/dumps.ts";

Deno.test("buildSnapshot drops kernel-managed fields and records families", () => {
  const s = snap();
  const eth = s.links[1];
  assertEquals(eth.flags, ["BROADCAST", "MULTICAST", "UP"]);
  for (const k of ["operstate", "qdisc", "promiscuity", "stats64", "linkmode"]) assert(!(k in eth), k);
  assertEquals(eth.linkinfo, { info_kind: "bridge", info_data: { stp_state: 0 } });
  assertEquals(s.addresses.map((a) => [a.family, a.dev, a.local, "valid_life_time" in a]), [
    [4, "eth0", "192.0.2.1", false],
    [4, "eth0", "192.0.2.2", false],
    [6, "eth0", "2001:db8::1", false],
  ]);
  assertEquals(s.addresses[2]._lifetimes, { valid: 3600, preferred: 1800 });
  assert(!("_lifetimes" in s.addresses[0]), "forever lifetimes are not kept");
  assertEquals(s.tentative, ["2001:db8::1"]);
  assertEquals(s.routes.map((r) => [r.family, r.dst, r.flags]), [
    [4, "default", []],
    [4, "192.0.2.0/24", []],
    [
      6,
      "2001:db8::1",
      [],
    ],
  ]);
  assertEquals(s.rules.map((r) => r.family), [4, 4]);
  assertThrows(() => snap({ route4: { not: "a list" } }), DumpError, "route show (v4)");
});

Deno.test("canonical ignores key order and _ fields", () => {
  assertEquals(canonical({ b: [1, { d: 2, c: 3 }], a: "x", _l: 9 }), '{"a":"x","b":[1,{"c":3,"d":2}]}');
  assertEquals(canonical({ a: 1, b: 2 }), canonical({ b: 2, a: 1 }));
});
