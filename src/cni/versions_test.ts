import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { checkVersion, compareVersions } from "./versions.ts";
import { CniError } from "./errors.ts";

Deno.test("checkVersion accepts supported versions per verb", () => {
  for (const v of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) checkVersion("ADD", v);
  checkVersion("CHECK", "0.4.0");
  checkVersion("GC", "1.1.0");
  assertEquals(compareVersions("0.10.0", "0.4.0") > 0, true);
});

Deno.test("checkVersion rejects unsupported versions and too-old verbs with code 1", () => {
  const cases: [string, string, string][] = [
    ["ADD", "0.2.0", "incompatible CNI versions"],
    ["ADD", "2.0.0", "incompatible CNI versions"],
    ["CHECK", "0.3.1", "config version does not allow CHECK"],
    ["STATUS", "1.0.0", "config version does not allow STATUS"],
    ["GC", "0.4.0", "config version does not allow GC"],
  ];
  for (const [verb, v, msg] of cases) {
    const e = assertThrows(() => checkVersion(verb, v), CniError) as CniError;
    assertEquals([e.code, e.message], [1, msg]);
  }
  assertEquals((assertThrows(() => checkVersion("ADD", "1.0")) as CniError).code, 6);
});
