import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { AnnotationError, parseAnnotation } from "./annotation.ts";
import { prepareCommand } from "./prepare.ts";

Deno.test("parseAnnotation accepts a JSON list, a JSON string and a bare command", () => {
  assertEquals(parseAnnotation('["ip route"," ip addr"]\n', "n"), ["ip route", "ip addr"]);
  assertEquals(parseAnnotation('"ip route"', "n"), ["ip route"]);
  assertEquals(parseAnnotation("ip route", "n"), ["ip route"]);
  assertEquals(parseAnnotation("   ", "n"), []);
  assertEquals(parseAnnotation(undefined, "n"), []);
  assertEquals(parseAnnotation("[]", "n"), []);
});

Deno.test("parseAnnotation picks the network's entry from an object, then '*'", () => {
  const v = '{"net-a": ["ip route"], "*": "ip addr"}';
  assertEquals(parseAnnotation(v, "net-a"), ["ip route"]);
  assertEquals(parseAnnotation(v, "other"), ["ip addr"]);
  assertEquals(parseAnnotation('{"net-a": "ip route"}', "other"), []);
});

Deno.test("parseAnnotation explains malformed values", () => {
  assertThrows(() => parseAnnotation('["ip route"', "n"), AnnotationError, "not valid JSON");
  assertThrows(() => parseAnnotation('["ip route", 3]', "n"), AnnotationError, "JSON list of strings");
  assertThrows(
    () => parseAnnotation('{"a": [1]}', "a"),
    AnnotationError,
    `must map each key (interface, network, chain name or "*") to a command or a list of commands: key "a":`,
  );
  assertThrows(() => parseAnnotation('["ip route", "  "]', "n"), AnnotationError, "command 2 is empty");
  assertThrows(() => parseAnnotation("[null]", "n"), AnnotationError);
});

Deno.test("prepareCommand drops a leading ip and substitutes CURRENT_INTERFACE as whole words", () => {
  assertEquals(prepareCommand("ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "net1").argv, [
    "route",
    "add",
    "192.0.3.0/24",
    "dev",
    "net1",
  ]);
  assertEquals(prepareCommand("addr", "eth0").argv, ["addr"]);
  assertEquals(prepareCommand("link set CURRENT_INTERFACEx up", "eth0").argv, [
    "link",
    "set",
    "CURRENT_INTERFACEx",
    "up",
  ]);
  assertEquals(prepareCommand("link set CURRENT_INTERFACE alias CURRENT_INTERFACE", "e").argv, [
    "link",
    "set",
    "e",
    "alias",
    "e",
  ]);
  assertThrows(() => prepareCommand("ip", "eth0"));
});
