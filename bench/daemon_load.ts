/**
 * `/healthz` throughput and report ingestion of one chainsaw executable, without the CNI chain (what
 * `deno task bench` measures at its end, on its own): `deno run -A bench/daemon_load.ts [EXECUTABLE] [SECONDS]`.
 * @module
 */
import { sampleReport } from "../tests/daemon_fixtures.ts";
import { daemonFeatures, load, memoryOf, startDaemon } from "./daemon_bench.ts";

const bundle = Deno.args[0] ?? new URL("../tests/support/bin/chainsaw", import.meta.url).pathname;
const seconds = Number(Deno.args[1] ?? 3);
const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
const env = { PATH: `${denoDir}:/usr/sbin:/usr/bin:/sbin:/bin` };
const dir = `/run/chainsaw/bench-load-${crypto.randomUUID().slice(0, 8)}`;
await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
try {
  const features = await daemonFeatures(bundle, env);
  const d = await startDaemon({ bundle, env, dir, features, nodeName: "bench-node" }, "load");
  try {
    const health = await load(() => [d.healthUrl, {}], undefined, seconds, 8);
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
    const body = JSON.stringify(sampleReport());
    const reports = await load(
      () => ["http://chainsaw/v1/reports", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }],
      client,
      seconds,
      8,
    );
    client.close();
    const m = await memoryOf(d.pid);
    console.log(
      `healthz ${health.perSecond.toFixed(0)}/s (${health.failed} failed) · reports ${
        reports.perSecond.toFixed(0)
      }/s (${reports.failed} failed) · RSS ${(m.rssKb / 1024).toFixed(1)} MiB, peak ${
        (m.hwmKb / 1024).toFixed(1)
      } MiB`,
    );
  } finally {
    await d.stop();
  }
} finally {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
