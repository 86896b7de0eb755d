/**
 * The operators' kit under test (deployments/monitoring/, docs/monitoring.md): reading its files, `promtool`, and
 * pulling metric names out of PromQL and an exposition, for tests/monitoring_*_test.ts.
 * @module
 */
import { parse } from "yaml";

const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** deployments/monitoring, absolute. */
export const MONITORING_DIR = `${REPO_ROOT}/deployments/monitoring`;
/** The docs the kit's names and runbooks live in. */
export const MONITORING_DOC = `${REPO_ROOT}/docs/monitoring.md`;
export const TROUBLESHOOTING_DOC = `${REPO_ROOT}/docs/troubleshooting.md`;
/** Debian's prometheus package (the set-up step installs it). */
export const PROMETHEUS = "/usr/bin/prometheus";
export const PROMTOOL = "/usr/bin/promtool";

/** One alerting rule of alerts.yaml. */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rule group as Prometheus reads it. */
export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** Reads and parses a YAML file of deployments/monitoring (all documents of a multi-document file). */
export async function monitoringYaml(file: string): Promise<unknown[]> {
  const text = await Deno.readTextFile(`${MONITORING_DIR}/${file}`);
  return text.split(/^---$/m).map((doc) => parse(doc)).filter((d) => d !== null);
}

/** alerts.yaml's groups. */
export async function alertGroups(): Promise<RuleGroup[]> {
  const [doc] = await monitoringYaml("alerts.yaml");
  return (doc as { groups: RuleGroup[] }).groups;
}

/** Every alerting rule of alerts.yaml. */
export async function alertRules(): Promise<AlertRule[]> {
  return (await alertGroups()).flatMap((g) => g.rules);
}

/** A Grafana panel, as far as the tests look. */
export interface Panel {
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; legendFormat?: string }>;
}

/** dashboard.json, parsed. */
export async function dashboard(): Promise<
  { panels: Panel[]; templating: { list: Array<{ name: string; definition?: string }> } }
> {
  return JSON.parse(await Deno.readTextFile(`${MONITORING_DIR}/dashboard.json`));
}

/** The dashboard's PromQL: every target's expr and every query variable's definition. */
export async function dashboardQueries(): Promise<string[]> {
  const d = await dashboard();
  return [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...d.templating.list.flatMap((v) => v.definition ? [v.definition] : []),
  ];
}

/** A dashboard query made runnable by Prometheus itself: Grafana's variables replaced by fixed values. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*")
    .replace(/^label_values\((.*), *[a-z_]+\)$/, "$1");
}

/** Prefixes of the daemon's metric names (its own, and the process metrics every exporter spells alike). */
const METRIC_TOKEN = /\b(?:chainsaw|process)_[a-z0-9_]+\b/g;

/**
 * The daemon's metric names a text mentions: tokens starting `chainsaw_` or `process_` (both the PromQL of alerts
 * and dashboard and the prose of the docs name them so; label names never start so), except prefixes such as
 * `chainsaw_pod_watch_*`.
 */
export function metricNamesIn(text: string): Set<string> {
  return new Set((text.match(METRIC_TOKEN) ?? []).filter((t) => !t.endsWith("_")));
}

/**
 * The names an exposition serves: its `# TYPE` families, and for a histogram also its `_bucket`, `_sum` and
 * `_count` series.
 */
export function exposedNames(exposition: string): { families: Map<string, string>; names: Set<string> } {
  const families = new Map<string, string>();
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    families.set(m[1], m[2]);
    names.add(m[1]);
    if (m[2] === "histogram") { for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1] + s); }
  }
  return { families, names };
}

/** Output of one promtool run. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs promtool with `args` (in `cwd`), feeding `stdin` when given. */
export async function promtool(
  args: string[],
  opts: { stdin?: string; cwd?: string } = {},
): Promise<ToolResult> {
  const child = new Deno.Command(PROMTOOL, {
    args,
    cwd: opts.cwd ?? MONITORING_DIR,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
