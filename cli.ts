/**
 * chainsaw's one entry point. With `CNI_COMMAND` in the environment it is the CNI plugin (the runtime runs it);
 * otherwise it is the command line (`chainsaw daemon`, `chainsaw install`, `chainsaw policy check`, ...).
 * Each side is imported lazily so the plugin's start-up pays for nothing else.
 * @module
 */

if (import.meta.main) {
  if (Deno.env.get("CNI_COMMAND") !== undefined) {
    let code = 1;
    try {
      const { runPlugin } = await import("./src/plugin/main.ts");
      code = await runPlugin();
    } catch (e) {
      // Only reached if loading the plugin itself failed: still answer in the protocol's terms.
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      console.log(
        JSON.stringify({ cniVersion: "1.1.0", code: 999, msg: `chainsaw failed to start: ${msg}` }),
      );
    }
    Deno.exit(code);
  } else {
    // A bundle defers the Node built-ins its npm packages import (scripts/build.ts deferNodeBuiltins) so that the
    // plugin never starts Deno's Node compatibility layer; the command line loads them here.
    (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for("chainsaw.loadNodeBuiltins")]?.();
    const { runCli } = await import("./src/cli/main.ts");
    Deno.exit(await runCli(Deno.args));
  }
}
