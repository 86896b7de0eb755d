import * as z from "zod/mini";
import { assertEquals } from "../../tests/support/assert.ts";
import { describeZodIssue } from "./zod_issue.ts";

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
