/**
 * The Debian packages the tests need, and installing the missing ones: the first step of `deno task test` and
 * `deno task demo` (scripts/test_setup.ts), so that a fresh Debian 12 machine with only Node.js needs nothing
 * but the README's two commands.
 *
 * - every package installed (`dpkg-query`): nothing else runs;
 * - some missing, as root: one progress line, `apt-get update` once, then `apt-get install` quietly (its output
 *   is shown only when it fails), then a re-check;
 * - some missing, not root: an error carrying the exact apt-get line to run as root (the caller exits non-zero).
 *
 * ```ts
 * await ensureDebianPackages({ log: console.log });
 * ```
 *
 * @module
 */

/**
 * The Debian packages the tests, the demo and the bench run, beyond Debian's minbase (coreutils, dash, mount, tar,
 * …) and Node.js: every program they spawn comes from one of these or from minbase
 * (scripts/external_programs_test.ts checks it, and that README's list of what the first run installs is this).
 */
export const DEBIAN_PACKAGES: readonly string[] = [
  // The reference CNI plugins (bridge, host-local): the chains under test.
  "containernetworking-plugins",
  // Go and Debian's libcni source: the libcni test driver, a Go pass-through plugin, the pause program.
  "golang-go",
  "golang-github-appc-cni-dev",
  // `ip`.
  "iproute2",
  // `nsenter`, `prlimit` (essential on Debian; listed because the tests cannot do without them).
  "util-linux",
  // containerd (and `ctr`) and runc: the real-runtime test.
  "containerd",
  "runc",
  // Prometheus 2.42 and `promtool`: the alert rules and the scrape of the daemon's metrics.
  "prometheus",
  // A gate plugin of the rollback test (Debian's npm already brings it; a Node.js from elsewhere may not).
  "python3",
];

/** Output of one command run by a {@linkcode PackageRunner}. */
export interface RunResult {
  // Exit code; 127 when the program does not exist.
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with extra environment; injectable so tests can stand in for dpkg and apt-get. */
export type PackageRunner = (argv: string[], env?: Record<string, string>) => Promise<RunResult>;

/** Options of {@linkcode ensureDebianPackages}. */
export interface EnsureOptions {
  // Packages to have; default {@linkcode DEBIAN_PACKAGES}.
  packages?: readonly string[];
  // Command runner; default: a real process, 127 when the program is missing.
  run?: PackageRunner;
  // Whether this process may install; default: `id -u` is 0.
  isRoot?: () => Promise<boolean>;
  // Progress lines.
  log?: (line: string) => void;
}

/** Missing packages, or a failed install: the message says what to do. */
export class PackageSetupError extends Error {
  /**
   * @param message what is missing or failed, and the command to run
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PackageSetupError";
  }
}

/**
 * The apt-get line that installs `packages` (what a non-root user is told to run as root).
 *
 * @param packages Debian package names
 * @returns `apt-get update && apt-get install -y --no-install-recommends …`
 * @example
 * ```ts
 * aptLine(["runc"]); // "apt-get update && apt-get install -y --no-install-recommends runc"
 * ```
 */
export function aptLine(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
}

const decoder = new TextDecoder();

/** The default runner: a real child process; a missing program is exit 127 (like a shell). */
export async function realRunner(argv: string[], env?: Record<string, string>): Promise<RunResult> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, stdout: "", stderr: `${argv[0]}: not found` };
    throw e;
  }
}

/**
 * Which of `packages` are not installed, from `dpkg-query` (a package it does not know is missing too).
 *
 * @param packages Debian package names
 * @param run command runner
 * @returns the missing ones, in the order given; undefined when `dpkg-query` does not exist (not Debian)
 */
export async function missingPackages(
  packages: readonly string[],
  run: PackageRunner = realRunner,
): Promise<string[] | undefined> {
  const r = await run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n", ...packages]);
  if (r.code === 127) return undefined;
  const installed = new Set(
    r.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((w) => w[1] === "installed").map((w) =>
      w[0].replace(/:.*$/, "")
    ),
  );
  return packages.filter((p) => !installed.has(p));
}

function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

/**
 * Installs the missing packages of `opts.packages` with apt-get when running as root.
 *
 * @param opts packages, runner, root check and log (all optional)
 * @returns the packages it installed (empty when all were there, or when this is not a dpkg system)
 * @throws PackageSetupError when packages are missing and this is not root (the message has the apt-get line),
 *   or when apt-get fails (the message has its output's end)
 * @example
 * ```ts
 * const installed = await ensureDebianPackages({ log: (l) => console.log(`setup: ${l}`) });
 * ```
 */
export async function ensureDebianPackages(opts: EnsureOptions = {}): Promise<string[]> {
  const packages = opts.packages ?? DEBIAN_PACKAGES;
  const run = opts.run ?? realRunner;
  const log = opts.log ?? (() => {});
  const isRoot = opts.isRoot ?? (async () => (await run(["id", "-u"])).stdout.trim() === "0");
  const missing = await missingPackages(packages, run);
  if (missing === undefined) {
    log("dpkg-query not found (not Debian?): not checking packages");
    return [];
  }
  if (missing.length === 0) return [];
  if (!(await isRoot())) {
    throw new PackageSetupError(
      `missing Debian packages: ${missing.join(", ")}. Run as root: ${aptLine(missing)}`,
    );
  }
  log(`installing ${missing.join(" ")} with apt-get (first run only; about a minute)`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const update = await run(["apt-get", "update", "-qq"], env);
  if (update.code !== 0) {
    throw new PackageSetupError(
      `apt-get update failed (exit ${update.code}):\n${tail(update.stderr + update.stdout)}`,
    );
  }
  const install = await run(
    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing],
    env,
  );
  if (install.code !== 0) {
    throw new PackageSetupError(
      `apt-get install ${missing.join(" ")} failed (exit ${install.code}):\n${
        tail(install.stderr + install.stdout)
      }`,
    );
  }
  const still = await missingPackages(missing, run) ?? [];
  if (still.length > 0) {
    throw new PackageSetupError(`apt-get install succeeded but ${still.join(", ")} still not installed`);
  }
  return missing;
}
