/**
 * A tiny Prometheus registry: counters, gauges and histograms with fixed label names, rendered in the text
 * exposition format (version 0.0.4). Enough for a node agent; no client library needed.
 *
 * ```ts
 * const reg = new MetricsRegistry();
 * const hits = reg.counter("chainsaw_things_total", "Things.", ["kind"]);
 * hits.inc({ kind: "a" });
 * reg.render(); // "# HELP chainsaw_things_total Things.\n# TYPE ...\nchainsaw_things_total{kind=\"a\"} 1\n"
 * ```
 * @module
 */

/** Label values by label name. */
export type Labels = Readonly<Record<string, string>>;

/** The exposition's content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A monotonically increasing value per label set. */
export interface Counter {
  /** Adds `by` (default 1, must be ≥ 0). */
  inc(labels?: Labels, by?: number): void;
  /** The current value (0 when never incremented). */
  get(labels?: Labels): number;
}

/** A value that goes up and down per label set. */
export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

/** Observations counted into cumulative buckets per label set. */
export interface Histogram {
  observe(value: number, labels?: Labels): void;
  /** Count and sum of the observations (zeros when none). */
  get(labels?: Labels): { count: number; sum: number };
}

/** Default histogram buckets, in seconds: from 5 ms (a pass-through) to 10 s (a slow API server). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Formats a sample value (`+Inf`, `-Inf`, `NaN` for the special values). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** `{a="1",b="2"}` for the given names and values, or "" without labels. */
function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  render(): string[];
}

/** Values per label set, keyed by the label values joined with NUL. */
class Series<T> {
  readonly #names: readonly string[];
  readonly #make: () => T;
  readonly #map = new Map<string, { values: string[]; data: T }>();

  constructor(names: readonly string[], make: () => T) {
    this.#names = names;
    this.#make = make;
  }

  #values(labels: Labels = {}): string[] {
    const keys = Object.keys(labels);
    if (keys.length !== this.#names.length || keys.some((k) => !this.#names.includes(k))) {
      throw new Error(`labels {${keys.join(",")}} do not match {${this.#names.join(",")}}`);
    }
    return this.#names.map((n) => labels[n]);
  }

  at(labels?: Labels): T {
    const values = this.#values(labels);
    const key = values.join("\u0000");
    let entry = this.#map.get(key);
    if (!entry) {
      entry = { values, data: this.#make() };
      this.#map.set(key, entry);
    }
    return entry.data;
  }

  peek(labels?: Labels): T | undefined {
    return this.#map.get(this.#values(labels).join("\u0000"))?.data;
  }

  entries(): { values: string[]; data: T }[] {
    return [...this.#map.values()];
  }
}

/** Holds metric families and renders them in registration order. */
export class MetricsRegistry {
  readonly #families: Family[] = [];
  readonly #collectors: Array<() => void> = [];

  /**
   * Adds a function run before every {@link render}, to bring values kept elsewhere (a feature's plain counters)
   * into the registry's families. Its exceptions are ignored: a scrape never fails for one collector.
   */
  addCollector(collect: () => void): void {
    this.#collectors.push(collect);
  }

  #add(family: Family, labelNames: readonly string[]): void {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name ${family.name}`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") throw new Error(`invalid label name ${l}`);
    }
    if (this.#families.some((f) => f.name === family.name)) {
      throw new Error(`metric ${family.name} already exists`);
    }
    this.#families.push(family);
  }

  /**
   * Registers a counter; names conventionally end in `_total`. Without labels its one series is served (at 0) from
   * the start; a labelled series appears at its first `inc` (`inc(labels, 0)` serves it at 0), so the first
   * increase after a start is one Prometheus sees.
   */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const series = new Series(labelNames, () => ({ v: 0 }));
    if (labelNames.length === 0) series.at();
    this.#add({
      name,
      help,
      type: "counter",
      render: () =>
        series.entries().map((e) => `${name}${labelText(labelNames, e.values)} ${formatValue(e.data.v)}`),
    }, labelNames);
    return {
      inc(labels, by = 1) {
        if (!(by >= 0)) throw new Error(`counter ${name} cannot decrease`);
        series.at(labels).v += by;
      },
      get: (labels) => series.peek(labels)?.v ?? 0,
    };
  }

  /** Registers a gauge (without labels, served at 0 from the start, like a counter). */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const series = new Series(labelNames, () => ({ v: 0 }));
    if (labelNames.length === 0) series.at();
    this.#add({
      name,
      help,
      type: "gauge",
      render: () =>
        series.entries().map((e) => `${name}${labelText(labelNames, e.values)} ${formatValue(e.data.v)}`),
    }, labelNames);
    return {
      set: (value, labels) => void (series.at(labels).v = value),
      inc: (labels, by = 1) => void (series.at(labels).v += by),
      dec: (labels, by = 1) => void (series.at(labels).v -= by),
      get: (labels) => series.peek(labels)?.v ?? 0,
    };
  }

  /** Registers a histogram with upper bounds `buckets` (ascending; `+Inf` is implicit); unlabelled: served at once. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): Histogram {
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new Error(`histogram ${name}: buckets must be finite and ascending`);
    }
    const series = new Series(
      labelNames,
      () => ({ counts: new Array<number>(buckets.length).fill(0), sum: 0, n: 0 }),
    );
    if (labelNames.length === 0) series.at();
    this.#add({
      name,
      help,
      type: "histogram",
      render: () =>
        series.entries().flatMap((e) => {
          const lines = buckets.map((b, i) =>
            `${name}_bucket${labelText(labelNames, e.values, `le="${formatValue(b)}"`)} ${e.data.counts[i]}`
          );
          lines.push(`${name}_bucket${labelText(labelNames, e.values, 'le="+Inf"')} ${e.data.n}`);
          lines.push(`${name}_sum${labelText(labelNames, e.values)} ${formatValue(e.data.sum)}`);
          lines.push(`${name}_count${labelText(labelNames, e.values)} ${e.data.n}`);
          return lines;
        }),
    }, labelNames);
    return {
      observe(value, labels) {
        const s = series.at(labels);
        for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) s.counts[i]++;
        s.sum += value;
        s.n++;
      },
      get: (labels) => {
        const s = series.peek(labels);
        return { count: s?.n ?? 0, sum: s?.sum ?? 0 };
      },
    };
  }

  /** The whole exposition. */
  render(): string {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // stale values for this scrape rather than no metrics at all
      }
    }
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return out.length ? out.join("\n") + "\n" : "";
  }
}

/**
 * Brings a counter up to a count kept elsewhere (a feature's plain-number counters, copied in by a collector
 * before every scrape); counters only grow.
 *
 * @param counter the registry's counter
 * @param value the source's count
 * @param labels the series
 */
export function followCounter(counter: Counter, value: number, labels?: Labels): void {
  const delta = value - counter.get(labels);
  if (delta > 0) counter.inc(labels, delta);
}

/** Reads one sample's value from an exposition (for tests and the CLI): `sample(text, "x_total", {a: "1"})`. */
export function sampleValue(text: string, name: string, labels: Labels = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).sort();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [] : [];
    if (have.length === want.length && [...have].sort().every((h, i) => h === want[i])) {
      return m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    }
  }
  return undefined;
}
