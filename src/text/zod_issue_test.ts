import * as z from "zod/mini";
import { assertEquals } from "../../tests/support/assert.ts";
import { describeZodIssue } from "./zod_issue.ts";
import { errorText } from "./error_text.ts";

Deno.test("describeZodIssue: path with keys and list positions, prefix, root", () => {
  const s = z.object({ a: z.object({ b: z.array(z.string()) }) });
  const r = s.safeParse({ a: { b: ["x", 1] } });
  assertEquals(r.success, false);
  if (!r.success) {
    assertEquals(describeZodIssue(r.error).startsWith("a.b[1]: "), true);
    assertEquals(describeZodIssue(r.error, "conf").startsWith("conf.a.b[1]: "), true);
  }
  const root = z.string().safeParse(1);
  if (!root.success) assertEquals(describeZodIssue(root.error), root.error.issues[0].message);
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
