import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { sampleCommand, sampleReport } from "../../../tests/daemon_fixtures.ts";
import {
  ALL_HOSTILE,
  assertNoRawControl,
  countRecords,
  HOSTILE,
  HOSTILE_OUTPUT,
} from "../../../tests/support/hostile.ts";
import { formatHuman } from "../../report/report.ts";
import { formatMessage, formatReportRecord } from "./log_format.ts";

Deno.test("reports print as the seed's human format or as one JSON line", () => {
  const r = sampleReport();
  const human = formatReportRecord(r, "human");
  assertEquals(human, formatHuman(r));
  assertStringIncludes(human, "Detected commands: [ip route]\nRunning ip route ===============\n");
  const json = formatReportRecord(r, "json");
  assertEquals(json.endsWith("\n") && json.indexOf("\n") === json.length - 1, true);
  assertEquals(JSON.parse(json), r);
});

Deno.test("daemon messages in both formats", () => {
  const now = new Date("2026-01-02T03:04:05.000Z");
  assertEquals(
    formatMessage("human", "info", "ready", {}, now),
    "2026-01-02T03:04:05.000Z chainsaw daemon: ready\n",
  );
  assertEquals(
    formatMessage("human", "error", "bad", { path: "/x", n: 2 }, now),
    "2026-01-02T03:04:05.000Z chainsaw daemon: error: bad path=/x n=2\n",
  );
  assertEquals(JSON.parse(formatMessage("json", "warn", "w", { a: 1 }, now)), {
    time: "2026-01-02T03:04:05.000Z",
    level: "warn",
    msg: "w",
    a: 1,
  });
});

Deno.test("hostile reports: one human record with nothing raw; one JSON line that parses to the same report", () => {
  const r = sampleReport({
    pod: { namespace: "default", name: `p1${HOSTILE.newline}`, uid: "u" },
    ifname: `net1${HOSTILE.rlo}`,
    detected: Object.values(HOSTILE),
    commands: [sampleCommand({ command: ALL_HOSTILE, argv: Object.values(HOSTILE), stdout: HOSTILE_OUTPUT })],
    verdict: "rejected",
    error: { code: 101, msg: `annotation is not valid JSON: ${HOSTILE.newline}` },
  });
  const human = formatReportRecord(r, "human");
  assertNoRawControl(human, "human");
  assertEquals(countRecords(human), { headers: 1, ends: 1 });
  const json = formatReportRecord(r, "json");
  assertNoRawControl(json.slice(0, -1), "json");
  assertEquals(json.indexOf("\n"), json.length - 1);
  assertEquals(JSON.parse(json), r);
});

Deno.test("hostile daemon messages: one line, nothing raw, in both formats", () => {
  const now = new Date("2026-01-02T03:04:05.000Z");
  for (const s of Object.values(HOSTILE)) {
    const human = formatMessage(
      "human",
      "warn",
      `event on pod ${s} not recorded: ${s}`,
      { pod: s, [s]: 1 },
      now,
    );
    assertNoRawControl(human.slice(0, -1), "human message");
    assertEquals(human.indexOf("\n"), human.length - 1, human);
    assert(human.startsWith("2026-01-02T03:04:05.000Z chainsaw daemon: warn: event on pod "));
    const json = formatMessage("json", "error", s, { pod: s }, now);
    assertNoRawControl(json.slice(0, -1), "json message");
    assertEquals(json.indexOf("\n"), json.length - 1);
    assertEquals(JSON.parse(json), { time: now.toISOString(), level: "error", msg: s, pod: s });
  }
  assertEquals(
    formatMessage("human", "info", "a\nb", { k: "x\x1b[2J" }, now),
    "2026-01-02T03:04:05.000Z chainsaw daemon: a\\nb k=x\\x1b[2J\n",
  );
});

Deno.test("a report's trace id is in both record formats: `trace=<id>` in the human header, traceId in JSON", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = sampleReport({ traceId });
  const header = formatReportRecord(r, "human").split("\n")[0];
  assert(header.endsWith(` trace=${traceId}`), header);
  assertEquals(JSON.parse(formatReportRecord(r, "json")).traceId, traceId);
  const none = sampleReport();
  assert(!formatReportRecord(none, "human").includes("trace="));
  assertEquals("traceId" in JSON.parse(formatReportRecord(none, "json")), false);
});
