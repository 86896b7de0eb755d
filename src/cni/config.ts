/**
 * The network configuration chainsaw reads from stdin: the spec's keys, the previous result, and chainsaw's
 * own keys. Unknown keys are allowed (other plugins' and the user's, e.g. the seed's `"foo": "bar"`).
 * @module
 */
import * as z from "zod/mini";
import { CniError, ErrorCode } from "./errors.ts";

/** The default path of the plugin's kubeconfig, written by `chainsaw daemon`. */
export const DEFAULT_KUBECONFIG = "/etc/cni/net.d/chainsaw.d/chainsaw.kubeconfig";
/** Where OpenShift keeps CNI configuration; tried when {@link DEFAULT_KUBECONFIG} does not exist. */
export const OPENSHIFT_KUBECONFIG = "/etc/kubernetes/cni/net.d/chainsaw.d/chainsaw.kubeconfig";
/** The default daemon socket. */
export const DEFAULT_DAEMON_SOCKET = "/run/chainsaw/chainsaw.sock";
/** The default bound on one Kubernetes API request, in milliseconds. */
export const DEFAULT_API_TIMEOUT_MS = 5000;

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

const absolutePath = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));

/** chainsaw's own configuration keys (see README "Configuration"). */
export const ChainsawConfSchema = z.object({
  kubeconfig: z.optional(absolutePath),
  onError: z.optional(z.enum(["fail", "continue"])),
  apiTimeoutMs: z.optional(z.int().check(z.positive(), z.lte(120_000))),
  ipPath: z.optional(absolutePath),
  nsenterPath: z.optional(absolutePath),
  daemonSocket: z.optional(z.string()),
  policy: z.optional(z.unknown()),
});

/** chainsaw's keys after defaults. */
export interface ChainsawConf {
  kubeconfig?: string;
  onError: "fail" | "continue";
  apiTimeoutMs: number;
  ipPath?: string;
  nsenterPath?: string;
  /** Explicitly configured daemon socket, or undefined for the default (used best-effort). */
  daemonSocket?: string;
  policy?: unknown;
}

/** The network configuration after validation. */
export interface NetConf {
  cniVersion: string;
  name: string;
  /** The whole decoded object (unknown keys included). */
  raw: Record<string, unknown>;
}

/** Describes a zod error as `key: message` for the first issue. */
export function describeZodError(error: z.core.$ZodError, prefix = ""): string {
  const issue = error.issues[0];
  const path = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
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
      `invalid network config: ${describeZodError(base.error)}`,
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

/** Validates chainsaw's own keys; code 7 names the offending key. */
export function decodeChainsawConf(raw: Record<string, unknown>): ChainsawConf {
  const r = ChainsawConfSchema.safeParse({
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
      `invalid chainsaw config key ${describeZodError(r.error)}`,
    );
  }
  return {
    kubeconfig: r.data.kubeconfig,
    onError: r.data.onError ?? "fail",
    apiTimeoutMs: r.data.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS,
    ipPath: r.data.ipPath,
    nsenterPath: r.data.nsenterPath,
    daemonSocket: r.data.daemonSocket,
    policy: r.data.policy,
  };
}

/** Validates `prevResult` when present; code 7 names the malformed field. */
export function decodePrevResult(raw: Record<string, unknown>): PrevResult | undefined {
  if (raw.prevResult === undefined || raw.prevResult === null) return undefined;
  const r = PrevResultSchema.safeParse(raw.prevResult);
  if (!r.success) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${describeZodError(r.error, "prevResult")}`);
  }
  return r.data;
}
