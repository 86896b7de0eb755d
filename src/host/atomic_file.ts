/**
 * Atomic file replacement: write a temporary file in the target's directory, fsync it, set its mode, rename it
 * over the target. A reader (a container runtime executing the plugin, the plugin reading its kubeconfig) sees
 * the old file or the new one, never a partial one. Files are streamed in chunks, so a 100 MB binary does not
 * need 100 MB of memory. `{ durable: false }` leaves out both fsyncs (the file's and the directory's): the
 * replacement is as atomic for every process and survives the writer's death (`kill -9`), not a power loss —
 * for state that describes only what a power loss ends anyway (the daemon's attachments: their netns).
 * @module
 */
import { writeAll } from "../bytes.ts";

const CHUNK = 1 << 20;

/** What a replacement did. */
export type WriteOutcome = "written" | "unchanged";

/** The directory of `path` ("/" for top-level paths). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const TEMP_INFIX = ".tmp-";

function tempName(target: string): string {
  const rnd = crypto.getRandomValues(new Uint32Array(2)).join("");
  return `${dirOf(target)}/.${baseOf(target)}${TEMP_INFIX}${rnd}`;
}

/** Temporary files of writes interrupted by a kill older than this are removed by {@link removeStaleTemps}. */
export const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * Removes the temporary files a killed process left next to `target` mid-write (`.NAME.tmp-RANDOM`), if older
 * than `maxAgeMs` (a write in progress is far younger). Returns how many went; never throws.
 */
export async function removeStaleTemps(target: string, maxAgeMs: number = STALE_TEMP_MS): Promise<number> {
  const dir = dirOf(target);
  const prefix = `.${baseOf(target)}${TEMP_INFIX}`;
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.startsWith(prefix)) continue;
      const file = `${dir}/${e.name}`;
      const mtime = (await Deno.stat(file)).mtime?.getTime() ?? Date.now();
      if (Date.now() - mtime < maxAgeMs) continue;
      await Deno.remove(file);
      removed++;
    }
  } catch {
    // no directory yet, or not listable: nothing to tidy
  }
  return removed;
}

/** Reads into `buf` until it is full or the file ends; returns the bytes read. */
async function readFull(f: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const r = await f.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return n;
}

/** Best-effort fsync of a directory, so a rename survives a crash. */
async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // some filesystems refuse; the rename itself is still atomic
  }
}

/** True when the file at `path` exists with exactly `data` as its content. */
export async function fileHasContent(path: string, data: Uint8Array): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile || st.size !== data.length) return false;
    const have = await Deno.readFile(path);
    return have.length === data.length && have.every((b, i) => b === data[i]);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** True when two files have the same bytes (false when either is missing). Compares in chunks. */
export async function sameFileContent(a: string, b: string): Promise<boolean> {
  let sa: Deno.FileInfo, sb: Deno.FileInfo;
  try {
    [sa, sb] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!sa.isFile || !sb.isFile || sa.size !== sb.size) return false;
  using fa = await Deno.open(a, { read: true });
  using fb = await Deno.open(b, { read: true });
  const ba = new Uint8Array(CHUNK);
  const bb = new Uint8Array(CHUNK);
  for (;;) {
    const [na, nb] = await Promise.all([readFull(fa, ba), readFull(fb, bb)]);
    if (na !== nb) return false;
    if (na === 0) return true;
    for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return false;
  }
}

/**
 * Replaces `target` with a file produced by `fill` (given the open temporary file), with `mode`, atomically.
 * The temporary file is removed when anything fails.
 */
async function replaceWith(
  target: string,
  mode: number,
  fill: (f: Deno.FsFile) => Promise<void>,
  durable = true,
): Promise<void> {
  const tmp = tempName(target);
  try {
    {
      using f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      await fill(f);
      if (durable) await f.sync();
    }
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  if (durable) await syncDir(dirOf(target));
}

/** How a replacement is written. */
export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename and the directory after it (default true), so the new content survives a
   * power loss. Without: atomic for every process and across the writer's death, 1–11 ms less per write
   * (median) on this machine's disk (each fsync commits the filesystem's journal).
   */
  durable?: boolean;
}

/**
 * Writes `data` to `target` atomically with `mode`; does nothing when the content is already there.
 *
 * @param target the file replaced
 * @param data its new content
 * @param mode its permission bits
 * @param opts `durable: false` leaves out the fsyncs ({@link AtomicWriteOptions})
 * @returns whether it wrote
 * @example
 * ```ts
 * await atomicWriteFile("/var/lib/chainsaw/attachments.json", bytes, 0o600, { durable: false });
 * ```
 */
export async function atomicWriteFile(
  target: string,
  data: Uint8Array,
  mode: number,
  opts: AtomicWriteOptions = {},
): Promise<WriteOutcome> {
  if (await fileHasContent(target, data)) {
    if (((await Deno.stat(target)).mode! & 0o7777) !== mode) await Deno.chmod(target, mode);
    return "unchanged";
  }
  await replaceWith(target, mode, (f) => writeAll(f, data), opts.durable ?? true);
  return "written";
}

/** Copies `source` to `target` atomically with `mode`; does nothing when the content is already there. */
export async function atomicCopyFile(source: string, target: string, mode: number): Promise<WriteOutcome> {
  if (await sameFileContent(source, target)) {
    if (((await Deno.stat(target)).mode! & 0o7777) !== mode) await Deno.chmod(target, mode);
    return "unchanged";
  }
  using src = await Deno.open(source, { read: true });
  await replaceWith(target, mode, async (f) => {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await readFull(src, buf);
      if (n === 0) break;
      await writeAll(f, buf.subarray(0, n));
    }
  });
  return "written";
}
