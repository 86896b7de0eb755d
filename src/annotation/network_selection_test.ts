import * as fc from "fast-check";
import { assertProperty } from "../../tests/support/property.ts";
import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { nadOfInterface, parseNetworkSelection, SelectionError } from "./network_selection.ts";

const names = (value: string, ns = "default") =>
  parseNetworkSelection(value, ns).map((e) =>
    `${e.namespace}/${e.name}=${e.interface}${e.explicit ? "!" : ""}`
  );

Deno.test("comma list: net1, net2, … in order; namespace and @interface forms (Multus's simple format)", () => {
  // Multus's "retrieves delegates from kubernetes using simple format annotation": "net1,net2".
  assertEquals(names("net1,net2"), ["default/net1=net1", "default/net2=net2"]);
  assertEquals(names("test-chainsaw"), ["default/test-chainsaw=net1"]);
  assertEquals(names("test-chainsaw, test-chainsaw"), [
    "default/test-chainsaw=net1",
    "default/test-chainsaw=net2",
  ]);
  assertEquals(names("other/a@sw0", "team"), ["other/a=sw0!"]);
  assertEquals(names("a , other/b , c@x1", "team"), ["team/a=net1", "other/b=net2", "team/c=x1!"]);
  // Blanks around each part are Multus's TrimSpace.
  assertEquals(names(" other / b @ x1 "), ["other/b=x1!"]);
});

Deno.test("an element that names its interface still takes its index: a@x, b gives x and net2", () => {
  assertEquals(names("a@x, b"), ["default/a=x!", "default/b=net2"]);
  assertEquals(names('[{"name":"a","interface":"sw0"},{"name":"a"},{"name":"b"}]'), [
    "default/a=sw0!",
    "default/a=net2",
    "default/b=net3",
  ]);
  // An element may name net<i> of a later one; Multus then fails the pod at the second ("already exists"):
  // the interface is the first element's.
  assertEquals(nadOfInterface("a@net2, b", "default", "net2"), "default/a");
});

Deno.test("JSON list: name, namespace, interface; the pre-3.2 interfaceRequest when interface is empty", () => {
  // Multus's "retrieves delegates from kubernetes using JSON format annotation".
  assertEquals(
    names(
      '[\n{"name":"net1"},\n{"name":"net2","ipRequest":"1.2.3.4","macRequest":"aa:bb:cc:dd:ee:ff"},\n' +
        '{"name":"net3","namespace":"other-ns"}\n]',
    ),
    ["default/net1=net1", "default/net2=net2", "other-ns/net3=net3"],
  );
  // The capture's selection (i-1.0.0-ADD-interface-sw0-cni-args).
  assertEquals(names('[{"name":"test-chainsaw","interface":"sw0","cni-args":{"chainsawBench":"yes"}}]'), [
    "default/test-chainsaw=sw0!",
  ]);
  assertEquals(names('[{"name":"a","interfaceRequest":"old0"}]'), ["default/a=old0!"]);
  assertEquals(names('[{"name":"a","interface":"new0","interfaceRequest":"old0"}]'), ["default/a=new0!"]);
  assertEquals(names("[]"), []);
  // Without [, { or " it is a comma list, whatever it says.
  assertEquals(names("null"), ["default/null=net1"]);
  assertEquals(names(""), []);
});

Deno.test("JSON members match case-insensitively, the last one written wins, null leaves a member unset", () => {
  // Go's encoding/json, which Multus uses.
  assertEquals(names('[{"Name":"a","NameSpace":"x","INTERFACE":"i0"}]'), ["x/a=i0!"]);
  assertEquals(names('[{"name":"a","name":"b"}]'), ["default/b=net1"]);
  assertEquals(names('[{"name":"a","Name":"b"}]'), ["default/b=net1"]);
  assertEquals(names('[{"name":"a","interface":null,"namespace":null}]'), ["default/a=net1"]);
});

Deno.test('a value with [, { or " anywhere is JSON; a comma list never is', () => {
  assertThrows(() => parseNetworkSelection('a, "b"', "default"), SelectionError, "not valid JSON");
  assertThrows(() => parseNetworkSelection('{"name":"a"}', "default"), SelectionError, "not a list");
});

Deno.test("what Multus refuses is refused, and an attachment of such a pod has no NAD", () => {
  // Multus's "fails to get podnetwork given bad annotation values".
  for (
    const bad of [
      "root@someIP/root@someOtherIP/root@thirdIP",
      "root@someIP/root@someOtherIP@garbagevalue",
      "root@someIP/root@someOtherIP",
      "Upper",
      "a,,b",
      "a,",
      "-a",
      "a/",
      "[1]",
      "[null]",
      '[{"name":3}]',
      '[{"namespace":"x"}]',
      '[{"name":"a","interface":1}]',
      "[",
    ]
  ) {
    assertThrows(() => parseNetworkSelection(bad, "default"), SelectionError);
    assertEquals(nadOfInterface(bad, "default", "net1"), undefined, bad);
  }
});

Deno.test("nadOfInterface: the element Multus set up the interface for; none for eth0 or an unlisted one", () => {
  assertEquals(nadOfInterface("test-chainsaw", "default", "net1"), "default/test-chainsaw");
  assertEquals(nadOfInterface("test-chainsaw", "default", "eth0"), undefined);
  assertEquals(nadOfInterface("a, other/b", "default", "net2"), "other/b");
  assertEquals(nadOfInterface("a, other/b", "default", "net3"), undefined);
  assertEquals(nadOfInterface(undefined, "default", "net1"), undefined);
});

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?$/);
const element = fc.record({
  ns: fc.option(label, { nil: undefined }),
  name: label,
  ifname: fc.option(label),
});

Deno.test("the comma list and the JSON list of the same selection name the same NADs and interfaces", () => {
  assertProperty(
    fc.property(fc.array(element, { minLength: 1, maxLength: 6 }), fc.boolean(), (list, blanks) => {
      const sep = blanks ? " , " : ",";
      const comma = list.map((e) => `${e.ns ? `${e.ns}/` : ""}${e.name}${e.ifname ? `@${e.ifname}` : ""}`)
        .join(sep);
      const json = JSON.stringify(list.map((e) => ({
        name: e.name,
        ...(e.ns ? { namespace: e.ns } : {}),
        ...(e.ifname ? { interface: e.ifname } : {}),
      })));
      const a = parseNetworkSelection(comma, "pod-ns");
      assertEquals(a, parseNetworkSelection(json, "pod-ns"));
      // By construction: element i is named by its own interface or net<i+1>, in the pod's namespace when bare.
      list.forEach((e, i) => {
        assertEquals(a[i].interface, e.ifname || `net${i + 1}`);
        assertEquals(a[i].namespace, e.ns ?? "pod-ns");
      });
    }),
    { numRuns: 300 },
  );
});
