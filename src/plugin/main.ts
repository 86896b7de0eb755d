/**
 * The plugin process: wires the dispatcher to stdin, stdout and the environment. Loaded by `cli.ts` only when
 * `CNI_COMMAND` is set, so the plugin's module graph holds nothing the CLI or the daemon need.
 * @module
 */
import { pluginMain } from "../cni/skel.ts";
import { chainsawHandlers } from "./handlers.ts";
import { concatBytes, writeAll } from "../bytes.ts";

/**
 * Reads all of stdin with plain reads: `new Response(Deno.stdin.readable).text()` first sets up web streams and a
 * Response, which costs more than the whole read of a few KiB.
 */
function readStdinSync(): string {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/** Drops what the plugin never needs: it writes no files (the socket dir is kept for connecting). */
function dropPermissions(): void {
  for (const path of ["/host", "/var/lib/chainsaw"]) {
    try {
      Deno.permissions.revokeSync({ name: "write", path });
    } catch {
      // not granted in this build (tests with other flags): nothing to drop
    }
  }
}

/** Runs one CNI invocation; returns the exit code. */
export async function runPlugin(): Promise<number> {
  dropPermissions();
  return await pluginMain(chainsawHandlers(), {
    getenv: (n) => Deno.env.get(n),
    readStdin: () => Promise.resolve(readStdinSync()),
    writeStdout: (text) => writeAll(Deno.stdout, text),
  });
}
