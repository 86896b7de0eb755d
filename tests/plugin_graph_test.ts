/**
 * The plugin's module graph (static and dynamic imports, as `deno info` resolves them) holds nothing of the
 * daemon or the command line: every pod pays the plugin's start-up.
 */
import { assert } from "./support/assert.ts";

Deno.test("the plugin's module graph excludes the daemon, the CLI and commander", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/plugin/main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const modules = (JSON.parse(new TextDecoder().decode(out.stdout)).modules as Array<{ specifier: string }>)
    .map((m) => m.specifier);
  assert(modules.some((m) => m.endsWith("/src/plugin/handlers.ts")), "the graph was read");
  const forbidden = modules.filter((m) => /\/src\/(daemon|cli|reapply)\/|commander|\/cli\.ts$/.test(m));
  assert(forbidden.length === 0, `the plugin loads: ${forbidden.join(", ")}`);
});
