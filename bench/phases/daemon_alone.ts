/**
 * Phase 8, the daemon on its own: the chain daemon stopped, a new one with a node's worth of pods (110) in the
 * fake API server; its idle memory once its cache has them, `/healthz` and report ingestion (`POST /v1/reports`)
 * under load, and its memory after that flood. Its report section: the daemon table.
 * @module
 */
import type { Bench } from "../context.ts";
import { load, memoryOf, startDaemon, type Throughput, waitForPod } from "../daemon_bench.ts";
import { benchPods, NODE_NAME, ONE_COMMAND, POD } from "../fixtures.ts";
import type { DaemonReport, Findings } from "../findings.ts";
import type { ChainDaemon } from "./daemon.ts";
import type { Kubernetes } from "./kubernetes.ts";

/**
 * Measures the daemon (nothing when there is none: the report says why).
 *
 * @param bench the run
 * @param kube the fake API server
 * @param daemon the chain daemon, stopped here
 */
export async function daemonAlone(
  bench: Bench,
  kube: Kubernetes,
  daemon: ChainDaemon,
): Promise<DaemonReport> {
  const { opts, log, cleanup } = bench;
  const daemonReport: DaemonReport = { note: daemon.note };
  if (daemon.running) {
    await daemon.running.stop();
    daemon.running = undefined;
    try {
      await measureDaemon();
    } catch (e) {
      daemonReport.note = `failed: ${(e as Error).message.split("\n")[0]}`;
      log(`daemon measurements failed: ${(e as Error).message}`);
    }
  }

  async function measureDaemon(): Promise<void> {
    // Exactly the 110 pods of the node (the burst's pods go).
    for (const p of kube.burstPods) kube.api.deletePod(p.metadata.namespace, p.metadata.name);
    const pods = benchPods(110);
    for (const p of pods) kube.api.setPod(p);
    const d = await startDaemon(daemon.setup(), "idle");
    cleanup.defer(() => d.stop(), "idle daemon");
    try {
      let podCache = false;
      if (daemon.features.podCache) {
        const last = pods.filter((p) => p.spec.nodeName === NODE_NAME).at(-1)!;
        podCache = await waitForPod(d, {
          namespace: last.metadata.namespace,
          name: last.metadata.name,
          uid: String(last.metadata.uid),
        }, 20_000);
      }
      await new Promise((r) => setTimeout(r, opts.smoke ? 300 : 3000));
      const m = await memoryOf(d.pid);
      daemonReport.idle = { pods: podCache ? 110 : 0, ...m, podCache };
      daemonReport.health = await load(() => [d.healthUrl, {}], undefined, opts.loadSeconds, 8);
      const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
      try {
        const body = JSON.stringify(sampleReport());
        daemonReport.reports = await load(
          () => [
            "http://chainsaw/v1/reports",
            { method: "POST", headers: { "content-type": "application/json" }, body },
          ],
          client,
          opts.loadSeconds,
          8,
        );
      } finally {
        client.close();
      }
      daemonReport.afterReports = await memoryOf(d.pid);
    } finally {
      await d.stop();
    }
  }
  return daemonReport;
}

function sampleReport(): Record<string, unknown> {
  return {
    v: 1,
    time: new Date().toISOString(),
    verb: "ADD",
    node: NODE_NAME,
    pod: POD,
    containerId: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    netns: "/var/run/netns/cni-00000000-0000-0000-0000-000000000000",
    ifname: "eth0",
    network: "bench",
    source: "daemon",
    annotation: ONE_COMMAND,
    podInterfaces: ["eth0"],
    detected: ["ip route add 192.0.2.0/24 dev eth0"],
    commands: [{
      command: "ip route add 192.0.2.0/24 dev CURRENT_INTERFACE",
      argv: ["route", "add", "192.0.2.0/24", "dev", "eth0"],
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: 2.1,
      stdout: "",
      stderr: "",
      truncated: false,
    }],
    verdict: "applied",
    durationMs: 4.2,
  };
}

/**
 * The report's daemon table.
 *
 * @param f the findings
 */
export function daemonSection(f: Findings): string[] {
  const lines: string[] = [];
  const d = f.daemon;
  lines.push("");
  lines.push("## Daemon");
  lines.push("");
  if (d.note) {
    lines.push(`Daemon: ${d.note}.`);
    lines.push("");
  }
  lines.push("| measure | value |");
  lines.push("|---|---|");
  if (d.idle) {
    lines.push(
      `| idle RSS, ${
        d.idle.podCache ? "110 pods cached" : "no pod cache (n/a: daemon cache not available)"
      } | ` +
        `${(d.idle.rssKb / 1024).toFixed(1)} MiB (peak ${(d.idle.hwmKb / 1024).toFixed(1)} MiB) |`,
    );
  }
  const tp = (t: Throughput) =>
    `${Math.round(t.perSecond)}/s (${t.ok} ok, ${t.failed} failed in ${
      t.seconds.toFixed(1)
    } s, ${t.concurrency} ` +
    "concurrent keep-alive clients in the bench process)";
  if (d.health) lines.push(`| \`GET /healthz\` (TCP health address) | ${tp(d.health)} |`);
  if (d.reports) {
    lines.push(`| report ingestion, \`POST /v1/reports\` on the unix socket | ${tp(d.reports)} |`);
  }
  if (d.afterReports) {
    lines.push(
      `| RSS after the ingestion run | ${(d.afterReports.rssKb / 1024).toFixed(1)} MiB (peak ` +
        `${(d.afterReports.hwmKb / 1024).toFixed(1)} MiB) |`,
    );
  }
  lines.push("");
  return lines;
}
