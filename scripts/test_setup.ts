/**
 * Prepares what the integration tests run: installs the Debian packages they need when missing (as root; else it
 * prints the apt-get line and fails), builds the Go test programs (the libcni driver, the Go pass-through plugin
 * and the static pause program of the containerd test) into `tests/support/bin/`, then bundles chainsaw to
 * `tests/support/bin/chainsaw` when `scripts/build.ts` exports `bundleTo`.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write=tests/support/bin --allow-env scripts/test_setup.ts
 * ```
 *
 * The Go programs are built against Debian's packaged libcni (golang-github-appc-cni-dev) in GOPATH mode, so no
 * module download is needed. A binary newer than every `.go` file of its source directory is not rebuilt.
 *
 * @module
 */

/** A Go program built for the tests. */
export interface GoProgram {
  /** Source directory, relative to the repository root. */
  readonly src: string;
  /** Output binary, relative to the repository root. */
  readonly out: string;
  /** Build without cgo: a static binary (the pause program runs alone in an image). */
  readonly static?: boolean;
}

/** The Go programs the integration tests need. */
export const GO_PROGRAMS: readonly GoProgram[] = [
  { src: "tests/support/cnidriver", out: "tests/support/bin/cnidriver" },
  { src: "tests/support/passthrough", out: "tests/support/bin/passthrough" },
  { src: "tests/support/cri/pause", out: "tests/support/bin/pause", static: true },
];

export { aptLine, DEBIAN_PACKAGES, ensureDebianPackages } from "./debian_packages.ts";
import { aptLine, ensureDebianPackages } from "./debian_packages.ts";

/** Where the chainsaw bundle for the integration tests goes, relative to the repository root. */
export const CHAINSAW_TEST_BUNDLE = "tests/support/bin/chainsaw";

const GOPATH = "/usr/share/gocode";
const GOCACHE = "/tmp/chainsaw-gocache";

/** The repository root (the parent of `scripts/`), as an absolute path. */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".go")) {
      newest = Math.max(newest, (await mtime(`${dir}/${entry.name}`)) ?? 0);
    }
  }
  if (newest === 0) throw new Error(`no .go files in ${dir}`);
  return newest;
}

/**
 * Builds one Go program unless its binary is newer than its sources.
 *
 * @param program source directory and output binary, relative to the repository root
 * @returns `"built"` or `"fresh"` (left alone)
 * @throws Error carrying the compiler output when `go build` fails
 */
export async function buildGoProgram(program: GoProgram): Promise<"built" | "fresh"> {
  const src = `${REPO_ROOT}/${program.src}`;
  const out = `${REPO_ROOT}/${program.out}`;
  const built = await mtime(out);
  if (built !== undefined && built > await newestSource(src)) return "fresh";
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("go", {
      args: ["build", "-o", out, "."],
      cwd: src,
      env: {
        GO111MODULE: "off",
        GOPATH,
        GOCACHE,
        GOFLAGS: "",
        ...(program.static ? { CGO_ENABLED: "0" } : {}),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`\`go\` is not on PATH (${aptLine(["golang-go", "golang-github-appc-cni-dev"])})`);
    }
    throw e;
  }
  const { code, stdout, stderr } = result;
  if (code !== 0) {
    const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
    throw new Error(`go build ${program.src} failed (exit ${code}):\n${text.trim()}`);
  }
  return "built";
}

/**
 * Builds every program of {@linkcode GO_PROGRAMS} that is missing or stale.
 *
 * @param log called with one line per program
 */
export async function buildGoPrograms(log: (line: string) => void = () => {}): Promise<void> {
  await Deno.mkdir(`${REPO_ROOT}/tests/support/bin`, { recursive: true });
  for (const program of GO_PROGRAMS) {
    const t0 = performance.now();
    const state = await buildGoProgram(program);
    log(
      state === "built"
        ? `built ${program.out} (${Math.round(performance.now() - t0)} ms)`
        : `${program.out} is up to date`,
    );
  }
}

/**
 * Bundles chainsaw to {@linkcode CHAINSAW_TEST_BUNDLE} with `bundleTo` from `scripts/build.ts`, when that module
 * exists and exports it.
 *
 * @returns whether a bundle was made
 */
export async function bundleChainsaw(log: (line: string) => void = () => {}): Promise<boolean> {
  let build: Record<string, unknown>;
  try {
    build = await import("./build.ts");
  } catch (e) {
    // A missing build.ts is expected for now; any other failure (syntax, permissions) is reported.
    if (e instanceof TypeError && /Module not found.*scripts\/build\.ts/i.test(e.message)) {
      log("skipped bundle: scripts/build.ts does not exist yet");
      return false;
    }
    throw e;
  }
  const bundleTo = build.bundleTo;
  if (typeof bundleTo !== "function") {
    log("skipped bundle: scripts/build.ts does not export bundleTo");
    return false;
  }
  const t0 = performance.now();
  await bundleTo(CHAINSAW_TEST_BUNDLE);
  log(`bundled ${CHAINSAW_TEST_BUNDLE} (${Math.round(performance.now() - t0)} ms)`);
  return true;
}

if (import.meta.main) {
  const log = (line: string) => console.log(`test_setup: ${line}`);
  try {
    Deno.chdir(REPO_ROOT);
    await ensureDebianPackages({ log });
    await buildGoPrograms(log);
    await bundleChainsaw(log);
  } catch (e) {
    console.error(`test_setup: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
