import { assertEquals } from "../../../tests/support/assert.ts";
import { sampleDel, sampleReport } from "../../../tests/daemon_fixtures.ts";
import type { Report } from "../../report/report.ts";
import { createDaemonMetrics } from "../metrics/daemon_metrics.ts";
import { ReportRing } from "./report_ring.ts";
import { createIntake } from "./report_intake.ts";

Deno.test("an accepted report is stored, counted, printed once, and handed to listeners", () => {
  const ring = new ReportRing(10);
  const metrics = createDaemonMetrics("t");
  const printed: string[] = [];
  const heard: Report[] = [];
  const errors: unknown[] = [];
  const accept = createIntake({
    ring,
    metrics,
    format: "json",
    print: (r) => printed.push(r),
    listeners: [(r) => heard.push(r), () => {
      throw new Error("listener bug");
    }],
    onListenerError: (e) => errors.push(e),
  });
  accept(sampleReport());
  accept(sampleDel());
  assertEquals(printed.map((p) => JSON.parse(p).verb), ["ADD", "DEL"]);
  assertEquals(ring.recent({ pod: "default/p1" }, 10).map((e) => JSON.parse(e.json).verb), ["ADD", "DEL"]);
  assertEquals(metrics.invocations.get({ verb: "DEL", result: "nothing" }), 1);
  assertEquals(metrics.ringReports.get(), 2);
  assertEquals(heard.map((r) => r.verb), ["ADD", "DEL"]);
  assertEquals(errors.length, 2);
});
