/**
 * The zod schema of chainsaw's chain config keys ({@link ./chain_conf.ts}) and the strict decoder built on it: the
 * source of truth for what is valid and how a bad value is worded (CNI code 7 naming the key). The daemon decodes
 * an ADD request's keys with {@link decodeChainsawConfStrict}; the plugin accepts the usual valid keys by plain
 * checks and loads this module only to decide and word anything else (`chain_conf_test.ts` holds the two to the
 * same answers).
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import {
  type ChainsawConf,
  DEFAULT_API_TIMEOUT_MS,
  DEFAULT_DRIFT,
  DEFAULT_MODE,
  DEFAULT_ON_ERROR,
  DRIFT_MODES,
  MODES,
  ON_ERROR_MODES,
} from "./chain_conf.ts";

const absolutePath = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));

/** chainsaw's chain config keys (see README "Configuration"); every one optional. */
export const ChainConfSchema = z.object({
  kubeconfig: z.optional(absolutePath),
  onError: z.optional(z.enum(ON_ERROR_MODES)),
  mode: z.optional(z.enum(MODES)),
  drift: z.optional(z.enum(DRIFT_MODES)),
  apiTimeoutMs: z.optional(z.int().check(z.positive(), z.lte(120_000))),
  ipPath: z.optional(absolutePath),
  nsenterPath: z.optional(absolutePath),
  daemonSocket: z.optional(z.string()),
  policy: z.optional(z.unknown()),
});

/** Validates chainsaw's own keys by the schema; code 7 names the offending key. */
export function decodeChainsawConfStrict(raw: Record<string, unknown>): ChainsawConf {
  const r = ChainConfSchema.safeParse(raw); // an object schema: the other keys of the chain config are dropped
  if (!r.success) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid chainsaw config key ${describeZodIssue(r.error)}`,
    );
  }
  return {
    kubeconfig: r.data.kubeconfig,
    onError: r.data.onError ?? DEFAULT_ON_ERROR,
    mode: r.data.mode ?? DEFAULT_MODE,
    drift: r.data.drift ?? DEFAULT_DRIFT,
    apiTimeoutMs: r.data.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS,
    ipPath: r.data.ipPath,
    nsenterPath: r.data.nsenterPath,
    daemonSocket: r.data.daemonSocket,
    policy: r.data.policy,
  };
}
