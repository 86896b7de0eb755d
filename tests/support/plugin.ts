/**
 * Running the chainsaw plugin the way a runtime does: as a separate process (the bundle, under exactly the
 * permission flags of the compiled binary), with CNI_* variables and the network configuration on stdin.
 * @module
 */
import { BIN_DIR, randomHex, run } from "./netns.ts";

/** The bundled chainsaw executable the tests run. */
export const PLUGIN: string = `${BIN_DIR}/chainsaw`;

let built: Promise<void> | undefined;

/** Builds the bundle once per test process when `deno task test`'s set-up step did not. */
export function ensurePlugin(): Promise<void> {
  built ??= (async () => {
    try {
      await Deno.stat(PLUGIN);
    } catch {
      const { bundleTo } = await import("../../scripts/build.ts");
      await bundleTo(PLUGIN);
    }
  })();
  return built;
}

/** PATH for child processes, with the running deno's directory first (the bundle execs `deno` from PATH). */
export function pathWithDeno(): string {
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  return `${denoDir}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
}

/** The plugin's answer. */
export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or null when empty. */
  json: Record<string, unknown> | null;
}

/** Invokes the plugin with `env` (CNI_* etc.; PATH is added) and `stdin`. */
export async function invokePlugin(env: Record<string, string>, stdin: string | object): Promise<PluginRun> {
  await ensurePlugin();
  const r = await run([PLUGIN], {
    env: { PATH: pathWithDeno(), ...env },
    clearEnv: true,
    stdin: typeof stdin === "string" ? stdin : JSON.stringify(stdin),
  });
  const text = r.stdout.trim();
  let json: Record<string, unknown> | null = null;
  if (text !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { ...r, json };
}

/** CNI variables for a verb with sensible test defaults. */
export function cniEnv(command: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "ctr-test-1",
    CNI_NETNS: "/var/run/netns/does-not-exist",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/usr/lib/cni",
    ...over,
  };
}

/**
 * A scratch directory inside the binary's read/write scope (`/run/chainsaw/test-*`), for kubeconfigs, policy
 * files and sockets the plugin must be allowed to read. Remove it with the returned function.
 */
export async function scopedTempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = `/run/chainsaw/test-${randomHex(8)}`;
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  return { path, remove: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** Runs a command and throws when it fails (set-up steps). */
export async function must(argv: string[]): Promise<string> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
