/**
 * Byte helpers shared by the plugin's I/O edges (stdin, command output, the daemon socket).
 * @module
 */

/** Where bytes go (`Deno.stdout`, `Deno.stderr`, a file, a connection, or a test double). */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
}

/** Writes all of `data` (bytes, or text as UTF-8), looping over partial writes. */
export async function writeAll(sink: ByteSink, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let off = 0;
  while (off < bytes.length) off += await sink.write(bytes.subarray(off));
}

/** Joins chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
