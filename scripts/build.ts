/**
 * Builds chainsaw: `compile` (deno compile, one native binary with the permission flags baked in) or `bundle`
 * (one executable file that runs the bundled program under `deno` from PATH with the same flags).
 *
 *   deno task compile [--target TRIPLE]   -> dist/chainsaw (needs dl.deno.land for denort)
 *   deno task bundle                      -> dist/chainsaw
 * @module
 */
import { permissionFlags } from "../src/permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (code !== 0) throw new Error(`deno ${args[0]} failed with exit code ${code}`);
}

/** Quotes a word for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The launcher prefix of a bundle: valid as /bin/sh (it execs deno on the file itself) and as JavaScript
 * (a hashbang and a line comment). The flags do not fit a shebang line (the kernel cuts it at 255 bytes).
 */
export function launcherHeader(): string {
  const flags = ["--no-config", "--no-lock", "--quiet", "--ext=js", ...permissionFlags()].map(shQuote).join(
    " ",
  );
  return `#!/bin/sh\n//bin/true; exec deno run ${flags} "$0" "$@"\n`;
}

/** Bundles cli.ts into one executable file at `out` (relative to the repository root or absolute). */
export async function bundleTo(out: string): Promise<void> {
  const target = out.startsWith("/") ? out : `${ROOT}${out}`;
  const tmp = `${target}.tmp.js`;
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  await run(["bundle", "--quiet", "--platform", "deno", "--minify", "-o", tmp, "cli.ts"]);
  const js = await Deno.readTextFile(tmp);
  await Deno.remove(tmp);
  await Deno.writeTextFile(`${target}.new`, launcherHeader() + js.replace(/^#!.*\n/, ""), { mode: 0o755 });
  await Deno.chmod(`${target}.new`, 0o755);
  await Deno.rename(`${target}.new`, target);
}

/** Compiles cli.ts into a native binary with the permission flags baked in. */
export async function compileTo(out: string, target?: string): Promise<void> {
  const args = ["compile", ...permissionFlags(), "-o", out];
  if (target) args.push("--target", target);
  await run([...args, "cli.ts"]);
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  const targetIdx = rest.indexOf("--target");
  const triple = targetIdx >= 0 ? rest[targetIdx + 1] : undefined;
  if (mode === "bundle") {
    await bundleTo("dist/chainsaw");
    console.log("wrote dist/chainsaw (bundle; runs under `deno` from PATH)");
  } else if (mode === "compile") {
    const out = triple ? `dist/chainsaw-${triple.startsWith("x86_64") ? "amd64" : "arm64"}` : "dist/chainsaw";
    await compileTo(out, triple);
    console.log(`wrote ${out}`);
  } else {
    console.error("usage: build.ts bundle | compile [--target TRIPLE]");
    Deno.exit(2);
  }
}
