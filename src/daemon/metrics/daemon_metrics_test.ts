import { assertEquals } from "../../../tests/support/assert.ts";
import { sampleCommand, sampleDel, sampleReport } from "../../../tests/daemon_fixtures.ts";
import { commandResult, createDaemonMetrics, recordReport, verbLabel } from "./daemon_metrics.ts";
import { sampleValue } from "./metrics_registry.ts";

Deno.test("a report counts its invocation, its commands and its duration", () => {
  const m = createDaemonMetrics("9.9.9");
  recordReport(
    m,
    sampleReport({
      verdict: "failed",
      durationMs: 30,
      commands: [
        sampleCommand(),
        sampleCommand({ exitCode: 2 }),
        sampleCommand({ exitCode: null, signal: "SIGKILL", timedOut: true }),
        sampleCommand({ exitCode: null, signal: "SIGTERM" }),
      ],
    }),
  );
  recordReport(m, sampleDel());
  recordReport(m, sampleReport({ verb: "SOMETHING" }));
  const text = m.registry.render();
  assertEquals(sampleValue(text, "chainsaw_build_info", { version: "9.9.9" }), 1);
  assertEquals(sampleValue(text, "chainsaw_invocations_total", { verb: "ADD", result: "failed" }), 1);
  assertEquals(sampleValue(text, "chainsaw_invocations_total", { verb: "DEL", result: "nothing" }), 1);
  assertEquals(sampleValue(text, "chainsaw_invocations_total", { verb: "other", result: "applied" }), 1);
  for (const r of ["ok", "failed", "timeout", "killed"]) {
    assertEquals(sampleValue(text, "chainsaw_commands_total", { result: r }), r === "ok" ? 2 : 1);
  }
  assertEquals(sampleValue(text, "chainsaw_invocation_duration_seconds_sum", { verb: "ADD" }), 0.03);
  assertEquals(sampleValue(text, "chainsaw_invocation_duration_seconds_count", { verb: "DEL" }), 1);
});

Deno.test("label values are bounded", () => {
  assertEquals(["ADD", "DEL", "CHECK", "REAPPLY", "add", "x"].map(verbLabel), [
    "ADD",
    "DEL",
    "CHECK",
    "REAPPLY",
    "other",
    "other",
  ]);
  assertEquals(commandResult(sampleCommand({ exitCode: 0 })), "ok");
});
