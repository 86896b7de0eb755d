/**
 * The daemon's metrics as a real Prometheus reads them: Debian's prometheus (a private config, data dir and
 * loopback port, a 1 s scrape interval, the shipped alerts.yaml loaded) scrapes the real daemon (the bundle under
 * its permission flags, on the fake API server) while real chains (bridge -> chainsaw, libcni) run ADDs, a live
 * re-apply, a drift and a rollback in real network namespaces; every assertion is a query through Prometheus's HTTP API.
 * And the exposition itself: `promtool check metrics` finds no problem, and every metric that alerts, dashboard and
 * docs/monitoring.md name is served (and every family served is documented).
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ANNOTATION, type Fixture, fixture, POD_ARGS } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, type ExecResult, IP, requireRoot } from "./support/netns.ts";
import { type Daemon, scratchDir, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import {
  alertRules,
  dashboardQueries,
  exposedNames,
  metricNamesIn,
  MONITORING_DIR,
  MONITORING_DOC,
  PROMETHEUS,
  promtool,
  withoutGrafanaVariables,
} from "./support/monitoring.ts";

const NODE = "node-gmon";
/** Two commands: a route and a read. */
const SEED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';
const OTHER = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE"]';
const EDITED = '["ip route add 198.51.100.128/25 dev CURRENT_INTERFACE", "ip route"]';
/** The third command fails; under the default onError (rollback) the first two are undone. */
const FAILING = JSON.stringify([
  "ip link set dev CURRENT_INTERFACE mtu 1400",
  "ip route add 192.0.2.0/25 dev CURRENT_INTERFACE",
  "ip route del 198.51.100.99/32 dev CURRENT_INTERFACE",
]);

function pod(name: string, annotation: string): Pod {
  return makePod({
    namespace: "default",
    name,
    uid: `uid-${name}`,
    nodeName: NODE,
    annotations: { [ANNOTATION]: annotation },
  });
}

/** Throws unless the command succeeded. */
async function must(r: Promise<ExecResult>): Promise<void> {
  const { code, stdout, stderr } = await r;
  if (code !== 0) throw new Error(`exit ${code}: ${stdout}${stderr}`);
}

/** A running Prometheus. */
interface Prometheus {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Its log so far (for failure messages). */
  log(): string;
}

/** A free loopback port (the kernel's pick; the caller retries if another process takes it first). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts Debian's prometheus scraping `target` (host:port) as job "chainsaw" every second, with alerts.yaml
 * loaded, in a private data dir on a free loopback port; `cleanup` kills it by PID and removes its dir.
 */
async function startPrometheus(cleanup: Cleanup, target: string): Promise<Prometheus> {
  const dir = await Deno.makeTempDir({ prefix: "chainsaw-gmon-prometheus-" });
  cleanup.defer(() => Deno.remove(dir, { recursive: true }), "prometheus dir");
  const config = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      "rule_files:",
      `  - ${MONITORING_DIR}/alerts.yaml`,
      "scrape_configs:",
      "  - job_name: chainsaw",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      `        labels: {node: ${NODE}}`,
      "",
    ].join("\n"),
  );
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const child = new Deno.Command(PROMETHEUS, {
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=1h",
        "--log.level=info",
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reading = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        log = (log + chunk).slice(-20_000);
      }
    })().catch(() => {});
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    cleanup.defer(async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 10_000);
        await status;
        clearTimeout(timer);
      }
      await reading;
    }, `prometheus (pid ${child.pid})`);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor("prometheus to be ready", async () => {
        if (exited) throw new Error(`prometheus exited:\n${log}`);
        const r = await fetch(`${url}/-/ready`).catch(() => undefined);
        await r?.body?.cancel();
        return r?.status === 200;
      }, 60_000);
      return { url, log: () => log };
    } catch (e) {
      // The port was taken between freePort and the bind: try another one.
      if (exited && /address already in use/.test(log) && attempt < 5) continue;
      throw e;
    }
  }
}

/** An instant query's vector: labels and value of each sample. */
type Vector = Array<{ metric: Record<string, string>; value: number }>;

async function query(p: Prometheus, expr: string): Promise<Vector> {
  const res = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await res.json();
  if (body.status !== "success") throw new Error(`query ${expr}: ${body.errorType}: ${body.error}`);
  if (body.data.resultType !== "vector") throw new Error(`query ${expr}: a ${body.data.resultType}`);
  return body.data.result.map((s: { metric: Record<string, string>; value: [number, string] }) => ({
    metric: s.metric,
    value: Number(s.value[1]),
  }));
}

/** The value of a query returning one sample (undefined while it returns none). */
async function scalar(p: Prometheus, expr: string): Promise<number | undefined> {
  const v = await query(p, expr);
  if (v.length > 1) throw new Error(`query ${expr}: ${v.length} samples`);
  return v[0]?.value;
}

/** Polls until `expr` (one sample) satisfies `ok`; the error names the last value seen. */
async function until(
  p: Prometheus,
  expr: string,
  ok: (v: number | undefined) => boolean,
  what: string,
): Promise<number | undefined> {
  let last: number | undefined;
  try {
    await waitFor(`${expr} ${what}`, async () => ok(last = await scalar(p, expr)), 30_000);
  } catch (e) {
    throw new Error(
      `${(e as Error).message} (last value: ${last})\nprometheus log:\n${p.log().slice(-3000)}`,
    );
  }
  return last;
}

const is = (want: number) => (v: number | undefined) => v === want;
const SEL = `job="chainsaw"`;

/** `name{job="chainsaw",labels}` */
function series(name: string, labels = ""): string {
  return `${name}{${SEL}${labels ? "," + labels : ""}}`;
}

Deno.test({
  name:
    "monitoring: a real Prometheus scrapes the daemon; ADDs, a re-apply, a drift and a rollback move the counters and gauges the docs describe",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const api: FakeApiServer = await startFakeApiServer({
      pods: [pod("p1", SEED), pod("p2", OTHER), pod("p3", FAILING)],
      bookmarkIntervalMs: 200,
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const { daemon, kubeconfig } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      args: ["--drift-check-seconds", "1"],
    });
    const target = new URL(daemon.healthUrl).host;
    const prom = await startPrometheus(cleanup, target);

    // The target is up, the daemon ready with a synced pod cache of its node's three pods.
    await until(prom, `up{${SEL},instance="${target}"}`, is(1), "== 1");
    await until(prom, series("chainsaw_ready"), is(1), "== 1");
    await until(prom, series("chainsaw_pod_cache_synced"), is(1), "== 1");
    await until(prom, series("chainsaw_pod_cache_pods"), is(3), "== 3");
    await until(prom, `count(${series("chainsaw_build_info")})`, is(1), "== 1");
    await until(prom, series("chainsaw_attachments"), is(0), "== 0");
    // The series the alerts watch exist at 0 before anything happened (else the first increase is invisible).
    await until(prom, series("chainsaw_rollbacks_total", 'result="failed"'), is(0), "== 0");
    await until(prom, series("chainsaw_rollbacks_total", 'result="restored"'), is(0), "== 0");
    await until(prom, series("chainsaw_invocations_total", 'verb="ADD",result="applied"'), is(0), "== 0");
    await until(
      prom,
      series("chainsaw_http_accept_paused_seconds_total", 'listener="socket"'),
      is(0),
      "== 0",
    );
    await until(prom, series("chainsaw_http_accept_errors_total", 'listener="socket"'), is(0), "== 0");
    await until(prom, series("chainsaw_pod_watch_errors_total"), is(0), "== 0");

    const chain = async (tag: string, name: string): Promise<Fixture> => {
      const f = await fixture(tag, { kubeconfig, daemonSocket: daemon.socket }, "1.0.0", {
        ...POD_ARGS,
        K8S_POD_NAME: name,
        K8S_POD_UID: `uid-${name}`,
      });
      cleanup.defer(() => f.cleanup.run(), `chain ${tag}`);
      return f;
    };
    const okCommands = `sum(${series("chainsaw_commands_total", 'result="ok"')})`;

    // Two ADDs, run by the daemon (the plugin asks it on the socket), pods found in the cache.
    const a = await chain("gmona", "p1");
    const addA = await a.chain("add");
    assertEquals(addA.code, 0, addA.stdout + addA.stderr);
    await until(prom, series("chainsaw_invocations_total", 'verb="ADD",result="applied"'), is(1), "== 1");
    await until(prom, okCommands, is(2), "== 2");
    await until(prom, series("chainsaw_invocation_duration_seconds_count", 'verb="ADD"'), is(1), "== 1");
    await until(prom, series("chainsaw_pod_lookups_total", 'result="hit"'), is(1), "== 1");
    await until(prom, series("chainsaw_pod_annotation_sources_total", 'source="daemon"'), is(1), "== 1");
    await until(prom, series("chainsaw_attachments"), is(1), "== 1");
    const b = await chain("gmonb", "p2");
    const addB = await b.chain("add");
    assertEquals(addB.code, 0, addB.stdout + addB.stderr);
    await until(prom, series("chainsaw_invocations_total", 'verb="ADD",result="applied"'), is(2), "== 2");
    await until(prom, okCommands, is(3), "== 3");
    await until(prom, series("chainsaw_attachments"), is(2), "== 2");
    await until(
      prom,
      `sum(${series("chainsaw_events_total", 'result="created"')})`,
      (v) => (v ?? 0) >= 2,
      ">= 2",
    );
    // The dashboard's ADD rate sees them.
    await until(
      prom,
      `sum(rate(${series("chainsaw_invocations_total", 'verb="ADD"')}[1m]))`,
      (v) => (v ?? 0) > 0,
      "> 0",
    );

    // A live re-apply: p1's annotation is edited.
    api.setPod(pod("p1", EDITED));
    await until(prom, series("chainsaw_invocations_total", 'verb="REAPPLY",result="applied"'), is(1), "== 1");
    await until(prom, series("chainsaw_invocation_duration_seconds_count", 'verb="REAPPLY"'), is(1), "== 1");
    await until(prom, okCommands, (v) => (v ?? 0) > 3, "> 3");
    assert((await a.ns.routes()).includes("198.51.100.128/25 dev eth0"), "the edit ran in p1's netns");

    // A drift: the re-applied route is deleted behind chainsaw's back. A check reports it; once the route is
    // back, a check clears it.
    await until(prom, series("chainsaw_drifted_attachments"), is(0), "== 0");
    await until(prom, series("chainsaw_drift_total", 'action="reported"'), is(0), "== 0");
    await must(a.ns.exec([IP, "route", "del", "198.51.100.128/25", "dev", "eth0"]));
    await until(prom, series("chainsaw_drift_total", 'action="reported"'), is(1), "== 1");
    await until(prom, series("chainsaw_drifted_attachments"), is(1), "== 1");
    await until(
      prom,
      `sum(${series("chainsaw_drift_checks_total", 'result="drifted"')})`,
      (v) => (v ?? 0) >= 1,
      ">= 1",
    );
    await must(a.ns.exec([IP, "route", "add", "198.51.100.128/25", "dev", "eth0"]));
    await until(prom, series("chainsaw_drifted_attachments"), is(0), "== 0");
    await until(prom, series("chainsaw_drift_total", 'action="reported"'), is(1), "still 1");

    // A rollback: p3's list fails at its third command; the first two are undone.
    const c = await chain("gmonc", "p3");
    const addC = await c.chain("add");
    assertEquals(addC.code, 1, addC.stdout + addC.stderr);
    await until(prom, series("chainsaw_invocations_total", 'verb="ADD",result="failed"'), is(1), "== 1");
    await until(prom, series("chainsaw_rollbacks_total", 'result="restored"'), is(1), "== 1");
    await until(prom, series("chainsaw_rollbacks_total", 'result="failed"'), is(0), "== 0");
    await until(prom, `sum(${series("chainsaw_commands_total", 'result="failed"')})`, is(1), "== 1");
    await until(prom, series("chainsaw_invocations_total", 'verb="ADD",result="applied"'), is(2), "still 2");

    // DELs take attachments away: the runtime's DEL after the failed ADD, and p2's. The gauge goes down to p1's.
    assertEquals((await c.chain("del")).code, 0);
    assertEquals((await b.chain("del")).code, 0);
    await until(prom, series("chainsaw_attachments"), is(1), "== 1");

    // The shipped rules are loaded and evaluate without error on the real series; none fires.
    await waitFor("every rule evaluated", async () => {
      const rules = (await (await fetch(`${prom.url}/api/v1/rules`)).json()).data.groups
        .flatMap((g: { rules: unknown[] }) => g.rules) as Array<
          { name: string; health: string; lastError?: string }
        >;
      const bad = rules.filter((r) => r.health === "err");
      if (bad.length) throw new Error(`rules failing: ${JSON.stringify(bad)}`);
      return rules.length === (await alertRules()).length && rules.every((r) => r.health === "ok");
    }, 30_000);
    // No alert fires; the drift made ChainsawDriftNotCleared pending, and its clearing ends that.
    let alerts: unknown[] = [];
    await waitFor("no alert pending or firing", async () => {
      alerts = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()).data.alerts;
      return alerts.length === 0;
    }).catch((e) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(alerts)}`);
    });

    // Every dashboard query and alert expression runs on the real Prometheus.
    for (const expr of [...await dashboardQueries(), ...(await alertRules()).map((r) => r.expr)]) {
      await query(prom, withoutGrafanaVariables(expr)).catch((e) => {
        throw new Error(`${expr}: ${(e as Error).message}`);
      });
    }
    await until(prom, `sum(${series("process_resident_memory_bytes")})`, (v) => (v ?? 0) > 1e6, "> 1 MB");

    // promtool finds nothing to complain about in the exposition with all these series.
    await checkExposition(daemon);

    // The daemon stops: the target is down.
    await daemon.stop();
    await until(prom, `up{${SEL},instance="${target}"}`, is(0), "== 0");
  },
});

/** `promtool check metrics` on the daemon's exposition: no problem reported; returns the exposition. */
async function checkExposition(daemon: Daemon): Promise<string> {
  const text = await (await fetch(`${daemon.healthUrl}/metrics`)).text();
  const r = await promtool(["check", "metrics"], { stdin: text });
  assertEquals(r.stdout + r.stderr, "", "promtool check metrics reports problems");
  assertEquals(r.code, 0);
  return text;
}

Deno.test({
  name:
    "monitoring: promtool accepts the exposition of a daemon with every feature on; alerts, dashboard and docs name only served metrics, and the docs name them all",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const api = await startFakeApiServer({ pods: [], bookmarkIntervalMs: 200 });
    cleanup.defer(() => api.close(), "fake apiserver");
    const policy = await scratchDir();
    cleanup.defer(policy.remove, "policy dirs");
    await Deno.mkdir(`${policy.path}/configmap`);
    await Deno.mkdir(`${policy.path}/node`);
    const { daemon } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      args: [
        "--pod-condition",
        "all",
        "--policy-configmap-dir",
        `${policy.path}/configmap`,
        "--policy-dir",
        `${policy.path}/node`,
      ],
    });
    const text = await checkExposition(daemon);
    const { families, names } = exposedNames(text);
    assert(families.size >= 30, `only ${families.size} families`);

    const missing = (where: string, mentioned: Set<string>) =>
      [...mentioned].filter((n) => !names.has(n)).map((n) => `${where}: ${n}`);
    const doc = await Deno.readTextFile(MONITORING_DOC);
    const alerts = (await alertRules()).map((r) => r.expr).join("\n");
    const dash = (await dashboardQueries()).join("\n");
    assertEquals(
      [
        ...missing("alerts.yaml", metricNamesIn(alerts)),
        ...missing("dashboard.json", metricNamesIn(dash)),
        ...missing("docs/monitoring.md", metricNamesIn(doc)),
      ],
      [],
      "metrics named but not served",
    );
    // Every family is in the metric reference (a row of its table starting with the name).
    const undocumented = [...families.keys()].filter((f) => !new RegExp(`^\\| \`${f}\` +\\|`, "m").test(doc));
    assertEquals(undocumented, [], "families missing from docs/monitoring.md's metric reference");
    // And each is documented with its type.
    for (const [f, type] of families) {
      assert(
        new RegExp(`^\\| \`${f}\` +\\| ${type} +\\|`, "m").test(doc),
        `docs/monitoring.md: ${f} is a ${type}`,
      );
    }
  },
});
