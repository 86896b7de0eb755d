/**
 * The network configuration chainsaw reads from stdin: the spec's keys and the previous result (chainsaw's own
 * keys are decoded by src/wire/chain_conf.ts, the contract the daemon decodes them with too). Unknown keys are
 * allowed (other plugins' and the user's, e.g. the seed's `"foo": "bar"`).
 *
 * Every CNI call decodes these, so the decoders first accept the usual valid input by plain checks, and load the
 * zod schemas of `config_schema.ts` (the source of truth) only to decide and word anything those do not accept:
 * zod's initialisation and the schemas cost ≈ 3–5 ms of every pod's start-up. `config_test.ts` holds the plain
 * checks to the schemas (same value, same decoded result, same error).
 * @module
 */

/** A valid network name (libcni's rule). */
export const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/** A previous result, as far as chainsaw reads it (the rest is passed on untouched). */
export interface PrevResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; sandbox?: string; [key: string]: unknown }>;
  ips?: Array<{ address: string; [key: string]: unknown }>;
  routes?: Array<{ dst: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** The network configuration after validation. */
export interface NetConf {
  cniVersion: string;
  name: string;
  /** The whole decoded object (unknown keys included). */
  raw: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** An object the schema copies as given (a `__proto__` key, an own property after JSON.parse, is left to it). */
const isPlainCopy = (v: unknown): v is Obj => isObject(v) && !Object.hasOwn(v, "__proto__");
const optString = (v: unknown): boolean => v === undefined || typeof v === "string";

/** Every element an object whose `key` is a string (and whose `optKey`, when given, is absent or a string). */
function listOf(v: unknown, key: string, optKey?: string): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (const e of v) {
    if (!isPlainCopy(e) || typeof e[key] !== "string" || (optKey !== undefined && !optString(e[optKey]))) {
      return false;
    }
  }
  return true;
}

/**
 * The plain check of a decoded network configuration: the {@link NetConf} when it is plainly valid, undefined when
 * the schema must decide (never a different answer than the schema's).
 */
export function plainNetConf(data: unknown): NetConf | undefined {
  if (!isObject(data)) return undefined;
  const { name, cniVersion, type } = data;
  if (typeof name !== "string" || !CNI_NAME.test(name) || !optString(cniVersion) || !optString(type)) {
    return undefined;
  }
  // The spec's decoder treats a missing cniVersion as "0.1.0", which chainsaw does not support.
  return { cniVersion: (cniVersion as string | undefined) ?? "0.1.0", name, raw: data };
}

/** The plain check of a prevResult: the value when it is plainly valid, undefined when the schema must decide. */
export function plainPrevResult(p: unknown): PrevResult | undefined {
  if (!isPlainCopy(p) || !optString(p.cniVersion)) return undefined;
  if (!listOf(p.interfaces, "name", "sandbox") || !listOf(p.ips, "address") || !listOf(p.routes, "dst")) {
    return undefined;
  }
  return p as PrevResult;
}

/** Decodes stdin into a {@link NetConf}: code 6 when it is not JSON, 7 when `name` is missing or malformed. */
export async function decodeNetConf(stdin: string): Promise<NetConf> {
  let data: unknown;
  try {
    data = JSON.parse(stdin);
  } catch {
    data = undefined; // the schema's decoder words it
  }
  return plainNetConf(data) ?? (await import("./config_schema.ts")).decodeNetConfStrict(stdin);
}

/** Validates `prevResult` when present; code 7 names the malformed field. */
export async function decodePrevResult(raw: Record<string, unknown>): Promise<PrevResult | undefined> {
  if (raw.prevResult === undefined || raw.prevResult === null) return undefined;
  return plainPrevResult(raw.prevResult) ?? (await import("./config_schema.ts")).decodePrevResultStrict(raw);
}
