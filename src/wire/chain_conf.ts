/**
 * chainsaw's own keys in its entry of a CNI chain (README "Configuration"): the types, the defaults and the
 * decoder (a bad value is CNI code 7 naming the key). It lives in the contract because the plugin decodes them
 * from stdin and the daemon decodes the same keys from an ADD request, both by the schema of
 * `chain_conf_schema.ts`. The plugin's {@link decodeChainsawConf} first accepts the usual valid keys by plain
 * checks and loads the schema only to decide and word anything else (zod costs ≈ 3–5 ms of every pod's start).
 * @module
 */

/**
 * What a failing command does to the rest of its list: `"rollback"` (the default) stops and restores the netns
 * to its state before the list, `"fail"` stops and leaves it as is, `"continue"` runs the rest.
 */
export const ON_ERROR_MODES = ["rollback", "fail", "continue"] as const;
/** One of {@link ON_ERROR_MODES}. */
export type OnError = (typeof ON_ERROR_MODES)[number];

/**
 * What the annotation is to the netns (chain key `mode`): its state on top of what the chain set up
 * (`"declarative"`, the default: an edit takes back what the old value did) or a script run once per value
 * (`"imperative"`).
 */
export const MODES = ["declarative", "imperative"] as const;
/** One of {@link MODES}. */
export type Mode = (typeof MODES)[number];
/** The chain key `mode` when absent. */
export const DEFAULT_MODE: Mode = "declarative";

/**
 * What a drift check does when chainsaw's effect no longer holds (chain key `drift`, declarative mode): report it
 * (`"report"`, the default: Event, condition, metric), apply the value again (`"heal"`), or never check (`"off"`).
 */
export const DRIFT_MODES = ["report", "heal", "off"] as const;
/** One of {@link DRIFT_MODES}. */
export type DriftMode = (typeof DRIFT_MODES)[number];
/** The chain key `drift` when absent. */
export const DEFAULT_DRIFT: DriftMode = "report";

/** The `onError` mode of a chain config that names none. */
export const DEFAULT_ON_ERROR: OnError = "rollback";

/** The default bound on one Kubernetes API request, in milliseconds. */
export const DEFAULT_API_TIMEOUT_MS = 5000;

/** chainsaw's keys after defaults. */
export interface ChainsawConf {
  kubeconfig?: string;
  onError: OnError;
  /** `declarative` (the default): the annotation is the netns state; `imperative`: each value runs as a script. */
  mode: Mode;
  /** What a drift check does (`report`, the default; `heal`; `off`). */
  drift: DriftMode;
  apiTimeoutMs: number;
  ipPath?: string;
  nsenterPath?: string;
  /** Explicitly configured daemon socket, or undefined for the default (used best-effort). */
  daemonSocket?: string;
  policy?: unknown;
}

/**
 * The chain config's keys that are chainsaw's, every key of {@link ChainsawConf}: what the plugin's ADD hands the
 * daemon (`chain_conf_test.ts` holds the schema to this list).
 */
export const CHAIN_CONF_KEYS = [
  "kubeconfig",
  "onError",
  "mode",
  "drift",
  "apiTimeoutMs",
  "ipPath",
  "nsenterPath",
  "daemonSocket",
  "policy",
] as const satisfies readonly (keyof ChainsawConf)[];

/** chainsaw's keys of `raw` as given (absent ones left out), for the daemon to decode again. */
export function chainConfKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CHAIN_CONF_KEYS) if (raw[k] !== undefined) out[k] = raw[k];
  return out;
}

const optAbsolute = (v: unknown): boolean => v === undefined || (typeof v === "string" && v.startsWith("/"));
const optOneOf = (v: unknown, values: readonly string[]): boolean =>
  v === undefined || (values as readonly unknown[]).includes(v);

/**
 * The plain check of chainsaw's keys: the decoded {@link ChainsawConf} when they are plainly valid, undefined when
 * the schema must decide (never a different answer than the schema's).
 */
export function plainChainsawConf(raw: Record<string, unknown>): ChainsawConf | undefined {
  const { kubeconfig, onError, mode, drift, apiTimeoutMs, ipPath, nsenterPath, daemonSocket, policy } = raw;
  if (
    !optAbsolute(kubeconfig) || !optAbsolute(ipPath) || !optAbsolute(nsenterPath) ||
    !(daemonSocket === undefined || typeof daemonSocket === "string") ||
    !optOneOf(onError, ON_ERROR_MODES) || !optOneOf(mode, MODES) || !optOneOf(drift, DRIFT_MODES) ||
    !(apiTimeoutMs === undefined ||
      (Number.isSafeInteger(apiTimeoutMs) && (apiTimeoutMs as number) > 0 &&
        (apiTimeoutMs as number) <= 120_000))
  ) {
    return undefined;
  }
  return {
    kubeconfig: kubeconfig as string | undefined,
    onError: (onError as OnError | undefined) ?? DEFAULT_ON_ERROR,
    mode: (mode as Mode | undefined) ?? DEFAULT_MODE,
    drift: (drift as DriftMode | undefined) ?? DEFAULT_DRIFT,
    apiTimeoutMs: (apiTimeoutMs as number | undefined) ?? DEFAULT_API_TIMEOUT_MS,
    ipPath: ipPath as string | undefined,
    nsenterPath: nsenterPath as string | undefined,
    daemonSocket: daemonSocket as string | undefined,
    policy,
  };
}

/** Validates chainsaw's own keys; code 7 names the offending key. */
export async function decodeChainsawConf(raw: Record<string, unknown>): Promise<ChainsawConf> {
  return plainChainsawConf(raw) ??
    (await import("./chain_conf_schema.ts")).decodeChainsawConfStrict(raw);
}
