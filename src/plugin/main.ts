/**
 * The plugin process: wires the dispatcher to stdin, stdout and the environment. Loaded by `cli.ts` only when
 * `CNI_COMMAND` is set, so the plugin's module graph holds nothing the CLI or the daemon need.
 * @module
 */
import { pluginMain } from "../cni/skel.ts";
import { chainsawHandlers } from "./handlers.ts";

async function writeAll(text: string): Promise<void> {
  const data = new TextEncoder().encode(text);
  let off = 0;
  while (off < data.length) off += await Deno.stdout.write(data.subarray(off));
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
    readStdin: () => new Response(Deno.stdin.readable).text(),
    writeStdout: writeAll,
  });
}
