/**
 * Preparing the daemon socket's place: its directory belongs to chainsaw (created, then set to 0700), a stale
 * socket left by a killed daemon is removed, and anything else at the path is refused.
 * @module
 */

/** Top-level directories the socket may not sit in directly: their mode must not be changed. */
const SHARED_DIRS: readonly string[] = [
  "/var/run",
  "/var/tmp",
  "/var/lib",
  "/dev/shm",
  "/run/user",
  "/usr/local",
];

/** Socket path problems. */
export class SocketPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SocketPathError";
  }
}

/** The directory of `path`. */
export function socketDir(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/**
 * Checks that the socket lives in a directory of its own: absolute, at least two levels deep (`/run/chainsaw`,
 * not `/run` or `/tmp`), and not a well-known shared directory, since the daemon makes that directory 0700.
 */
export function checkSocketPath(path: string): void {
  if (!path.startsWith("/") || path.endsWith("/")) {
    throw new SocketPathError(`socket ${path}: must be an absolute file path`);
  }
  const dir = socketDir(path).replace(/\/+$/, "");
  if (dir.split("/").filter((p) => p !== "").length < 2 || SHARED_DIRS.includes(dir)) {
    throw new SocketPathError(
      `socket ${path}: put it in a directory of its own (e.g. /run/chainsaw/chainsaw.sock); ${dir} would be made 0700`,
    );
  }
}

/** Creates the directory (0700) and removes a stale socket at `path`. */
export async function prepareSocketPath(path: string): Promise<void> {
  checkSocketPath(path);
  const dir = socketDir(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!st.isSocket) throw new SocketPathError(`socket ${path}: something that is not a socket is in the way`);
  await Deno.remove(path);
}
