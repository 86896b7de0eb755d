import { assert, assertEquals } from "./support/assert.ts";
import { sampleCommand, sampleReport } from "./daemon_fixtures.ts";
import { outcomeOfReport, wantedCondition } from "../src/daemon/conditions/wanted_condition.ts";
import { eventForReport } from "../src/daemon/events/event_recorder.ts";
import { createDaemonMetrics, recordReport } from "../src/daemon/metrics/daemon_metrics.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";
import type { Report } from "../src/report/report.ts";

function failed(rollback?: Report["rollback"]): Report {
  return sampleReport({
    verdict: "failed",
    commands: [
      sampleCommand({
        command: "ip route del 198.51.100.99/32 dev eth0",
        exitCode: 2,
        stderr: "No such process",
      }),
    ],
    error: {
      code: 100,
      msg: "pod default/p1: command failed; rolled back 1 command: the netns is as before the list",
    },
    ...(rollback ? { rollback } : {}),
  });
}

Deno.test("rollback: the condition reason, the Event and the metric follow the report's rollback field", () => {
  const restored = failed({ restored: true, durationMs: 3 });
  const broken = failed({ restored: false, durationMs: 9, failures: ["still differs: link eth0 mtu"] });
  const plain = failed();
  const reason = (r: Report) => wantedCondition([outcomeOfReport(r)!], true)?.reason;
  assertEquals([reason(restored), reason(broken), reason(plain)], ["RolledBack", "RollbackFailed", "Failed"]);
  assert(wantedCondition([outcomeOfReport(restored)!], true)!.message.includes("rolled back: "));

  const ev = (r: Report) => eventForReport(r)!;
  assertEquals([ev(restored).reason, ev(broken).reason, ev(plain).reason], [
    "ChainsawFailed",
    "ChainsawRollbackFailed",
    "ChainsawFailed",
  ]);
  assertEquals([ev(restored).type, ev(broken).type], ["Warning", "Warning"]);
  assert(ev(restored).message.includes("\nrolled back: the netns is as before the list (3 ms)"));
  assert(
    ev(broken).message.includes(
      "\nROLLBACK FAILED: the netns is NOT as before the list: still differs: link eth0 mtu",
    ),
  );
  assert(!ev(plain).message.includes("rolled back:"));

  const m = createDaemonMetrics("test");
  for (const r of [restored, restored, broken, plain]) recordReport(m, r);
  const text = m.registry.render();
  assertEquals(sampleValue(text, "chainsaw_rollbacks_total", { result: "restored" }), 2);
  assertEquals(sampleValue(text, "chainsaw_rollbacks_total", { result: "failed" }), 1);
});
