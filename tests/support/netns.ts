/**
 * Helpers for integration tests that run real CNI chains as root: network namespaces, a process holding a
 * namespace (for the `/proc/PID/ns/net` form runtimes pass), a cleanup stack, and {@linkcode runChain}, which runs
 * a conflist through the libcni driver (`tests/support/bin/cnidriver`, built on demand).
 *
 * Tests must only use 10.99.0.0/24, 192.0.2.0/24 or 198.51.100.0/24, and unique bridge names
 * ({@linkcode uniqueName}`("csbr")`).
 *
 * ```ts
 * Deno.test({ name: "bridge chain", ...requireRoot(), fn: async () => {
 *   await using cleanup = new Cleanup();
 *   const ns = await createNetns("bridge");
 *   cleanup.defer(() => ns.delete());
 *   const bridge = uniqueName("csbr");
 *   cleanup.defer(() => deleteLink(bridge));
 *   const r = await runChain({ conflist: bridgeConflist({ bridge, dataDir }), cmd: "add", netns: ns.path });
 * }});
 * ```
 *
 * @module
 */

import { buildGoPrograms, REPO_ROOT } from "../../scripts/test_setup.ts";

/** Absolute path of `ip`. */
export const IP = "/usr/sbin/ip";
/** Absolute path of `nsenter`. */
export const NSENTER = "/usr/bin/nsenter";
/** Directory of the test binaries (driver, Go pass-through, chainsaw bundle). */
export const BIN_DIR: string = `${REPO_ROOT}/tests/support/bin`;
/** The libcni driver binary. */
export const DRIVER: string = `${BIN_DIR}/cnidriver`;
/** Where Debian's containernetworking-plugins live. */
export const REFERENCE_PLUGIN_DIR = "/usr/lib/cni";
/** The driver's default libcni cache directory. */
export const DEFAULT_CACHE_DIR = "/run/chainsaw-test-cache";

/** Output of a finished command. */
export interface ExecResult {
  /** Exit code. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** A named network namespace made by {@linkcode createNetns}. */
export interface Netns {
  /** Name under /var/run/netns. */
  readonly name: string;
  /** `/var/run/netns/<name>`. */
  readonly path: string;
  /** Runs a command inside the namespace (through `nsenter --net=PATH`). */
  exec(argv: string[]): Promise<ExecResult>;
  /** `ip route show` (IPv4) inside the namespace. */
  routes(): Promise<string>;
  /** `ip -o addr show` inside the namespace, one line per address. */
  addrs(): Promise<string>;
  /** Removes the namespace; does nothing when it is already gone. */
  delete(): Promise<void>;
}

/** A process holding a network namespace, made by {@linkcode sleeperInNetns}. */
export interface Sleeper {
  /** Process id. */
  readonly pid: number;
  /** `/proc/<pid>/ns/net`. */
  readonly procPath: string;
  /** Kills the process (SIGKILL) and waits for it; safe to call twice. */
  kill(): Promise<void>;
}

/** Options of {@linkcode runChain}. */
export interface RunChainOptions {
  /** The network configuration list: an object (serialised as is) or JSON text. */
  conflist: Record<string, unknown> | string;
  /** CNI command; `adddel` runs ADD then DEL per iteration. */
  cmd: "add" | "check" | "del" | "version" | "adddel";
  /** CNI_NETNS: a namespace path (`/var/run/netns/x` or `/proc/PID/ns/net`). */
  netns?: string;
  /** CNI_CONTAINERID; default `chainsaw-test`. */
  id?: string;
  /** CNI_IFNAME; default `eth0`. */
  ifname?: string;
  /** CNI_ARGS as `K=V;K=V` or an object. */
  args?: string | Record<string, string>;
  /** Capability arguments (libcni passes a plugin only the ones it declares in `capabilities`). */
  cap?: Record<string, unknown>;
  /** Plugin search directories; default [{@linkcode BIN_DIR}, {@linkcode REFERENCE_PLUGIN_DIR}]. */
  path?: string[];
  /** libcni cache directory; default {@linkcode DEFAULT_CACHE_DIR}. */
  cacheDir?: string;
  /** Extra environment for the driver, which passes its environment on to every plugin. */
  env?: Record<string, string>;
  /** Start the driver with only `env` (plus PATH) instead of this process's environment. */
  clearEnv?: boolean;
  /** Run the command this many times; per-call times land in {@linkcode ChainResult.timingsUs}. */
  repeat?: number;
  /** Driver-side timeout in milliseconds (libcni context deadline). */
  timeoutMs?: number;
}

/** JSON a CNI driver run printed: a result, a version map, or an error object. */
export interface CniJson {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string; [key: string]: unknown }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number; [key: string]: unknown }>;
  routes?: Array<{ dst: string; gw?: string; [key: string]: unknown }>;
  dns?: Record<string, unknown>;
  /** Error code (errors only). */
  code?: number;
  /** Error message (errors only). */
  msg?: string;
  /** Error details (errors only). */
  details?: string;
  /** libcni's full error text including its wrapping (errors only). */
  error?: string;
  [key: string]: unknown;
}

/** Outcome of {@linkcode runChain}. */
export interface ChainResult extends ExecResult {
  /** Parsed stdout, or null when stdout was empty. */
  json: CniJson | null;
  /** Per-call wall times in microseconds when `repeat` > 1. */
  timingsUs: number[];
}

const decoder = new TextDecoder();

/**
 * Runs a command and collects its output; never throws for a non-zero exit.
 *
 * @param argv program (absolute path preferred) and arguments
 * @param opts extra environment / stdin text
 */
export async function run(
  argv: string[],
  opts: { env?: Record<string, string>; clearEnv?: boolean; stdin?: string } = {},
): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  const command = new Deno.Command(cmd, {
    args,
    env: opts.env,
    clearEnv: opts.clearEnv,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  if (opts.stdin === undefined) {
    const out = await command.output();
    return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  }
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(opts.stdin));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function mustRun(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * A random lowercase hex string.
 *
 * @param length number of hex digits
 */
export function randomHex(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(length / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, length);
}

/** Where this process's names start (random, so that two test processes on one host rarely meet). */
const NAME_START = crypto.getRandomValues(new Uint32Array(1))[0];
let namesGiven = 0;

/**
 * A name unique to this test process, e.g. `uniqueName("csbr")` → `csbr3fa9`: a random start, then one more for
 * each name, so two names of one process never collide (by construction, not by chance) until 16^length of
 * them. Keep prefix + length ≤ 15 for interface names.
 *
 * @param prefix fixed start
 * @param length number of hex digits (default 4)
 */
export function uniqueName(prefix: string, length = 4): string {
  const n = (NAME_START + namesGiven++) % 16 ** length;
  return prefix + n.toString(16).padStart(length, "0");
}

/** Whether this process runs as uid 0 (false when the uid cannot be read). */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

let warnedNotRoot = false;

/**
 * Test-definition fragment that skips a test when not running as root, with a visible message:
 * `Deno.test({ name: "…", ...requireRoot(), fn })`.
 *
 * @param what what needs root, for the message
 */
export function requireRoot(what = "network namespace tests"): { ignore: boolean } {
  const ignore = !isRoot();
  if (ignore && !warnedNotRoot) {
    warnedNotRoot = true;
    console.warn(`SKIPPING ${what}: they need root (uid 0) to create network namespaces and links`);
  }
  return { ignore };
}

/**
 * Creates a network namespace `cs-<prefix>-<random>` with `ip netns add` and brings its loopback up.
 *
 * @param prefix short tag naming the test
 */
export async function createNetns(prefix: string): Promise<Netns> {
  const name = `cs-${prefix}-${randomHex(6)}`;
  const path = `/var/run/netns/${name}`;
  await mustRun([IP, "netns", "add", name]);
  let deleted = false;
  const ns: Netns = {
    name,
    path,
    exec: (argv) => run([NSENTER, `--net=${path}`, ...argv]),
    routes: () => mustRun([IP, "-n", name, "route", "show"]),
    addrs: () => mustRun([IP, "-n", name, "-o", "addr", "show"]),
    delete: async () => {
      if (deleted) return;
      const r = await run([IP, "netns", "del", name]);
      if (r.code !== 0 && !/No such file/i.test(r.stderr)) {
        throw new Error(`ip netns del ${name} failed: ${r.stderr.trim()}`);
      }
      deleted = true;
    },
  };
  try {
    await mustRun([IP, "-n", name, "link", "set", "lo", "up"]);
  } catch (e) {
    await ns.delete();
    throw e;
  }
  return ns;
}

/**
 * Starts `sleep 600` inside a namespace (through `nsenter`, which execs, so the pid is sleep's) and waits until
 * the process is in it, so `/proc/<pid>/ns/net` can stand for the namespace the way runtimes pass it.
 *
 * @param ns the namespace to hold
 */
export async function sleeperInNetns(ns: Netns): Promise<Sleeper> {
  const child = new Deno.Command(NSENTER, {
    args: [`--net=${ns.path}`, "/usr/bin/sleep", "600"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let killed = false;
  const kill = async () => {
    if (!killed) {
      killed = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
    await child.status;
  };
  const procPath = `/proc/${child.pid}/ns/net`;
  try {
    const want = (await Deno.stat(ns.path)).ino;
    const deadline = Date.now() + 3000;
    for (;;) {
      let ino: number | null = null;
      try {
        ino = (await Deno.stat(procPath)).ino;
      } catch {
        // not there yet or exited
      }
      if (ino === want) break;
      if (Date.now() > deadline) throw new Error(`sleeper ${child.pid} did not enter ${ns.name}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } catch (e) {
    await kill();
    throw e;
  }
  return { pid: child.pid, procPath, kill };
}

/**
 * Deletes a host link (bridge, veth, …) by name; does nothing when it does not exist.
 *
 * @param name interface name
 */
export async function deleteLink(name: string): Promise<void> {
  const r = await run([IP, "link", "del", name]);
  if (r.code !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) {
    throw new Error(`ip link del ${name} failed: ${r.stderr.trim()}`);
  }
}

/**
 * Whether a host link exists.
 *
 * @param name interface name
 */
export async function linkExists(name: string): Promise<boolean> {
  return (await run([IP, "link", "show", "dev", name])).code === 0;
}

/**
 * A stack of cleanup actions run in reverse order; {@linkcode Cleanup.run} never throws, so a test removes every
 * namespace, link and process even after a failed assertion. Works with `await using`.
 */
export class Cleanup {
  #fns: Array<{ fn: () => unknown; label: string }> = [];

  /**
   * Registers an action to run at cleanup (last registered runs first).
   *
   * @param fn sync or async action
   * @param label name shown if it fails
   */
  defer(fn: () => unknown, label = fn.toString().slice(0, 80)): void {
    this.#fns.push({ fn, label });
  }

  /**
   * Runs every registered action in reverse order, logging failures instead of throwing.
   *
   * @returns the failure messages (empty when all succeeded)
   */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    while (this.#fns.length > 0) {
      const { fn, label } = this.#fns.pop()!;
      try {
        await fn();
      } catch (e) {
        const msg = `cleanup step failed (${label}): ${e instanceof Error ? e.message : String(e)}`;
        console.error(msg);
        failures.push(msg);
      }
    }
    return failures;
  }

  /** Same as {@linkcode Cleanup.run}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.run();
  }
}

let binaries: Promise<void> | undefined;

/** Builds the Go test programs (driver, pass-through) once per process, if missing or stale. */
export function ensureTestBinaries(): Promise<void> {
  binaries ??= buildGoPrograms();
  return binaries;
}

/**
 * A conflist whose first plugin is `bridge` with `host-local` IPAM, followed by `plugins`.
 *
 * @param opts bridge name (unique per test: {@linkcode uniqueName}`("csbr")`), host-local data dir (a temp dir
 *   the test removes), subnet (default 10.99.0.0/24), network name, cniVersion (default 1.0.0), extra plugins
 */
export function bridgeConflist(opts: {
  bridge: string;
  dataDir: string;
  subnet?: string;
  name?: string;
  cniVersion?: string;
  plugins?: Array<Record<string, unknown>>;
}): Record<string, unknown> {
  return {
    cniVersion: opts.cniVersion ?? "1.0.0",
    name: opts.name ?? `net-${opts.bridge}`,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: opts.subnet ?? "10.99.0.0/24" }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: opts.dataDir,
        },
      },
      ...(opts.plugins ?? []),
    ],
  };
}

/**
 * Writes the conflist to a temporary file and runs the libcni driver on it (building the driver first if
 * needed). Never throws for a CNI failure: look at `code` (0 success, 1 CNI error, 2 usage error) and `json`.
 *
 * @param opts the conflist, the command and the runtime arguments
 */
export async function runChain(opts: RunChainOptions): Promise<ChainResult> {
  await ensureTestBinaries();
  const dir = await Deno.makeTempDir({ prefix: "cs-chain-" });
  try {
    const file = `${dir}/net.conflist`;
    const text = typeof opts.conflist === "string" ? opts.conflist : JSON.stringify(opts.conflist, null, 2);
    await Deno.writeTextFile(file, text);
    const args = typeof opts.args === "object"
      ? Object.entries(opts.args).map(([k, v]) => `${k}=${v}`).join(";")
      : opts.args;
    const argv = [
      DRIVER,
      "-conflist",
      file,
      "-cmd",
      opts.cmd,
      "-id",
      opts.id ?? "chainsaw-test",
      "-ifname",
      opts.ifname ?? "eth0",
      "-path",
      (opts.path ?? [BIN_DIR, REFERENCE_PLUGIN_DIR]).join(":"),
      "-cachedir",
      opts.cacheDir ?? DEFAULT_CACHE_DIR,
    ];
    if (opts.netns !== undefined) argv.push("-netns", opts.netns);
    if (args !== undefined) argv.push("-args", args);
    if (opts.cap !== undefined) argv.push("-cap", JSON.stringify(opts.cap));
    if (opts.repeat !== undefined) argv.push("-repeat", String(opts.repeat));
    if (opts.timeoutMs !== undefined) argv.push("-timeout", `${opts.timeoutMs}ms`);
    const env = opts.clearEnv
      ? { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...opts.env }
      : opts.env;
    const r = await run(argv, { env, clearEnv: opts.clearEnv });
    let json: CniJson | null = null;
    if (r.stdout.trim() !== "") {
      try {
        json = JSON.parse(r.stdout);
      } catch {
        throw new Error(`driver printed non-JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
      }
    }
    const timingsUs = (opts.repeat ?? 1) > 1
      ? r.stderr.split("\n").filter((l) => /^\d+$/.test(l)).map(Number)
      : [];
    return { ...r, json, timingsUs };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
