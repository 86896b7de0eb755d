/**
 * Phase 1, build: the driver and the Go pass-through (libcni skel), the chainsaw bundle, the floors.
 * @module
 */
import { launcherHeader } from "../../scripts/build.ts";
import { buildGoPrograms, REPO_ROOT } from "../../scripts/test_setup.ts";
import { BIN_DIR, randomHex, run } from "../../tests/support/netns.ts";
import type { Bench } from "../context.ts";
import { SYSTEM_PATH } from "../fixtures.ts";

/** The programs the cases run, in a scratch directory. */
export interface Build {
  /** The run's scratch directory (under /run/chainsaw). */
  scratch: string;
  /** The plugins' directory: chainsaw, gopass, denopass, nodepass. */
  bin: string;
  /** The chainsaw executable measured. */
  chainsaw: string;
  bundleBytes: number;
  nodePath: string;
  /** The plugins' environment (PATH with deno first). */
  env: Record<string, string>;
}

/**
 * Builds or copies everything the cases run.
 *
 * @param bench the run
 */
export async function build(bench: Bench): Promise<Build> {
  const { opts, log, cleanup } = bench;
  await buildGoPrograms(log);
  const scratch = `/run/chainsaw/test-bench-${randomHex(8)}`;
  await Deno.mkdir(`${scratch}/bin`, { recursive: true, mode: 0o700 });
  cleanup.defer(() => Deno.remove(scratch, { recursive: true }).catch(() => {}), "scratch dir");
  const bin = `${scratch}/bin`;
  const chainsaw = `${bin}/chainsaw`;
  if (opts.plugin) {
    await Deno.copyFile(opts.plugin, chainsaw);
  } else {
    const { bundleTo } = await import("../../scripts/build.ts");
    const tb = performance.now();
    await bundleTo(chainsaw);
    log(`bundled chainsaw (${Math.round(performance.now() - tb)} ms)`);
  }
  await Deno.chmod(chainsaw, 0o755);
  const bundleBytes = (await Deno.stat(chainsaw)).size;
  await Deno.copyFile(`${BIN_DIR}/passthrough`, `${bin}/gopass`);
  await Deno.chmod(`${bin}/gopass`, 0o755);
  const floorJs = await Deno.readTextFile(`${REPO_ROOT}/bench/floor/deno_passthrough.js`);
  await Deno.writeTextFile(`${bin}/denopass`, launcherHeader() + floorJs, { mode: 0o755 });
  const nodePath = (await run(["/bin/sh", "-c", "command -v node"])).stdout.trim();
  if (!nodePath.startsWith("/")) {
    throw new Error("`node` is not on PATH (the Node pass-through anchor needs it)");
  }
  const nodeJs = await Deno.readTextFile(`${REPO_ROOT}/bench/floor/node_passthrough.cjs`);
  await Deno.writeTextFile(`${bin}/nodepass`, `#!${nodePath}\n${nodeJs}`, { mode: 0o755 });
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  const env = { PATH: `${denoDir}:${SYSTEM_PATH}` };
  return { scratch, bin, chainsaw, bundleBytes, nodePath, env };
}
