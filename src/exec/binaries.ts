/**
 * Where `ip` and `nsenter` live. chainsaw only ever executes absolute paths from a fixed list (the same list its
 * `--allow-run` permission names), so a network configuration cannot point it at another program.
 * @module
 */
import { RUN_PATHS } from "../permissions.ts";

/** Candidate paths for `ip`, in search order. */
export const IP_CANDIDATES: readonly string[] = RUN_PATHS.filter((p) => p.endsWith("/ip"));
/** Candidate paths for `nsenter`, in search order. */
export const NSENTER_CANDIDATES: readonly string[] = RUN_PATHS.filter((p) => p.endsWith("/nsenter"));

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Returns the binary to use: `configured` when given (it must be one of `candidates`), else the first candidate
 * that exists. Throws an Error naming the key and the allowed paths otherwise.
 */
export function resolveBinary(
  key: string,
  configured: string | undefined,
  candidates: readonly string[],
  fileExists: (path: string) => boolean = exists,
): string {
  if (configured !== undefined) {
    if (!candidates.includes(configured)) {
      throw new Error(`${key} "${configured}" is not allowed: use one of ${candidates.join(", ")}`);
    }
    return configured;
  }
  const found = candidates.find(fileExists);
  if (!found) throw new Error(`${key}: none of ${candidates.join(", ")} exists`);
  return found;
}
