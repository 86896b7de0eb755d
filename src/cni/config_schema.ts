/**
 * The zod schemas of the network configuration ({@link ./config.ts}) and the strict decoders built on them: the
 * source of truth for what is valid and how an invalid value is worded. The plugin's start-up does not load this
 * module (zod's initialisation and these schemas cost ≈ 3–5 ms per CNI call): `config.ts` accepts the usual valid
 * shapes by plain checks and imports this module only to decide and word anything else
 * (`config_test.ts` holds the two to the same answers).
 * @module
 */
import { errorText } from "../text/error_text.ts";
import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import { CNI_NAME, type NetConf, type PrevResult } from "./config.ts";

/** The keys every plugin configuration has. */
export const BaseConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.string(),
  type: z.optional(z.string()),
});

/** A previous result, as far as chainsaw reads it. */
export const PrevResultSchema: z.ZodMiniType<PrevResult> = z.looseObject({
  cniVersion: z.optional(z.string()),
  interfaces: z.optional(z.array(z.looseObject({ name: z.string(), sandbox: z.optional(z.string()) }))),
  ips: z.optional(z.array(z.looseObject({ address: z.string() }))),
  routes: z.optional(z.array(z.looseObject({ dst: z.string() }))),
});

/** Decodes stdin into a {@link NetConf} by the schema: code 6 when it is not JSON, 7 when `name` is missing or malformed. */
export function decodeNetConfStrict(stdin: string): NetConf {
  let data: unknown;
  try {
    data = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error decoding network config from stdin: ${errorText(e)}`,
      "",
      { cause: e },
    );
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      "error decoding network config from stdin: not a JSON object",
    );
  }
  const base = BaseConfSchema.safeParse(data);
  if (!base.success) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid network config: ${describeZodIssue(base.error)}`,
    );
  }
  if (!CNI_NAME.test(base.data.name)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "invalid characters found in network name",
      base.data.name,
    );
  }
  // The spec's decoder treats a missing cniVersion as "0.1.0", which chainsaw does not support.
  return {
    cniVersion: base.data.cniVersion ?? "0.1.0",
    name: base.data.name,
    raw: data as Record<string, unknown>,
  };
}

/** Validates `prevResult` by the schema when present; code 7 names the malformed field. */
export function decodePrevResultStrict(raw: Record<string, unknown>): PrevResult | undefined {
  if (raw.prevResult === undefined || raw.prevResult === null) return undefined;
  const r = PrevResultSchema.safeParse(raw.prevResult);
  if (!r.success) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${describeZodIssue(r.error, "prevResult")}`);
  }
  return r.data;
}
