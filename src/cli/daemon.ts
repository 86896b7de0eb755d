/**
 * `chainsaw daemon`: the resident process of the DaemonSet. Its options are generated from the daemon's flags
 * table (src/daemon/flags.ts; documented in docs/daemon.md) and decoded by the options schema generated from the
 * same table; the daemon itself loads on use, so other commands pay nothing for it.
 * @module
 */
import type { Command } from "commander";
import { writeAll } from "../bytes.ts";
import { errorText } from "../text/error_text.ts";
import { DAEMON_FLAGS } from "../daemon/flags.ts";
import { addFlagOptions } from "./_flag_options.ts";

/** Registers `daemon` on `program`; `setExit` receives the exit code. */
export function registerDaemonCommand(program: Command, setExit: (code: number) => void): void {
  addFlagOptions(
    program.command("daemon")
      .description(
        "run the DaemonSet process: install the plugin and its kubeconfig, run the plugin's ADDs and collect " +
          "reports on a unix socket, print them, serve health and metrics",
      ),
    DAEMON_FLAGS,
  )
    .action(async (opts: Record<string, unknown>) => {
      const { decodeDaemonOptions, withEnvironment } = await import("../daemon/options.ts");
      const { runDaemon, realIo } = await import("../daemon/daemon.ts");
      let options;
      try {
        options = decodeDaemonOptions(withEnvironment(opts, (n) => Deno.env.get(n)));
      } catch (e) {
        await writeAll(Deno.stderr, `chainsaw daemon: ${errorText(e)}\n`);
        setExit(2);
        return;
      }
      setExit(await runDaemon(options, realIo()));
    });
}
