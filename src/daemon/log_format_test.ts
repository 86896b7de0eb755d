import { assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { sampleReport } from "../../tests/daemon_fixtures.ts";
import { formatHuman } from "../report/report.ts";
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
