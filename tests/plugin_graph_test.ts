/**
 * The plugin's module graph (static and dynamic imports, as `deno info` resolves them) holds nothing of the
 * daemon or the command line: every pod pays the plugin's start-up.
 */
import { assert } from "./support/assert.ts";

interface Dep {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}

/** `deno info --json` of the plugin's entry: its root and every module it can load, with their edges. */
async function pluginGraph(): Promise<
  { roots: string[]; modules: Array<{ specifier: string; dependencies?: Dep[] }> }
> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/plugin/main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("the plugin's module graph excludes the daemon, the CLI and commander", async () => {
  const info = await pluginGraph();
  const modules = info.modules.map((m) => m.specifier);
  assert(modules.some((m) => m.endsWith("/src/plugin/handlers.ts")), "the graph was read");
  const forbidden = modules.filter((m) => /\/src\/(daemon|cli|reapply)\/|commander|\/cli\.ts$/.test(m));
  assert(forbidden.length === 0, `the plugin loads: ${forbidden.join(", ")}`);
});

Deno.test("the plugin's static module graph has no zod edge: schemas load only on the error path", async () => {
  const info = await pluginGraph();
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  // Walk the static code edges only (`import type` has no code edge; `import()` is marked dynamic).
  const parent = new Map<string, string>([[info.roots[0], ""]]);
  const queue = [info.roots[0]];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const dep of bySpecifier.get(from)?.dependencies ?? []) {
      const to = dep.code?.specifier;
      if (to === undefined || dep.isDynamic || parent.has(to)) continue;
      parent.set(to, from);
      queue.push(to);
    }
  }
  assert([...parent.keys()].some((m) => m.endsWith("/src/wire/client.ts")), "the static graph was walked");
  const zod = [...parent.keys()].filter((m) => /^npm:\/?zod@|\/zod@/.test(m));
  const chain = (m: string): string => {
    const via: string[] = [];
    for (let at = m; at !== ""; at = parent.get(at)!) via.push(at.replace(/^file:\/\/.*?\/src\//, "src/"));
    return via.reverse().join(" → ");
  };
  assert(zod.length === 0, `zod is on the plugin's start-up path: ${zod.map(chain).join("; ")}`);
});
