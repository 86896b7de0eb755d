import { assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { escapeLabelValue, formatValue, MetricsRegistry, sampleValue } from "./metrics_registry.ts";

Deno.test("counters render HELP, TYPE and one line per label set", () => {
  const reg = new MetricsRegistry();
  const c = reg.counter("x_total", "Things\nwith a newline \\ and backslash.", ["kind"]);
  c.inc({ kind: "a" });
  c.inc({ kind: "a" }, 2);
  c.inc({ kind: 'b"\n\\' });
  assertEquals(
    reg.render(),
    [
      "# HELP x_total Things\\nwith a newline \\\\ and backslash.",
      "# TYPE x_total counter",
      'x_total{kind="a"} 3',
      'x_total{kind="b\\"\\n\\\\"} 1',
      "",
    ].join("\n"),
  );
  assertEquals(c.get({ kind: "a" }), 3);
  assertEquals(c.get({ kind: "zzz" }), 0);
  assertEquals(sampleValue(reg.render(), "x_total", { kind: 'b"\n\\' }), 1);
});

Deno.test("counters refuse to go down and labels must match the declared names", () => {
  const reg = new MetricsRegistry();
  const c = reg.counter("y_total", "y", ["a", "b"]);
  assertThrows(() => c.inc({ a: "1", b: "2" }, -1), Error, "cannot decrease");
  assertThrows(() => c.inc({ a: "1" }), Error, "do not match");
  assertThrows(() => c.inc({ a: "1", c: "2" }), Error, "do not match");
  assertThrows(() => reg.counter("y_total", "again"), Error, "already exists");
  assertThrows(() => reg.counter("bad-name", "x"), Error, "invalid metric name");
  assertThrows(() => reg.counter("ok_total", "x", ["le"]), Error, "invalid label name");
});

Deno.test("gauges set, go up and down; an unlabelled series renders without braces", () => {
  const reg = new MetricsRegistry();
  const g = reg.gauge("g", "a gauge");
  g.set(5);
  g.dec();
  g.inc(undefined, 0.5);
  assertEquals(g.get(), 4.5);
  assertEquals(reg.render(), "# HELP g a gauge\n# TYPE g gauge\ng 4.5\n");
});

Deno.test("histograms render cumulative buckets, +Inf, sum and count", () => {
  const reg = new MetricsRegistry();
  const h = reg.histogram("d_seconds", "durations", ["verb"], [0.1, 1]);
  h.observe(0.05, { verb: "ADD" });
  h.observe(0.5, { verb: "ADD" });
  h.observe(3, { verb: "ADD" });
  const text = reg.render();
  assertEquals(text.split("\n").filter((l) => !l.startsWith("#") && l !== ""), [
    'd_seconds_bucket{verb="ADD",le="0.1"} 1',
    'd_seconds_bucket{verb="ADD",le="1"} 2',
    'd_seconds_bucket{verb="ADD",le="+Inf"} 3',
    'd_seconds_sum{verb="ADD"} 3.55',
    'd_seconds_count{verb="ADD"} 3',
  ]);
  assertEquals(h.get({ verb: "ADD" }), { count: 3, sum: 3.55 });
  assertEquals(sampleValue(text, "d_seconds_bucket", { verb: "ADD", le: "+Inf" }), 3);
  assertThrows(() => reg.histogram("h2", "x", [], [1, 1]), Error, "ascending");
});

Deno.test("value and label formatting", () => {
  assertEquals([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25)], [
    "+Inf",
    "-Inf",
    "NaN",
    "0.25",
  ]);
  assertEquals(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assertEquals(new MetricsRegistry().render(), "");
});

Deno.test("collectors run before each render; a failing one does not fail the scrape", () => {
  const reg = new MetricsRegistry();
  const c = reg.counter("z_total", "z");
  let outside = 0;
  reg.addCollector(() => c.inc({}, outside - c.get()));
  reg.addCollector(() => {
    throw new Error("broken");
  });
  outside = 3;
  assertEquals(sampleValue(reg.render(), "z_total"), 3);
  outside = 5;
  assertEquals(sampleValue(reg.render(), "z_total"), 5);
});

Deno.test("an unlabelled family is served at 0 from its registration; a labelled one from its first inc", () => {
  const reg = new MetricsRegistry();
  reg.counter("c_total", "a counter");
  reg.gauge("g", "a gauge");
  reg.histogram("h_seconds", "a histogram", [], [1]);
  const labelled = reg.counter("l_total", "by kind", ["kind"]);
  assertEquals(
    reg.render(),
    "# HELP c_total a counter\n# TYPE c_total counter\nc_total 0\n" +
      "# HELP g a gauge\n# TYPE g gauge\ng 0\n" +
      '# HELP h_seconds a histogram\n# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 0\n' +
      'h_seconds_bucket{le="+Inf"} 0\nh_seconds_sum 0\nh_seconds_count 0\n' +
      "# HELP l_total by kind\n# TYPE l_total counter\n",
  );
  labelled.inc({ kind: "a" }, 0);
  assertEquals(reg.render().endsWith('l_total{kind="a"} 0\n'), true);
});
