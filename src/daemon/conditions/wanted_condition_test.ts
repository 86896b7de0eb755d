/** The pod condition computed from attachment outcomes: reasons, messages, transition times. */
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { sampleCommand, sampleReport } from "../../../tests/daemon_fixtures.ts";
import {
  APPLIED_CONDITION,
  type AttachmentOutcome,
  conditionText,
  MAX_CONDITION_MESSAGE,
  nextCondition,
  outcomeOfReport,
  wantedCondition,
  withDrift,
} from "./wanted_condition.ts";

const ok = (ifname: string, commands = 1): AttachmentOutcome => ({
  containerId: "c1",
  ifname,
  network: "n",
  result: "applied",
  commands,
});

Deno.test("pod condition: outcomes of ADD and REAPPLY reports name the first failing command", () => {
  assertEquals(outcomeOfReport(sampleReport())?.result, "applied");
  assertEquals(outcomeOfReport(sampleReport({ verb: "DEL" })), undefined);
  assertEquals(outcomeOfReport(sampleReport({ pod: undefined })), undefined);
  assertEquals(
    outcomeOfReport(sampleReport({ verdict: "nothing", commands: [], detected: [] }))?.result,
    "nothing",
  );
  const failed = outcomeOfReport(sampleReport({
    verb: "REAPPLY",
    verdict: "failed",
    commands: [
      sampleCommand({ command: "ip route" }),
      sampleCommand({
        command: "ip route del 192.0.3.99/32 dev CURRENT_INTERFACE",
        exitCode: 2,
        stdout: "",
        stderr: "RTNETLINK answers: No such process\n",
      }),
      sampleCommand({ command: "ip link set x", exitCode: 1 }),
    ],
    error: { code: 100, msg: "pod default/p1: command 2 failed" },
  }))!;
  assertEquals(failed.result, "failed");
  assertEquals(
    failed.detail,
    '"ip route del 192.0.3.99/32 dev CURRENT_INTERFACE" failed: exit 2: RTNETLINK answers: No such process',
  );
  const timedOut = outcomeOfReport(sampleReport({
    verdict: "failed",
    commands: [sampleCommand({ command: "ip monitor", exitCode: null, signal: "SIGKILL", timedOut: true })],
  }))!;
  assertEquals(timedOut.detail?.startsWith('"ip monitor" failed: timed out'), true);
  const rejected = outcomeOfReport(sampleReport({
    verdict: "rejected",
    commands: [],
    detected: ["ip netns exec x /bin/sh"],
    error: {
      code: 101,
      msg: 'pod default/p1: command 1 "ip netns exec x /bin/sh" denied by escape:netns-object',
    },
  }))!;
  assertEquals(rejected.result, "rejected");
  assertEquals(rejected.detail, 'command 1 "ip netns exec x /bin/sh" denied by escape:netns-object');
  const error = outcomeOfReport(sampleReport({
    verdict: "error",
    commands: [],
    error: { code: 11, msg: "API server unreachable" },
  }))!;
  assertEquals([error.result, error.detail], ["failed", "API server unreachable"]);
});

Deno.test("pod condition: True/Applied, True/NoCommands, and the worst attachment decides False", () => {
  assertEquals(wantedCondition([], true), undefined, "annotated, nothing known yet: nothing to say");
  assertEquals(wantedCondition([], false), {
    status: "True",
    reason: "NoCommands",
    message: "the pod has no chainsaw annotation",
  });
  assertEquals(
    wantedCondition([{ ...ok("net1"), result: "failed", detail: "x" }], false)?.reason,
    "NoCommands",
  );
  assertEquals(wantedCondition([ok("net2", 2), ok("net1")], true), {
    status: "True",
    reason: "Applied",
    message: "3 commands applied on net1, net2",
  });
  assertEquals(
    wantedCondition([{ ...ok("net1"), result: "nothing", commands: 0 }], true)?.reason,
    "NoCommands",
  );
  const bad = wantedCondition([
    ok("net0"),
    { ...ok("net2"), result: "rejected", detail: "denied" },
    { ...ok("net1"), result: "failed", detail: '"ip route add x" failed: exit 2' },
  ], true);
  assertEquals(bad, {
    status: "False",
    reason: "Failed",
    message: 'net1: "ip route add x" failed: exit 2 (and 1 more attachment)',
  });
  assertEquals(
    wantedCondition([{ ...ok("net1"), result: "rejected", detail: "denied" }], true)?.reason,
    "Rejected",
  );
  assertEquals(wantedCondition([{ ...ok("a"), result: "rolledBack", detail: "d" }], true), {
    status: "False",
    reason: "RolledBack",
    message: "a: rolled back: d",
  });
  assertEquals(
    wantedCondition([
      { ...ok("a"), result: "failed", detail: "d" },
      { ...ok("b"), result: "rollbackFailed", detail: "e" },
    ], true)?.reason,
    "RollbackFailed",
  );
});

Deno.test("pod condition: messages are one line of visible text, capped", () => {
  assertEquals(conditionText("a\n\tb\u001b[31mc\u202ed\u0000 "), "a b\\x1b[31mc\\u202ed\\x00");
  const hostile = wantedCondition([{
    ...ok("net1"),
    result: "failed",
    detail: outcomeOfReport(sampleReport({
      verdict: "failed",
      commands: [sampleCommand({ command: "ip r", exitCode: 1, stderr: "bad\u001b]0;x\u0007\n" })],
    }))!.detail,
  }], true)!;
  assertEquals(hostile.message, 'net1: "ip r" failed: exit 1: bad\\x1b]0;x\\x07', "escaped once");
  const long = wantedCondition([{ ...ok("net1"), result: "failed", detail: "x".repeat(5000) + "\n" }], true)!;
  assertEquals(long.message.length, MAX_CONDITION_MESSAGE);
  assert(long.message.endsWith("…"));
  assert([...long.message].every((c) => c.charCodeAt(0) >= 0x20));
});

Deno.test("pod condition: lastTransitionTime changes only with the status; no write when nothing changed", () => {
  const t1 = new Date("2026-01-01T00:00:00.123Z");
  const t2 = new Date("2026-01-02T00:00:00Z");
  const applied = { status: "True", reason: "Applied", message: "1 command applied on eth0" } as const;
  const first = nextCondition(undefined, applied, t1)!;
  assertEquals(first, {
    type: APPLIED_CONDITION,
    status: "True",
    reason: "Applied",
    message: "1 command applied on eth0",
    lastTransitionTime: "2026-01-01T00:00:00Z",
  });
  assertEquals(nextCondition(first, applied, t2), undefined, "unchanged: no PATCH");
  const reworded = nextCondition(first, { ...applied, message: "2 commands applied on eth0" }, t2)!;
  assertEquals(reworded.lastTransitionTime, "2026-01-01T00:00:00Z", "same status keeps the time");
  const flipped = nextCondition(reworded, { status: "False", reason: "Failed", message: "m" }, t2)!;
  assertEquals([flipped.status, flipped.lastTransitionTime], ["False", "2026-01-02T00:00:00Z"]);
  const noTime = nextCondition({ type: APPLIED_CONDITION, status: "True" }, applied, t2)!;
  assertEquals(noTime.lastTransitionTime, "2026-01-02T00:00:00Z");
});

Deno.test("pod condition: a drifted applied attachment is False/Drifted, below failures, above rejections", () => {
  const base = { containerId: "c", network: "n", commands: 1 };
  const ok = { ...base, ifname: "eth0", result: "applied" as const };
  const drifted = withDrift(ok, "route v4 main 192.0.3.0/24: gone");
  assertEquals(drifted.result, "drifted");
  assertEquals(wantedCondition([drifted], true), {
    status: "False",
    reason: "Drifted",
    message: "eth0: drifted: route v4 main 192.0.3.0/24: gone",
  });
  assertEquals(withDrift(ok, undefined), ok);
  const failed = { ...base, ifname: "net1", result: "failed" as const, detail: "x failed" };
  assertEquals(withDrift(failed, "y"), failed, "a failure says more than the drift");
  assertEquals(wantedCondition([drifted, failed], true)?.reason, "Failed");
  const rejected = { ...base, ifname: "net2", result: "rejected" as const, detail: "denied" };
  assertEquals(wantedCondition([drifted, rejected], true)?.reason, "Drifted");
});
