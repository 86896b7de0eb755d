import { assertEquals } from "../../tests/support/assert.ts";
import { errorText } from "./error_text.ts";

Deno.test("errorText: a bug's JavaScript error is named, a parse error and chainsaw's own errors are not", () => {
  assertEquals(errorText(new TypeError("x is undefined")), "TypeError: x is undefined");
  assertEquals(errorText(new RangeError("RangeError: twice")), "RangeError: twice");
  assertEquals(errorText(new Error("cannot read")), "cannot read");
  let parse: unknown;
  try {
    JSON.parse("{");
  } catch (e) {
    parse = e;
  }
  assertEquals(errorText(parse), (parse as SyntaxError).message, "JSON.parse's message reads alone");
  assertEquals(errorText("plain"), "plain");
  assertEquals(errorText(undefined), "undefined");
});

Deno.test("errorText: Error, subclass, non-error", () => {
  assertEquals(errorText(new Error("bad")), "bad");
  assertEquals(errorText(new TypeError("bad")), "TypeError: bad");
  assertEquals(errorText(new Deno.errors.NotFound("no such file")), "no such file");
  class KubeApiError extends Error {
    override name = "KubeApiError";
  }
  assertEquals(errorText(new KubeApiError("PATCH …: 503")), "PATCH …: 503");
  assertEquals(errorText("plain"), "plain");
  assertEquals(errorText(42), "42");
});
