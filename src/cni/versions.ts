/**
 * CNI spec versions chainsaw speaks and the checks libcni's skel applies per verb.
 * @module
 */
import { CniError, ErrorCode } from "./errors.ts";

/** Spec versions chainsaw supports (chaining needs 0.3.0+). */
export const SUPPORTED_VERSIONS: readonly string[] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/** The newest supported version, used when a request names none. */
export const LATEST_VERSION = "1.1.0";

/** Parses "x.y.z" into numbers; undefined when malformed. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Compares two versions: negative, zero or positive. Malformed versions must be rejected before. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a)!;
  const y = parseVersion(b)!;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** Minimum spec version per verb (CHECK came with 0.4.0, STATUS and GC with 1.1.0). */
const MIN_VERSION: Readonly<Record<string, string>> = { CHECK: "0.4.0", STATUS: "1.1.0", GC: "1.1.0" };

/** Throws code 1 when `version` is not supported or is too old for `verb`. */
export function checkVersion(verb: string, version: string): void {
  if (!parseVersion(version)) {
    throw new CniError(ErrorCode.DecodingFailure, `invalid cniVersion "${version}": expected x.y.z`);
  }
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      "incompatible CNI versions",
      `config is "${version}", chainsaw supports ${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(", ")}`,
    );
  }
  const min = MIN_VERSION[verb];
  if (min && compareVersions(version, min) < 0) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version does not allow ${verb}`,
      `${verb} needs ${min}+`,
    );
  }
}
