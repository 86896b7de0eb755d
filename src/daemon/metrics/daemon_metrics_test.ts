import { assert, assertEquals } from "../../../tests/support/assert.ts";
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

Deno.test("the series alerts watch are served at 0 before anything happened; the process gauges are there", () => {
  const text = createDaemonMetrics("9.9.9").registry.render();
  for (const verb of ["ADD", "REAPPLY"]) {
    for (const result of ["applied", "failed", "rejected", "nothing", "error"]) {
      assertEquals(sampleValue(text, "chainsaw_invocations_total", { verb, result }), 0, `${verb} ${result}`);
    }
  }
  for (const result of ["ok", "failed", "timeout", "killed"]) {
    assertEquals(sampleValue(text, "chainsaw_commands_total", { result }), 0);
  }
  for (const result of ["restored", "failed"]) {
    assertEquals(sampleValue(text, "chainsaw_rollbacks_total", { result }), 0);
  }
  for (const listener of ["health", "socket"]) {
    for (
      const name of [
        "chainsaw_http_connections",
        "chainsaw_http_connections_evicted_total",
        "chainsaw_http_accept_paused_seconds_total",
        "chainsaw_http_accept_errors_total",
        "chainsaw_http_bad_requests_total",
      ]
    ) assertEquals(sampleValue(text, name, { listener }), 0, `${name} ${listener}`);
    assertEquals(sampleValue(text, "chainsaw_http_timeouts_total", { listener, phase: "write" }), 0);
  }
  assertEquals(sampleValue(text, "chainsaw_ready"), 0);
  assert((sampleValue(text, "process_resident_memory_bytes") ?? 0) > 0);
});
