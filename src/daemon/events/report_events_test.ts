import { assertEquals } from "../../../tests/support/assert.ts";
import { sampleDel, sampleReport } from "../../../tests/daemon_fixtures.ts";
import type { EventPod, EventSpec } from "./event_recorder.ts";
import { reportEventListener } from "./report_events.ts";

Deno.test("report events: ADD and REAPPLY executions with a pod become Events; nothing else does", () => {
  const recorded: Array<[EventPod, EventSpec]> = [];
  const listen = reportEventListener({
    record: (pod, spec) => {
      recorded.push([pod, spec]);
      return Promise.resolve();
    },
  });
  listen(sampleReport());
  listen(sampleReport({ verb: "REAPPLY", verdict: "failed", error: { code: 100, msg: "exit 2" } }));
  listen(sampleReport({ verb: "REAPPLY", verdict: "rejected", commands: [] }));
  listen(sampleReport({ verdict: "nothing", commands: [], detected: [] }));
  listen(sampleReport({ verdict: "error", commands: [] }));
  listen(sampleReport({ pod: undefined }));
  listen(sampleReport({ verb: "CHECK" }));
  listen(sampleDel());
  // Keys naming no attachment: a Warning besides the verdict's Event, even when nothing ran.
  listen(sampleReport({ verdict: "nothing", commands: [], detected: [], warnings: ['key "x" …'] }));
  listen(sampleReport({ verb: "REAPPLY", warnings: ['key "x" …'] }));
  assertEquals(
    recorded.map(([pod, s]) => [pod.name, s.reason, s.type, s.action]),
    [
      ["p1", "ChainsawApplied", "Normal", "ADD"],
      ["p1", "ChainsawFailed", "Warning", "REAPPLY"],
      ["p1", "ChainsawRejected", "Warning", "REAPPLY"],
      ["p1", "ChainsawUnmatchedKey", "Warning", "ADD"],
      ["p1", "ChainsawApplied", "Normal", "REAPPLY"],
      ["p1", "ChainsawUnmatchedKey", "Warning", "REAPPLY"],
    ],
  );
});
