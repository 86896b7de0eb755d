/**
 * The operators' kit without a running daemon: the alerting rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`, every alert firing and staying silent), the PrometheusRule holds exactly the same group,
 * every alert has its annotations and a runbook that exists, the monitors reach the DaemonSet's port with the job
 * name the rules expect, and the dashboard is one row per concern with a query in every panel.
 * (Whether the metric names exist is checked against the real daemon in tests/monitoring_prometheus_test.ts.)
 */
import { parse } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { markdownAnchors } from "./support/markdown_links.ts";
import {
  alertGroups,
  alertRules,
  dashboard,
  MONITORING_DIR,
  MONITORING_DOC,
  monitoringYaml,
  type Panel,
  promtool,
  TROUBLESHOOTING_DOC,
} from "./support/monitoring.ts";

const RUNBOOK_BASE = "https://github.com/chainsaw-cni/chainsaw/blob/main/docs/";

Deno.test("monitoring: promtool check rules accepts alerts.yaml", async () => {
  const r = await promtool(["check", "rules", "alerts.yaml"]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  const n = (await alertRules()).length;
  assert(r.stdout.includes(`SUCCESS: ${n} rules found`), r.stdout);
});

Deno.test("monitoring: promtool test rules passes alerts_test.yaml", async () => {
  const r = await promtool(["test", "rules", "alerts_test.yaml"]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assert(r.stdout.includes("SUCCESS"), r.stdout);
});

Deno.test("monitoring: every alert has a unit test where it fires and one where it stays silent", async () => {
  const [doc] = await monitoringYaml("alerts_test.yaml");
  const tests = doc as {
    rule_files: string[];
    tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
  };
  assertEquals(tests.rule_files, ["alerts.yaml"]);
  const fires = new Set<string>();
  const silent = new Set<string>();
  for (const t of tests.tests) {
    for (const c of t.alert_rule_test ?? []) (c.exp_alerts?.length ? fires : silent).add(c.alertname);
  }
  const names = (await alertRules()).map((r) => r.alert);
  assertEquals(names.filter((n) => !fires.has(n)), [], "alerts never tested firing");
  assertEquals(names.filter((n) => !silent.has(n)), [], "alerts never tested silent");
  assertEquals(
    [...fires, ...silent].filter((n) => !names.includes(n)),
    [],
    "tests of alerts that do not exist",
  );
});

Deno.test("monitoring: prometheusrule.yaml holds exactly alerts.yaml's groups", async () => {
  const [rule] = await monitoringYaml("prometheusrule.yaml");
  const r = rule as { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: unknown };
  assertEquals([r.apiVersion, r.kind], ["monitoring.coreos.com/v1", "PrometheusRule"]);
  assertEquals(r.metadata.namespace, "kube-system");
  assertEquals(
    r.spec,
    { groups: await alertGroups() },
    "prometheusrule.yaml differs from alerts.yaml: copy alerts.yaml's `groups:` under `spec:`",
  );
});

Deno.test("monitoring: every alert has a severity, a summary, a description and a runbook that exists", async () => {
  const docs: Record<string, string> = { "monitoring.md": await Deno.readTextFile(MONITORING_DOC) };
  for (const path of [TROUBLESHOOTING_DOC]) {
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text !== undefined) docs[path.replace(/^.*\//, "")] = text;
  }
  const rules = await alertRules();
  assert(rules.length >= 8, `only ${rules.length} alerts`);
  for (const r of rules) {
    assert(/^Chainsaw[A-Z][A-Za-z]+$/.test(r.alert), r.alert);
    assert(["warning", "critical"].includes(r.labels?.severity ?? ""), `${r.alert}: severity`);
    const a = r.annotations ?? {};
    assert((a.summary ?? "").length > 10, `${r.alert}: summary`);
    assert((a.description ?? "").length > 40, `${r.alert}: description`);
    const url = a.runbook_url ?? "";
    assert(url.startsWith(RUNBOOK_BASE), `${r.alert}: runbook_url ${url}`);
    const [file, anchor] = url.slice(RUNBOOK_BASE.length).split("#");
    assert(docs[file] !== undefined, `${r.alert}: runbook in docs/${file}, which does not exist`);
    assertEquals(anchor, r.alert.toLowerCase(), `${r.alert}: the runbook's heading is the alert's name`);
    assert(markdownAnchors(docs[file]).has(anchor), `${r.alert}: docs/${file} has no heading #${anchor}`);
    assert(docs["monitoring.md"].includes(r.alert), `${r.alert} is not in docs/monitoring.md`);
    assert(/job="chainsaw"/.test(r.expr), `${r.alert}: the expression selects job="chainsaw"`);
  }
});

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Array<{ name: string; ports?: Array<{ name: string; containerPort: number }> }> };
}

async function daemonSetPodTemplate(): Promise<PodTemplate> {
  const text = await Deno.readTextFile(`${MONITORING_DIR}/../daemonset.yaml`);
  const ds = text.split(/^---$/m).map((d) => parse(d)).find((d) => d?.kind === "DaemonSet");
  return ds.spec.template;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

Deno.test("monitoring: the PodMonitor and the ServiceMonitor reach the DaemonSet's health port as job chainsaw", async () => {
  const pod = await daemonSetPodTemplate();
  const health = pod.spec.containers[0].ports?.find((p) => p.name === "health");
  assertEquals(health?.containerPort, 9651, "the DaemonSet names its health port `health`");
  const node = { sourceLabels: ["__meta_kubernetes_pod_node_name"], targetLabel: "node" };

  // deno-lint-ignore no-explicit-any
  const [pm] = await monitoringYaml("podmonitor.yaml") as any[];
  assertEquals([pm.kind, pm.metadata.namespace], ["PodMonitor", "kube-system"]);
  assert(
    matches(pm.spec.selector.matchLabels, pod.metadata.labels),
    "the PodMonitor selects the daemon's pods",
  );
  assertEquals(pod.metadata.labels[pm.spec.jobLabel], "chainsaw", "the job label is chainsaw");
  assertEquals(pm.spec.podMetricsEndpoints.length, 1);
  const pe = pm.spec.podMetricsEndpoints[0];
  assertEquals([pe.port, pe.path, pe.scheme], ["health", "/metrics", "http"]);
  assertEquals(pe.relabelings, [node]);

  // deno-lint-ignore no-explicit-any
  const docs = await monitoringYaml("servicemonitor.yaml") as any[];
  const svc = docs.find((d) => d.kind === "Service");
  const sm = docs.find((d) => d.kind === "ServiceMonitor");
  assertEquals([svc.metadata.namespace, sm.metadata.namespace], ["kube-system", "kube-system"]);
  assert(matches(svc.spec.selector, pod.metadata.labels), "the Service selects the daemon's pods");
  assertEquals(svc.spec.clusterIP, "None");
  assertEquals(svc.spec.ports, [{ name: "health", port: 9651, targetPort: "health", protocol: "TCP" }]);
  assert(
    matches(sm.spec.selector.matchLabels, svc.metadata.labels),
    "the ServiceMonitor selects the Service",
  );
  assert(
    !matches(sm.spec.selector.matchLabels, pod.metadata.labels),
    "the ServiceMonitor selects the metrics Service only",
  );
  assertEquals(svc.metadata.labels[sm.spec.jobLabel], "chainsaw", "the job label is chainsaw");
  assertEquals(sm.spec.endpoints.length, 1);
  const se = sm.spec.endpoints[0];
  assertEquals([se.port, se.path, se.scheme], ["health", "/metrics", "http"]);
  assertEquals(se.relabelings, [node]);
});

/** The row titles of the dashboard, in order, with the panels below each. */
async function dashboardRows(): Promise<Array<{ title: string; panels: string[] }>> {
  const rows: Array<{ title: string; panels: string[] }> = [];
  const d = await dashboard();
  const panels = [...d.panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  for (const p of panels) {
    if (p.type === "row") rows.push({ title: p.title, panels: [] });
    else {
      assert(rows.length > 0, `panel ${p.title} above the first row`);
      rows.at(-1)!.panels.push(p.title);
    }
  }
  return rows;
}

Deno.test("monitoring: the dashboard has one row per concern, and every panel a query and a description", async () => {
  const d = await dashboard();
  const ids = d.panels.map((p) => (p as unknown as { id: number }).id);
  assertEquals(new Set(ids).size, ids.length, "panel ids are unique");
  for (const p of d.panels) {
    const g = p.gridPos;
    assert(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: within the 24 columns`);
    if (p.type === "row") continue;
    assert(
      (p.targets ?? []).length > 0 && p.targets!.every((t) => t.expr.trim() !== ""),
      `${p.title}: query`,
    );
    assert((p.description ?? "").length > 20, `${p.title}: description`);
  }
  // No two panels overlap.
  const cells = new Set<string>();
  for (const p of d.panels) {
    for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        assert(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  }
  const rows = await dashboardRows();
  const concerns = [/^ADD/, /re-apply and rollback/i, /drift/i, /pod watch/i, /connections and memory/i];
  for (const c of concerns) {
    const row = rows.find((r) => c.test(r.title));
    assert(row, `no row for ${c} in ${rows.map((r) => r.title).join(" | ")}`);
    assert(row.panels.length > 0, `row ${row.title} is empty`);
  }
  const doc = await Deno.readTextFile(MONITORING_DOC);
  for (const r of rows) {
    assert(doc.includes(r.title), `docs/monitoring.md does not describe the row ${r.title}`);
  }
});

Deno.test("monitoring: the plain Prometheus configuration in docs/monitoring.md passes promtool check config", async () => {
  const doc = await Deno.readTextFile(MONITORING_DOC);
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) =>
    b.includes("scrape_configs")
  );
  assert(block, "no scrape configuration in docs/monitoring.md");
  const example = parse(block) as {
    rule_files: string[];
    scrape_configs: Array<Record<string, unknown> & { job_name: string }>;
  };
  assertEquals(example.scrape_configs.map((s) => s.job_name), ["chainsaw"]);
  const [job] = example.scrape_configs;
  assertEquals(job.kubernetes_sd_configs, [{ role: "pod", namespaces: { names: ["kube-system"] } }]);
  // Debian's prometheus is built without Kubernetes discovery, so promtool checks the rest with a static target
  // in its place (the relabelling, the job, the rules file: here the shipped one at the example's path).
  const { kubernetes_sd_configs: _, ...rest } = job;
  const config = {
    rule_files: example.rule_files.map((f) =>
      f.endsWith("chainsaw-alerts.yaml") ? `${MONITORING_DIR}/alerts.yaml` : f
    ),
    scrape_configs: [{ ...rest, static_configs: [{ targets: ["127.0.0.1:9651"] }] }],
  };
  assertEquals(config.rule_files, [`${MONITORING_DIR}/alerts.yaml`]);
  const dir = await Deno.makeTempDir({ prefix: "chainsaw-gmon-config-" });
  try {
    await Deno.writeTextFile(`${dir}/prometheus.yml`, JSON.stringify(config));
    const r = await promtool(["check", "config", `${dir}/prometheus.yml`]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `deno check` of the dashboard and of broken copies, each typed as Grafana's schema types it
 * (tests/support/grafana_dashboard_types.ts); returns the diagnostics per copy (empty: it passed).
 */
async function checkDashboards(copies: Record<string, unknown>): Promise<Record<string, string[]>> {
  const types = new URL("./support/grafana_dashboard_types.ts", import.meta.url).href;
  const names = Object.keys(copies);
  let text = `import type { ChainsawDashboard } from "${types}";\n`;
  /** The first line of each copy (1-based). */
  const starts: number[] = [];
  for (const [i, name] of names.entries()) {
    starts.push(text.split("\n").length);
    text += `export const d${i}: ChainsawDashboard = ${JSON.stringify(copies[name], null, 1)};\n`;
  }
  const dir = await Deno.makeTempDir({ prefix: "chainsaw-gmon-dashboard-" });
  try {
    const file = `${dir}/dashboards.ts`;
    await Deno.writeTextFile(file, text);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "check",
        "--quiet",
        "--frozen",
        "--config",
        new URL("../deno.json", import.meta.url).pathname,
        file,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const found: Record<string, string[]> = Object.fromEntries(names.map((n) => [n, []]));
    if (out.success) return found;
    const fileLines = text.split("\n");
    const blocks = report.split(/\n(?=TS\d+ \[ERROR\]: )/).filter((b) =>
      /^TS\d+ \[ERROR\]: /.test(b.trimStart())
    );
    assert(blocks.length > 0, `deno check failed without a diagnostic:\n${report}`);
    for (const block of blocks) {
      const at = [...block.matchAll(/ at file:\/\/(\S+?):(\d+):\d+/g)].find((m) => m[1] === file);
      assert(at, `a diagnostic outside the checked file:\n${block}`);
      const line = Number(at[2]);
      const owner = names[starts.findLastIndex((s) => s <= line)];
      found[owner].push(`${block.trimStart().split("\n")[0]} (line: ${fileLines[line - 1].trim()})`);
    }
    return found;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("monitoring: dashboard.json is a Grafana dashboard by Grafana's own schema (@grafana/schema), strictly", async () => {
  const d = await dashboard();
  const broken = (edit: (copy: Record<string, unknown>) => void) => {
    const copy = structuredClone(d) as unknown as Record<string, unknown>;
    edit(copy);
    return copy;
  };
  // deno-lint-ignore no-explicit-any
  const panel = (copy: any, type: string) => copy.panels.find((p: Panel) => p.type === type);
  const found = await checkDashboards({
    "dashboard.json": d,
    "an unknown top-level field": broken((c) => c.graphTooltp = 1),
    "a legend placement that does not exist": broken((c) =>
      panel(c, "timeseries").options.legend.placement = "botom"
    ),
    "a stat colour mode that does not exist": broken((c) => panel(c, "stat").options.colorMode = "valu"),
    "a draw style that does not exist": broken((c) =>
      panel(c, "timeseries").fieldConfig.defaults.custom.drawStyle = "lin"
    ),
    "a query field misspelt": broken((c) => {
      const t = panel(c, "timeseries").targets[0];
      t.legendFormt = t.legendFormat;
      delete t.legendFormat;
    }),
    "a string grid height": broken((c) => panel(c, "stat").gridPos.h = "4"),
  });
  assertEquals(found["dashboard.json"], [], "dashboard.json does not type as a Grafana dashboard");
  for (const [name, errors] of Object.entries(found)) {
    if (name !== "dashboard.json") assert(errors.length > 0, `the checker let ${name} through`);
  }
});
