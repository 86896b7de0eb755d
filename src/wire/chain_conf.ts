/**
 * chainsaw's own keys in its entry of a CNI chain (README "Configuration"): the schema, the defaults and the
 * decoder (a bad value is CNI code 7 naming the key). It lives in the contract because the plugin decodes them
 * from stdin and the daemon decodes the same keys from an ADD request, with this one function.
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { describeZodIssue } from "../text/zod_issue.ts";

const absolutePath = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));

/**
 * What a failing command does to the rest of its list: `"rollback"` (the default) stops and restores the netns
 * to its state before the list, `"fail"` stops and leaves it as is, `"continue"` runs the rest.
 */
export const ON_ERROR_MODES = ["rollback", "fail", "continue"] as const;
/** One of {@link ON_ERROR_MODES}. */
export type OnError = (typeof ON_ERROR_MODES)[number];

/** The `onError` mode of a chain config that names none. */
export const DEFAULT_ON_ERROR: OnError = "rollback";

/** chainsaw's chain config keys (see README "Configuration"); every one optional. */
export const ChainConfSchema = z.object({
  kubeconfig: z.optional(absolutePath),
  onError: z.optional(z.enum(ON_ERROR_MODES)),
  apiTimeoutMs: z.optional(z.int().check(z.positive(), z.lte(120_000))),
  ipPath: z.optional(absolutePath),
  nsenterPath: z.optional(absolutePath),
  daemonSocket: z.optional(z.string()),
  policy: z.optional(z.unknown()),
});

/** The keys as given (before defaults). */
export type ChainConfInput = z.infer<typeof ChainConfSchema>;

/** The default bound on one Kubernetes API request, in milliseconds. */
export const DEFAULT_API_TIMEOUT_MS = 5000;

/** chainsaw's keys after defaults. */
export interface ChainsawConf {
  kubeconfig?: string;
  onError: OnError;
  apiTimeoutMs: number;
  ipPath?: string;
  nsenterPath?: string;
  /** Explicitly configured daemon socket, or undefined for the default (used best-effort). */
  daemonSocket?: string;
  policy?: unknown;
}

/** Validates chainsaw's own keys; code 7 names the offending key. */
export function decodeChainsawConf(raw: Record<string, unknown>): ChainsawConf {
  const r = ChainConfSchema.safeParse({
    kubeconfig: raw.kubeconfig,
    onError: raw.onError,
    apiTimeoutMs: raw.apiTimeoutMs,
    ipPath: raw.ipPath,
    nsenterPath: raw.nsenterPath,
    daemonSocket: raw.daemonSocket,
    policy: raw.policy,
  });
  if (!r.success) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid chainsaw config key ${describeZodIssue(r.error)}`,
    );
  }
  return {
    kubeconfig: r.data.kubeconfig,
    onError: r.data.onError ?? DEFAULT_ON_ERROR,
    apiTimeoutMs: r.data.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS,
    ipPath: r.data.ipPath,
    nsenterPath: r.data.nsenterPath,
    daemonSocket: r.data.daemonSocket,
    policy: r.data.policy,
  };
}
