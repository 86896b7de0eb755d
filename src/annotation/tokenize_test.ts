import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { findControlCharacter, tokenize, TokenizeError } from "./tokenize.ts";

Deno.test("tokenize splits on blanks and keeps quoting literal", () => {
  assertEquals(tokenize("  route add 192.0.3.0/24   dev net1 "), [
    "route",
    "add",
    "192.0.3.0/24",
    "dev",
    "net1",
  ]);
  assertEquals(tokenize('link set dev \'a b\' alias "x \\"y\\" z"'), [
    "link",
    "set",
    "dev",
    "a b",
    "alias",
    'x "y" z',
  ]);
  assertEquals(tokenize("a\\ b c"), ["a b", "c"]);
  assertEquals(tokenize("x '' y"), ["x", "", "y"]);
  assertEquals(tokenize("route;reboot $(id) `id` | sh"), ["route;reboot", "$(id)", "`id`", "|", "sh"]);
  assertEquals(tokenize(""), []);
});

Deno.test("tokenize rejects control characters and unterminated quotes", () => {
  for (const bad of ["route\nadd", "route\u0000", "a\u001b[31m", "\u202eroute", "x\u0085", "r\u2028"]) {
    assertThrows(() => tokenize(bad), TokenizeError);
  }
  assertThrows(() => tokenize("route 'add"), TokenizeError, "unterminated single quote");
  assertThrows(() => tokenize('route "add'), TokenizeError, "unterminated double quote");
  assertThrows(() => tokenize("route \\"), TokenizeError, "trailing backslash");
  assertEquals(findControlCharacter("ok\ttab"), undefined);
  assertEquals(findControlCharacter("a\u0007"), "U+0007 at offset 1");
});
