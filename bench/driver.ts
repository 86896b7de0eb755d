/**
 * Runs one batch of CNI calls through the real libcni driver (`tests/support/bin/cnidriver -stats FILE`) and reads
 * back what it measured: per chain call (one ADD, CHECK, DEL or VERSION of the whole list) and per plugin process
 * (wall time, CPU time from wait4's rusage, peak RSS). With `parallel` the driver runs that many pods at once
 * (`-parallel`: one burst per verb, a `burst` line with each burst's wall time).
 * @module
 */
import { DRIVER, run } from "../tests/support/netns.ts";

/** One line of the driver's `-stats` file. */
export interface DriverStat {
  /** `call`: one list operation; `exec`: one plugin process; `burst`: one verb of all pods of a parallel run. */
  kind: "call" | "exec" | "burst";
  /** Iteration of `-repeat`, from 0. */
  iter: number;
  /** CNI verb: ADD, CHECK, DEL, VERSION. */
  verb: string;
  /** Plugin binary name (exec lines only). */
  plugin?: string;
  ok: boolean;
  wallUs: number;
  userUs: number;
  sysUs: number;
  maxRssKb: number;
  /** Plugin processes of the call (call lines), pods of the burst (burst lines). */
  execs?: number;
  /** Pod index + 1 in a parallel run. */
  pod?: number;
}

/** What to run. */
export interface DriverBatch {
  /** The conflist file. */
  conflist: string;
  /** Driver command: `add`, `addcheckdel`, `adddel`, `version` or `del`. */
  cmd: "add" | "addcheckdel" | "adddel" | "version" | "del";
  /** CNI_NETNS (with `parallel`, `%d` becomes the pod's index). */
  netns: string;
  /** CNI_CONTAINERID (with `parallel`, pod i's is `<id>-<i>`). */
  id: string;
  /** CNI_ARGS (with `parallel`, `%d` becomes the pod's index). */
  args: string;
  /** Capability arguments, if any. */
  cap?: Record<string, unknown>;
  /** Plugin directories. */
  path: string[];
  /** libcni cache directory. */
  cacheDir: string;
  /** The whole environment of the driver (and so of every plugin). */
  env: Record<string, string>;
  /** Iterations. */
  repeat: number;
  /** Where the driver appends its statistics (truncated first). */
  statsFile: string;
  /** Pods run at once (`-parallel`); 1 or absent: one after the other. */
  parallel?: number;
}

/** A finished batch. */
export interface BatchResult {
  stats: DriverStat[];
  stdout: string;
  stderr: string;
}

/**
 * Runs a batch; throws with the driver's output when any call failed.
 *
 * @param b the batch
 */
export async function runBatch(b: DriverBatch): Promise<BatchResult> {
  await Deno.writeTextFile(b.statsFile, "");
  const argv = [
    DRIVER,
    "-conflist",
    b.conflist,
    "-cmd",
    b.cmd,
    "-id",
    b.id,
    "-ifname",
    "eth0",
    "-path",
    b.path.join(":"),
    "-cachedir",
    b.cacheDir,
    "-netns",
    b.netns,
    "-args",
    b.args,
    "-repeat",
    String(b.repeat),
    "-stats",
    b.statsFile,
    "-timeout",
    "120s",
  ];
  if (b.cap !== undefined) argv.push("-cap", JSON.stringify(b.cap));
  if (b.parallel !== undefined && b.parallel > 1) argv.push("-parallel", String(b.parallel));
  const r = await run(argv, { env: b.env, clearEnv: true });
  const stats = (await Deno.readTextFile(b.statsFile)).split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l) as DriverStat
  );
  if (r.code !== 0) {
    throw new Error(
      `cnidriver ${b.cmd} (${b.id}) failed with exit ${r.code}: ${r.stdout.trim()}\n${
        r.stderr.trim().slice(-2000)
      }`,
    );
  }
  return { stats, stdout: r.stdout, stderr: r.stderr };
}
