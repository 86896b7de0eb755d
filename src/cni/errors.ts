/**
 * CNI error codes (SPEC 1.1.0 "Error" section) and chainsaw's own (100+), and the error value a plugin prints.
 * @module
 */

/** Error codes: 1–99 are the spec's, 100+ are chainsaw's own. */
export const ErrorCode = {
  /** Incompatible CNI version. */
  IncompatibleVersion: 1,
  /** Unsupported field in network configuration. */
  UnsupportedField: 2,
  /** Container unknown or does not exist. */
  UnknownContainer: 3,
  /** Invalid necessary environment variables, like CNI_COMMAND, CNI_CONTAINERID, etc. */
  InvalidEnvironment: 4,
  /** I/O failure, e.g. failed to read network config bytes from stdin. */
  IoFailure: 5,
  /** Failed to decode content, e.g. failed to unmarshal network config from bytes. */
  DecodingFailure: 6,
  /** Invalid network config. */
  InvalidNetworkConfig: 7,
  /** Try again later: a transient condition (API server unreachable, credentials not written yet). */
  TryAgainLater: 11,
  /** The plugin is not available (STATUS): the configured daemon socket does not answer. */
  PluginNotAvailable: 50,
  /** An annotated command ran and failed (non-zero exit, timeout). */
  CommandFailed: 100,
  /** An annotated command was rejected by policy or could not be parsed; nothing ran. */
  CommandRejected: 101,
  /** The pod could not be looked up (not found, unauthorized) or is stale (its UID differs or is missing). */
  PodLookupFailed: 102,
  /**
   * CHECK: what chainsaw's annotation set in the attachment (its effect, declarative mode) does not hold any more,
   * as the daemon observed it; the message names the first difference.
   */
  EffectNotHolding: 103,
  /** An unexpected internal error. */
  Internal: 999,
} as const;

/** One of {@link ErrorCode}'s values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that becomes the CNI error JSON on stdout. */
export class CniError extends Error {
  /** The CNI error code. */
  readonly code: number;
  /** Extra detail (the spec's `details`). */
  readonly details: string;

  constructor(code: number, msg: string, details = "", options?: ErrorOptions) {
    super(msg, options);
    this.name = "CniError";
    this.code = code;
    this.details = details;
  }
}

/** The error object printed on stdout (SPEC "Error"). */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** Converts anything thrown into the error JSON; unknown errors become code 999 with their message only. */
export function toErrorJson(err: unknown, cniVersion: string): CniErrorJson {
  if (err instanceof CniError) {
    const out: CniErrorJson = { cniVersion, code: err.code, msg: err.message };
    if (err.details) out.details = err.details;
    return out;
  }
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { cniVersion, code: ErrorCode.Internal, msg: `internal error: ${msg}` };
}
