/**
 * Running `chainsaw daemon` (and `chainsaw install`, `chainsaw logs`, the plugin) as real processes under exactly
 * the permission flags of the shipped program: a fresh bundle (scripts/build.ts `bundleTo`) placed inside the
 * program's read scope (`/run/chainsaw/test-*`), so the daemon can also install its own file. When bundling is
 * impossible (a module of the tree does not build yet), `deno run <the same flags> cli.ts` is used instead and the
 * tests that need the bundle itself are skipped.
 * @module
 */
import { permissionFlags } from "../src/permissions.ts";
import type { FakeApiServer } from "./support/fake_apiserver.ts";
import { type Cleanup, randomHex } from "./support/netns.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** How the tests start chainsaw. */
export interface Chainsaw {
  /** argv prefix: the bundle, or deno run with the permission flags and cli.ts. */
  argv: string[];
  /** The bundle's path when one was built. */
  bundle?: string;
  /** Working directory for the fallback (deno.json's import map). */
  cwd: string;
}

let chainsaw: Promise<Chainsaw> | undefined;

/** PATH for children, with the running deno's directory first (the bundle execs `deno` from PATH). */
export function childPath(): string {
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  return `${denoDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** Builds (once per test process) the bundle the tests run; removed when the process ends. */
export function ensureChainsaw(): Promise<Chainsaw> {
  chainsaw ??= (async () => {
    const dir = `/run/chainsaw/test-bin-${randomHex(8)}`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
    const bundle = `${dir}/chainsaw`;
    try {
      const { bundleTo } = await import("../scripts/build.ts");
      await bundleTo(bundle);
      return { argv: [bundle], bundle, cwd: dir };
    } catch (e) {
      console.warn(
        `daemon tests: cannot bundle chainsaw (${(e as Error).message}); running cli.ts from source`,
      );
      return { argv: [Deno.execPath(), "run", ...permissionFlags(), `${REPO_ROOT}/cli.ts`], cwd: REPO_ROOT };
    }
  })();
  return chainsaw;
}

/** A scratch directory inside the program's read/write scope; `remove` deletes it. */
export async function scratchDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = `/run/chainsaw/test-${randomHex(8)}`;
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  return { path, remove: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 20 ms until it holds; throws after `ms` naming `what`. */
export async function waitFor(
  what: string,
  cond: () => unknown | Promise<unknown>,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Waits until `output()` (a process's collected stdout or stderr) includes `needle`. Each stream is its own pipe,
 * read apart from the socket, the API server and the netns: a line the process wrote before an effect seen on
 * another channel may not have been read yet. Throws after `ms` naming `what` and showing the output.
 */
export async function waitForOutput(
  what: string,
  output: () => string,
  needle: string,
  ms = 10_000,
): Promise<void> {
  try {
    await waitFor(what, () => output().includes(needle), ms);
  } catch (e) {
    throw new Error(`${(e as Error).message}: no ${JSON.stringify(needle)} in:\n${output()}`, { cause: e });
  }
}

/** Collects a child's output stream as text while it runs. */
class Collector {
  text = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this.text += chunk;
    })().catch(() => {});
  }
}

/** A running chainsaw process. */
export interface Proc {
  readonly child: Deno.ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit status (output fully collected). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends a signal unless it already exited. */
  kill(signal?: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. Safe to call twice. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Spawns `chainsaw ARGS…` with a clean environment plus `env`. */
export async function spawnChainsaw(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<Proc> {
  const cs = await ensureChainsaw();
  const [cmd, ...pre] = cs.argv;
  const child = new Deno.Command(cmd, {
    args: [...pre, ...args],
    cwd: cs.cwd,
    clearEnv: true,
    env: { PATH: childPath(), NO_COLOR: "1", ...env },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = new Collector(child.stdout);
  const err = new Collector(child.stderr);
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await Promise.all([out.done, err.done]);
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (exited) return;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    child,
    stdout: () => out.text,
    stderr: () => err.text,
    status,
    kill,
    async stop(graceMs = 5000) {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      try {
        return await status;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs chainsaw to completion. */
export async function runChainsaw(
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = await spawnChainsaw(args, env, stdin);
  const s = await p.status;
  return { code: s.code, stdout: p.stdout(), stderr: p.stderr() };
}

/** A running daemon. */
export interface Daemon extends Proc {
  readonly socket: string;
  /** `http://127.0.0.1:PORT` of the health port. */
  readonly healthUrl: string;
}

/**
 * Starts `chainsaw daemon` with its socket under `dir`, a random health port, its state file under `dir` (unless
 * `args` name one), and `args`; resolves once the health port is announced (rejects with the daemon's stderr if it
 * exits first).
 */
export async function startDaemon(
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Daemon> {
  const socket = `${dir}/sock/chainsaw.sock`;
  // Never the host's /var/lib/chainsaw: each test daemon keeps its attachments in its own directory.
  const state = args.includes("--state-file") ? [] : ["--state-file", `${dir}/state/attachments.json`];
  const p = await spawnChainsaw(
    ["daemon", "--socket", socket, "--health-addr", "127.0.0.1:0", ...state, ...args],
    env,
  );
  let exited = false;
  p.status.then(() => exited = true);
  let url: string | undefined;
  try {
    await waitFor("the daemon to announce its health port", () => {
      if (exited) throw new Error(`daemon exited early:\n${p.stderr()}`);
      url = /health server listening on (http:\/\/[^\s"]+)/.exec(p.stderr())?.[1];
      return url !== undefined;
    }, 20_000);
  } catch (e) {
    await p.stop(1000);
    throw e;
  }
  return { ...p, socket, healthUrl: url! };
}

/** One request over the daemon socket; the body is read as text. */
export async function socketRequest(
  socket: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch(`http://chainsaw${path}`, { ...init, client } as RequestInit);
    return { status: res.status, text: await res.text(), headers: res.headers };
  } finally {
    client.close();
  }
}

/**
 * POSTs a report body (object or raw text) to the daemon; resolves with the status. Pass `client` to reuse a
 * connection: in Deno 2.9.6 creating unix-socket HTTP clients concurrently in one process stalls for seconds, so
 * parallel senders in one test process each keep their own client (real plugins are separate processes).
 */
export async function postReport(socket: string, body: unknown, client?: Deno.HttpClient): Promise<number> {
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
  if (!client) return (await socketRequest(socket, "/v1/reports", init)).status;
  const res = await fetch("http://chainsaw/v1/reports", { ...init, client } as RequestInit);
  await res.body?.cancel();
  return res.status;
}

/** GETs a health-port path. */
export async function healthGet(d: Daemon, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${d.healthUrl}${path}`);
  return { status: res.status, text: await res.text() };
}

/** Waits until the daemon's /readyz answers 200 (a refused or failed request counts as not yet). */
export async function waitReady(d: Daemon, ms?: number): Promise<void> {
  await waitFor(
    "the daemon to be ready",
    async () => (await healthGet(d, "/readyz").catch(() => ({ status: 0 }))).status === 200,
    ms,
  );
}

/** A scratch directory (removed at cleanup) holding the kubeconfig of a fake API server. */
export interface ApiScratch {
  readonly path: string;
  /** `PATH/daemon.kubeconfig`: the fake API server's credentials. */
  readonly kubeconfig: string;
}

/** Makes a scratch dir and writes `api`'s kubeconfig into it (mode 0600); both are undone by `cleanup`. */
export async function apiScratch(cleanup: Cleanup, api: FakeApiServer): Promise<ApiScratch> {
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove, "scratch dir");
  const kubeconfig = `${tmp.path}/daemon.kubeconfig`;
  await Deno.writeTextFile(kubeconfig, api.kubeconfig(), { mode: 0o600 });
  return { path: tmp.path, kubeconfig };
}

/**
 * The daemon flags for talking to a fake API server as node `node`: no install, no plugin kubeconfig, the API's
 * kubeconfig, no shutdown delay; then `args`.
 */
export function apiDaemonArgs(kubeconfig: string, node: string, args: readonly string[] = []): string[] {
  return [
    "--no-install",
    "--no-kubeconfig",
    "--kubeconfig",
    kubeconfig,
    "--node-name",
    node,
    "--shutdown-delay-seconds",
    "0",
    ...args,
  ];
}

/** A daemon started by {@link startDaemonOnApi}. */
export interface DaemonOnApi {
  readonly daemon: Daemon;
  /** Its scratch directory (socket, state file, kubeconfig). */
  readonly dir: string;
  readonly kubeconfig: string;
  readonly socket: string;
}

/**
 * Starts `chainsaw daemon` against the fake API server `api` as node `node` (see {@link apiDaemonArgs}) in a new
 * scratch dir (or `scratch`, made beforehand with {@link apiScratch}), registers its stop with `cleanup` and waits
 * until it is ready (unless `ready: false`).
 */
export async function startDaemonOnApi(
  cleanup: Cleanup,
  api: FakeApiServer,
  opts: { node: string; args?: readonly string[]; scratch?: ApiScratch; ready?: boolean },
): Promise<DaemonOnApi> {
  const scratch = opts.scratch ?? await apiScratch(cleanup, api);
  const daemon = await startDaemon(scratch.path, apiDaemonArgs(scratch.kubeconfig, opts.node, opts.args));
  cleanup.defer(() => daemon.stop(), "daemon");
  if (opts.ready !== false) await waitReady(daemon);
  return { daemon, dir: scratch.path, kubeconfig: scratch.kubeconfig, socket: daemon.socket };
}

/**
 * Starts `chainsaw daemon --no-install --no-kubeconfig ARGS…` (no API server) in a new scratch dir; the dir and
 * the daemon are undone by `cleanup`.
 */
export async function startBareDaemon(cleanup: Cleanup, args: readonly string[] = []): Promise<Daemon> {
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove, "scratch dir");
  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig", ...args]);
  cleanup.defer(() => d.stop(), "daemon");
  return d;
}
