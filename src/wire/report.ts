/**
 * The boundary check for reports arriving on the daemon socket (and read back by `chainsaw logs`): a zod schema
 * for {@link Report}. Unknown keys are dropped, strings are bounded, so what lands in the ring and the log is
 * exactly a Report.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import * as z from "zod/mini";
import type { Report } from "../report/report.ts";

/** Largest accepted report body, in bytes. Command output is capped by policy long before this. */
export const MAX_REPORT_BYTES = 1024 * 1024;

const shortText = z.string().check(z.maxLength(4096));

/** One command's result. */
export const CommandResultSchema = z.object({
  command: z.string(),
  argv: z.array(z.string()),
  exitCode: z.nullable(z.int()),
  signal: z.nullable(shortText),
  timedOut: z.boolean(),
  durationMs: z.number().check(z.gte(0)),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  kept: z.optional(z.boolean()),
});

/** What a declarative run did to what chainsaw owns. */
export const EffectRecordSchema = z.object({
  owned: z.int().check(z.gte(0)),
  takenBack: z.array(shortText).check(z.maxLength(256)),
  leftAlone: z.array(shortText).check(z.maxLength(256)),
});

/** What a rollback did (`onError: "rollback"`). */
export const RollbackSchema = z.union([
  z.object({ restored: z.literal(true), durationMs: z.number().check(z.gte(0)) }),
  z.object({
    restored: z.literal(false),
    durationMs: z.number().check(z.gte(0)),
    failures: z.array(shortText).check(z.maxLength(64)),
  }),
]);

/** A report, as the plugin sends it. */
export const ReportSchema = z.object({
  v: z.literal(1),
  time: z.string().check(z.maxLength(64)),
  verb: z.string().check(z.minLength(1), z.maxLength(16)),
  node: z.optional(shortText),
  pod: z.optional(z.object({ namespace: shortText, name: shortText, uid: shortText })),
  containerId: shortText,
  netns: shortText,
  ifname: shortText,
  network: shortText,
  nad: z.optional(shortText),
  source: z.optional(z.enum(["runtime", "daemon", "api", "none"])),
  annotation: z.optional(z.string()),
  traceId: z.optional(z.string().check(z.regex(/^[0-9a-f]{32}$/))),
  key: z.optional(z.string()),
  warnings: z.optional(z.array(z.string()).check(z.maxLength(256))),
  detected: z.array(z.string()),
  commands: z.array(CommandResultSchema),
  verdict: z.enum(["applied", "failed", "rejected", "nothing", "error"]),
  error: z.optional(z.object({ code: z.int(), msg: z.string() })),
  rollback: z.optional(RollbackSchema),
  effect: z.optional(EffectRecordSchema),
  durationMs: z.number().check(z.gte(0)),
});

// Compile-time guard: a decoded report is a Report.
const _isReport = (r: z.infer<typeof ReportSchema>): Report => r;
void _isReport;

/** Why a body was refused. */
export class ReportDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReportDecodeError";
  }
}

/** Decodes JSON text into a Report; throws {@link ReportDecodeError} naming the first problem. */
export function decodeReport(text: string): Report {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ReportDecodeError(`not JSON: ${errorText(e)}`, { cause: e });
  }
  const r = ReportSchema.safeParse(data);
  if (!r.success) {
    throw new ReportDecodeError(describeZodIssue(r.error));
  }
  return r.data;
}

/** `namespace/name` of the report's pod, or undefined. */
export function podKey(r: Report): string | undefined {
  return r.pod ? `${r.pod.namespace}/${r.pod.name}` : undefined;
}
