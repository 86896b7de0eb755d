import { assertEquals } from "../../tests/support/assert.ts";
import { rawMember } from "./raw_json.ts";

Deno.test("rawMember returns the member's exact text", () => {
  const prev =
    '{ "cniVersion" : "1.1.0", "routes": [{"dst":"0.0.0.0/0","table":100,"mtu":1.50e3}],"x":"}\\"]" }';
  const text = `{"cniVersion":"1.1.0","name":"n","prevResult": ${prev} ,"type":"chainsaw","z":[1,{"a":"["}]}`;
  assertEquals(rawMember(text, "prevResult"), prev);
  assertEquals(rawMember(text, "z"), '[1,{"a":"["}]');
  assertEquals(rawMember(text, "name"), '"n"');
  assertEquals(rawMember(text, "missing"), undefined);
  assertEquals(rawMember('{"a":1,"a":2}', "a"), "2");
  assertEquals(rawMember("{}", "a"), undefined);
  assertEquals(rawMember('{"a":true}', "a"), "true");
});
