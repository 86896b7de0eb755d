/**
 * The schemas of CNI CHECK on the daemon socket ({@link ./check.ts}), in their own module so that the plugin loads
 * zod only for an answer the plain check does not accept.
 * @module
 */
import * as z from "zod/mini";
import {
  CHECK_VERDICTS,
  type CheckAnswer,
  type CheckRequest,
  MAX_CHECK_DIFFERENCES,
  MAX_CHECK_LINE,
} from "./check.ts";

const shortText = z.string().check(z.minLength(1), z.maxLength(4096));

/** The request schema (the daemon's side). */
export const CheckRequestSchema: z.ZodMiniType<CheckRequest> = z.object({
  containerId: shortText,
  ifname: shortText,
  network: shortText,
});

/** The answer schema. */
export const CheckAnswerSchema: z.ZodMiniType<CheckAnswer> = z.object({
  verdict: z.enum(CHECK_VERDICTS),
  owned: z.int().check(z.gte(0)),
  differences: z.array(z.string().check(z.maxLength(MAX_CHECK_LINE))).check(
    z.maxLength(MAX_CHECK_DIFFERENCES),
  ),
  total: z.optional(z.int().check(z.gte(0))),
});
