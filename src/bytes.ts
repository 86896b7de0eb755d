/**
 * Byte helpers shared by the I/O edges (stdin, command output, the daemon socket, NDJSON streams).
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

/**
 * Splits a byte stream into lines (without the `\n`, `\r\n` tolerated), keeping partial lines across chunks; a
 * final line without a newline is yielded too. Throws when one line exceeds `maxLineBytes` characters.
 */
export async function* ndjsonLines(
  body: ReadableStream<Uint8Array>,
  maxLineBytes: number = 16 * 1024 * 1024,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line.trim() !== "") yield line;
    }
    if (buf.length > maxLineBytes) throw new Error(`a line longer than ${maxLineBytes} characters`);
  }
  buf += decoder.decode();
  if (buf.trim() !== "") yield buf;
}
