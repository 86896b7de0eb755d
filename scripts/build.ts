/**
 * Builds chainsaw: `compile` (deno compile, one native binary with the permission flags baked in) or `bundle`
 * (one executable file that runs the bundled program under `deno` with the same flags: the deno that built it,
 * else a `deno` beside the file, else `deno` from PATH; see {@linkcode launcherHeader}).
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
 *
 * Runtimes start plugins with their own PATH (containerd: `<opt>/bin:/usr/local/sbin:…:/bin`), which seldom
 * has `deno`, and a launcher that fails there (exit 127) also stops libcni's reverse-order DEL before bridge
 * and IPAM, leaking the pod's address. So the launcher tries, in order: `deno` at `denoPath` (the deno that
 * made the bundle), a `deno` beside the bundle itself, then `deno` from PATH. Three `[ -x ]` tests in `sh`.
 *
 * @param denoPath absolute path of the deno to try first; default the running deno ({@linkcode Deno.execPath})
 * @returns the two launcher lines, newline-terminated
 * @example
 * ```ts
 * launcherHeader("/usr/local/bin/deno").startsWith("#!/bin/sh\n//bin/true; ") // true
 * ```
 */
export function launcherHeader(denoPath: string = Deno.execPath()): string {
  const flags = ["--no-config", "--no-lock", "--quiet", "--ext=js", ...permissionFlags()].map(shQuote).join(
    " ",
  );
  const find = `d=${shQuote(denoPath)}; [ -x "$d" ] || d="\${0%/*}/deno"; [ -x "$d" ] || d=deno`;
  // `$v` is unquoted on purpose: empty (every mode but the daemon) it expands to no argument at all.
  const v8 = `v=; [ "$1" = daemon ] && v=${shQuote(`--v8-flags=${DAEMON_V8_FLAGS.join(",")}`)}`;
  return `#!/bin/sh\n//bin/true; ${find}; ${v8}; exec "$d" run $v ${flags} "$0" "$@"\n`;
}

/**
 * V8 flags the launcher adds when the first argument is `daemon` (the plugin and the rest of the CLI start
 * without them). `--optimize-for-size` makes V8 grow its heap less eagerly under a high allocation rate: after
 * the benchmark's report flood (8 clients posting as fast as they can) the daemon's RSS stays at 83–93 MiB
 * instead of 140–160 MiB, at the same /healthz and ingestion rates within the machine's noise
 * (docs/performance.md, "Daemon memory").
 */
export const DAEMON_V8_FLAGS: readonly string[] = ["--optimize-for-size"];

/**
 * The global under which a bundle leaves the loader of its deferred Node built-ins; cli.ts calls it before it
 * loads the command line (see {@linkcode deferNodeBuiltins}).
 */
export const NODE_BUILTINS_LOADER = "chainsaw.loadNodeBuiltins";

/** esbuild's banner for the CommonJS packages of the bundle (yaml): `require` bound to the bundle's URL. */
const CREATE_REQUIRE =
  /import\s*\{\s*createRequire as __deno_internal_createRequire\s*\}\s*from\s*"node:module";?\s*var ([\w$]+)\s*=\s*__deno_internal_createRequire\(import\.meta\.url\);/;
/** A static import of a Node built-in hoisted to the bundle's top level: `import X,{a as b}from"node:m";`. */
const NODE_IMPORT =
  /(?<=^|[;}\n])import\s*([\w$]+\s*,\s*)?(\{[^}]*\}|\*\s*as\s+[\w$]+|[\w$]+)?\s*from\s*"(node:[\w/]+)";?/g;

/**
 * Keeps Node built-ins out of the plugin's start-up. A static `import … from "node:…"` anywhere in the bundle
 * (commander's, the CLI's) is hoisted to its top level, and loading any `node:` module starts Deno's Node
 * compatibility layer: ≈ 24 ms on every CNI call although the plugin uses none of it. This rewrites each such
 * import into a `var` that a loader fills through `process.getBuiltinModule`, and the loader runs only when
 * cli.ts starts the command line; esbuild's `createRequire` banner (CommonJS packages) becomes a `require`
 * that creates itself on first use. Throws when a `node:` import is left, so a new layout of the bundler's
 * output fails the build instead of silently slowing every pod down.
 *
 * @param js the bundler's output
 * @returns the rewritten bundle
 */
export function deferNodeBuiltins(js: string): string {
  const builtin = (m: string) => `globalThis.process.getBuiltinModule(${JSON.stringify(m)})`;
  let out = js.replace(
    CREATE_REQUIRE,
    (_all, name: string) =>
      `var ${name}=(s)=>(${name}.r??=${builtin("node:module")}.createRequire(import.meta.url))(s);`,
  );
  const names: string[] = [];
  const assigns: string[] = [];
  out = out.replace(
    NODE_IMPORT,
    (_all, dflt: string | undefined, clause: string | undefined, mod: string) => {
      const m = `__cs_m(${JSON.stringify(mod)})`;
      if (dflt) {
        const d = dflt.replace(",", "").trim();
        names.push(d);
        assigns.push(`${d}=${m};`);
      }
      if (clause?.startsWith("{")) {
        const pairs = clause.slice(1, -1).split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => {
          const [from, to] = p.split(/\s+as\s+/);
          return [from, to ?? from];
        });
        names.push(...pairs.map(([, to]) => to));
        assigns.push(`({${pairs.map(([from, to]) => `${from}:${to}`).join(",")}}=${m});`);
      } else if (clause?.startsWith("*")) {
        const ns = clause.split(/\s+as\s+/)[1];
        names.push(ns);
        assigns.push(`${ns}={...${m},default:${m}};`);
      } else if (clause) {
        names.push(clause);
        assigns.push(`${clause}=${m};`);
      }
      return "";
    },
  );
  if (/(^|[;}\n])import\s*[^;(]*?from\s*"node:/.test(out) || /\bimport\s*"node:/.test(out)) {
    throw new Error(
      "bundle: a static node: import is left after deferNodeBuiltins (bundler output changed?)",
    );
  }
  if (names.length === 0) return out;
  const loader =
    `var ${names.join(",")};globalThis[Symbol.for(${JSON.stringify(NODE_BUILTINS_LOADER)})]=()=>{` +
    `const __cs_m=(m)=>${builtin("$M")};${assigns.join("")}};`.replace(`"$M"`, "m");
  return loader + out;
}

/** Bundles cli.ts into one executable file at `out` (relative to the repository root or absolute). */
export async function bundleTo(out: string): Promise<void> {
  const target = out.startsWith("/") ? out : `${ROOT}${out}`;
  const tmp = `${target}.tmp.js`;
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  await run(["bundle", "--quiet", "--platform", "deno", "--minify", "-o", tmp, "cli.ts"]);
  const js = deferNodeBuiltins((await Deno.readTextFile(tmp)).replace(/^#!.*\n/, ""));
  await Deno.remove(tmp);
  await Deno.writeTextFile(`${target}.new`, launcherHeader() + js, { mode: 0o755 });
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
    console.log(
      `wrote dist/chainsaw (bundle; runs under ${Deno.execPath()}, else a deno beside it or on PATH)`,
    );
  } else if (mode === "compile") {
    const out = triple ? `dist/chainsaw-${triple.startsWith("x86_64") ? "amd64" : "arm64"}` : "dist/chainsaw";
    try {
      await compileTo(out, triple);
    } catch {
      console.error(
        "build.ts: deno compile failed (see above). It downloads its runtime, denort, from dl.deno.land; " +
          "where that is unreachable use `deno task bundle` (works offline).",
      );
      Deno.exit(1);
    }
    console.log(`wrote ${out}`);
  } else {
    console.error("usage: build.ts bundle | compile [--target TRIPLE]");
    Deno.exit(2);
  }
}
