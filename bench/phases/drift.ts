/**
 * Phase 10, drift checks (issue 17 §4): the CPU the daemon spends checking that a node's worth of attachments
 * (110) still hold their effects. Each attachment is a real network namespace with a route chainsaw "added" (its
 * effect computed from two real snapshots around `ip route add`, as the executor stores it), registered with the
 * daemon like a plugin's ADD. The daemon runs with a short `--drift-check-seconds` so that a few full rounds fit
 * in the measurement; its CPU (its own and its children's — the `nsenter` + `ip` processes — from
 * /proc/PID/stat) is divided by the checks it made (`chainsaw_drift_checks_total`), less its idle CPU measured
 * the same way with nothing to check. The default interval's cost follows: 110 checks per 60 s.
 * @module
 */
import type { Bench } from "../context.ts";
import { startDaemon } from "../daemon_bench.ts";
import { ANNOTATION, benchPods, NODE_NAME } from "../fixtures.ts";
import type { DriftReport } from "../findings.ts";
import type { ChainDaemon } from "./daemon.ts";
import type { Kubernetes } from "./kubernetes.ts";
import { IP, NSENTER, run } from "../../tests/support/netns.ts";
import { observeNetns } from "../../src/exec/netns_observe.ts";
import { effectBetween } from "../../src/declarative/effect.ts";
import { sampleValue } from "../../src/daemon/metrics/metrics_registry.ts";

/** Attachments checked (a node's worth of pods). */
const ATTACHMENTS = 110;
/** The default `--drift-check-seconds`, which the result is projected to. */
const DEFAULT_INTERVAL_S = 60;

/** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on Linux). */
const TICKS = 100;

/** The process's CPU so far, its waited-for children included, in milliseconds. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold blanks) — utime stime cutime cstime are 14..17.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * (1000 / TICKS);
}

async function metrics(healthUrl: string): Promise<string> {
  const res = await fetch(healthUrl.replace(/\/healthz$/, "/metrics"));
  return await res.text();
}

/** Checks made so far, by result. */
async function checks(healthUrl: string): Promise<Record<string, number>> {
  const text = await metrics(healthUrl);
  const out: Record<string, number> = {};
  for (const result of ["holds", "drifted", "raced", "error"]) {
    out[result] = sampleValue(text, "chainsaw_drift_checks_total", { result }) ?? 0;
  }
  return out;
}

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

async function must(argv: string[]): Promise<void> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.trim()}`);
}

/**
 * Measures the drift checks' CPU (nothing when there is no daemon or it has no drift checks).
 *
 * @param bench the run
 * @param kube the fake API server
 * @param daemon how to start a daemon
 */
export async function driftChecks(bench: Bench, kube: Kubernetes, daemon: ChainDaemon): Promise<DriftReport> {
  const { opts, log, cleanup } = bench;
  if (!daemon.features.daemon) return { note: daemon.note ?? "n/a (no daemon)" };
  if (!daemon.features.flags.has("drift-check-seconds")) return { note: "n/a (no --drift-check-seconds)" };
  const n = opts.smoke ? 10 : ATTACHMENTS;
  // Short rounds so that several fit in the measurement; the checks are spread the same way at any interval.
  const intervalS = opts.smoke ? 2 : 11;
  const rounds = opts.smoke ? 1 : 3;
  try {
    log(`drift: ${n} network namespaces with a route each`);
    const bins = { ipPath: IP, nsenterPath: NSENTER };
    const names: string[] = [];
    cleanup.defer(async () => {
      for (const name of names) await run([IP, "netns", "del", name]).catch(() => {});
    }, "drift netns");
    const effects = [];
    for (let i = 0; i < n; i++) {
      const name = `chainsaw-bench-drift-${i}`;
      await run([IP, "netns", "del", name]).catch(() => {});
      await must([IP, "netns", "add", name]);
      names.push(name);
      const path = `/var/run/netns/${name}`;
      await must([IP, "-n", name, "link", "set", "lo", "up"]);
      const before = await observeNetns(path, bins, []);
      await must([IP, "-n", name, "route", "add", `10.${100 + (i >> 8)}.${i & 255}.0/24`, "dev", "lo"]);
      const after = await observeNetns(path, bins, []);
      effects.push({ path, items: effectBetween(before, after, [`route add 10.x dev lo`]) });
    }
    // The pods the attachments belong to (an attachment of no pod is pruned).
    for (const p of kube.api.pods()) kube.api.deletePod(p.metadata.namespace, p.metadata.name);
    const pods = benchPods(n).filter((p) => p.spec.nodeName === NODE_NAME);
    for (const p of pods) kube.api.setPod(p);
    const d = await startDaemon(daemon.setup(), "drift", ["--drift-check-seconds", String(intervalS)]);
    cleanup.defer(() => d.stop(), "drift daemon");
    try {
      // Idle: nothing to check yet.
      const idleMs = opts.smoke ? 1000 : 5000;
      const i0 = await cpuMs(d.pid);
      await new Promise((r) => setTimeout(r, idleMs));
      const idleCpuPerS = (await cpuMs(d.pid) - i0) / (idleMs / 1000);

      const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
      let registered = 0;
      try {
        for (const [i, p] of pods.entries()) {
          const body = {
            containerId: `bench-drift-${String(i).padStart(4, "0")}`,
            netns: effects[i].path,
            ifname: "lo",
            network: "bench",
            pod: { namespace: p.metadata.namespace, name: p.metadata.name, uid: String(p.metadata.uid) },
            podInterfaces: ["lo"],
            onError: "rollback",
            mode: "declarative",
            drift: "report",
            // The pod's own value ("" for none): nothing is re-applied, nothing taken back.
            applied: p.metadata.annotations?.[ANNOTATION] ?? "",
            effect: { items: effects[i].items },
          };
          const res = await fetch("http://chainsaw/v1/attachments", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            client,
          } as RequestInit);
          await res.body?.cancel();
          if (res.ok) registered++;
        }
      } finally {
        client.close();
      }
      // One round to settle (the registrations' syncs, the first checks), then the measured rounds.
      await new Promise((r) => setTimeout(r, intervalS * 1000));
      const c0 = await checks(d.healthUrl);
      const t0 = await cpuMs(d.pid);
      const w0 = performance.now();
      await new Promise((r) => setTimeout(r, rounds * intervalS * 1000));
      const cpu = await cpuMs(d.pid) - t0;
      const seconds = (performance.now() - w0) / 1000;
      const c1 = await checks(d.healthUrl);
      const made = total(c1) - total(c0);
      const byResult = Object.fromEntries(Object.keys(c1).map((k) => [k, c1[k] - c0[k]]));
      const netCpu = Math.max(0, cpu - idleCpuPerS * seconds);
      const perCheckMs = made > 0 ? netCpu / made : NaN;
      // At the default interval: `registered` checks per 60 s, plus nothing else (the idle cost is the daemon's).
      const coreShare = (perCheckMs * registered) / (DEFAULT_INTERVAL_S * 1000);
      return {
        attachments: registered,
        intervalS,
        seconds,
        checks: made,
        byResult,
        cpuMs: cpu,
        idleCpuMsPerS: idleCpuPerS,
        perCheckMs,
        coreShareAtDefault: coreShare,
      };
    } finally {
      await d.stop();
    }
  } catch (e) {
    log(`drift checks failed: ${(e as Error).message}`);
    return { note: `failed: ${(e as Error).message.split("\n")[0]}` };
  }
}
