/**
 * The network configuration chainsaw reads from stdin: the spec's keys and the previous result (chainsaw's own
 * keys are decoded by src/wire/chain_conf.ts, the contract the daemon decodes them with too). Unknown keys are allowed (other plugins' and the user's, e.g. the seed's `"foo": "bar"`).
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.ts";
import { describeZodIssue } from "../text/zod_issue.ts";

const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/** The keys every plugin configuration has. */
export const BaseConfSchema = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.string(),
  type: z.optional(z.string()),
});

/** A previous result, as far as chainsaw reads it (the rest is passed on untouched). */
export interface PrevResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; sandbox?: string; [key: string]: unknown }>;
  ips?: Array<{ address: string; [key: string]: unknown }>;
  routes?: Array<{ dst: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

const PrevResultSchema: z.ZodMiniType<PrevResult> = z.looseObject({
  cniVersion: z.optional(z.string()),
  interfaces: z.optional(z.array(z.looseObject({ name: z.string(), sandbox: z.optional(z.string()) }))),
  ips: z.optional(z.array(z.looseObject({ address: z.string() }))),
  routes: z.optional(z.array(z.looseObject({ dst: z.string() }))),
});

/** The network configuration after validation. */
export interface NetConf {
  cniVersion: string;
  name: string;
  /** The whole decoded object (unknown keys included). */
  raw: Record<string, unknown>;
}

/** Decodes stdin into a {@link NetConf}: code 6 when it is not JSON, 7 when `name` is missing or malformed. */
export function decodeNetConf(stdin: string): NetConf {
  let data: unknown;
  try {
    data = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error decoding network config from stdin: ${(e as Error).message}`,
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

/** Validates `prevResult` when present; code 7 names the malformed field. */
export function decodePrevResult(raw: Record<string, unknown>): PrevResult | undefined {
  if (raw.prevResult === undefined || raw.prevResult === null) return undefined;
  const r = PrevResultSchema.safeParse(raw.prevResult);
  if (!r.success) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${describeZodIssue(r.error, "prevResult")}`);
  }
  return r.data;
}
