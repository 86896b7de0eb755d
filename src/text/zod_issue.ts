/**
 * The one way chainsaw words a schema failure: the first issue, as `path.to.key: message` (`[2]` for list
 * positions), so a user sees the same shape of message from stdin, the annotation, a kubeconfig, a policy file, a
 * state file or a socket body.
 *
 * @example
 * ```ts
 * import * as z from "zod/mini";
 * import { describeZodIssue } from "./zod_issue.ts";
 * const r = z.object({ a: z.array(z.string()) }).safeParse({ a: ["x", 1] });
 * if (!r.success) describeZodIssue(r.error); // "a[1]: Invalid input"
 * ```
 * @module
 */
import type * as z from "zod/mini";

/**
 * Describes a zod error by its first issue.
 *
 * @param error the failed parse's error
 * @param prefix a path to put in front (e.g. `"prevResult"`)
 * @returns `path: message`, or just the message when the issue is at the root
 */
export function describeZodIssue(error: z.core.$ZodError, prefix = ""): string {
  const issue = error.issues[0];
  if (!issue) return prefix ? `${prefix}: invalid` : "invalid";
  let path = prefix;
  for (const p of issue.path) {
    path += typeof p === "number" ? `[${p}]` : path === "" ? String(p) : `.${String(p)}`;
  }
  return path ? `${path}: ${issue.message}` : issue.message;
}
