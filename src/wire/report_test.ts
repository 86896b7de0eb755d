import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import { type AttachmentRegistration, AttachmentRegistrationSchema } from "./attachment.ts";
import { sampleDel, sampleReport } from "../../tests/daemon_fixtures.ts";
import { decodeReport, podKey, ReportDecodeError } from "./report.ts";

Deno.test("reports round-trip through JSON and the schema", () => {
  for (const r of [sampleReport(), sampleDel(), sampleDel({ pod: undefined })]) {
    const json = JSON.stringify(r);
    assertEquals(JSON.stringify(decodeReport(json)), json);
  }
  const withError = sampleReport({ verdict: "rejected", error: { code: 100, msg: "no" }, commands: [] });
  assertEquals(decodeReport(JSON.stringify(withError)), withError);
});

Deno.test("unknown keys are dropped; malformed reports are refused naming the field", () => {
  const r = decodeReport(JSON.stringify({ ...sampleReport(), extra: "x" }));
  assertEquals("extra" in r, false);
  assertThrows(() => decodeReport("{"), ReportDecodeError, "not JSON");
  assertThrows(() => decodeReport("[]"), ReportDecodeError);
  assertThrows(() => decodeReport(JSON.stringify({ ...sampleReport(), v: 2 })), ReportDecodeError, "v");
  assertThrows(
    () => decodeReport(JSON.stringify({ ...sampleReport(), verdict: "ok" })),
    ReportDecodeError,
    "verdict",
  );
  const badCmd = { ...sampleReport(), commands: [{ command: "x" }] };
  assertThrows(() => decodeReport(JSON.stringify(badCmd)), ReportDecodeError, "commands[0]");
  assertThrows(
    () => decodeReport(JSON.stringify({ ...sampleReport(), verb: "X".repeat(17) })),
    ReportDecodeError,
    "verb",
  );
});

Deno.test("podKey", () => {
  assertEquals(podKey(sampleReport()), "default/p1");
  assertEquals(podKey(sampleDel({ pod: undefined })), undefined);
});

Deno.test("a report keeps the annotation; the re-apply fields travel in the registration, never in a report", () => {
  const r = sampleReport({ annotation: '{"net-a": ["ip route"], "*": "ip addr"}' });
  assertEquals(decodeReport(JSON.stringify(r)), r);
  // A sender that still puts the registration into a report: those keys are dropped (no chain policy in logs).
  const old = {
    ...r,
    podInterfaces: ["eth0", "net1"],
    chainPolicy: { allow: ["route add|del"], limits: { maxCommands: 4 } },
    onError: "continue",
  };
  assertEquals(decodeReport(JSON.stringify(old)), r);
  const reg: AttachmentRegistration = {
    containerId: r.containerId,
    netns: r.netns,
    ifname: r.ifname,
    network: r.network,
    pod: r.pod!,
    podInterfaces: ["eth0", "net1"],
    chainPolicy: { allow: ["route add|del"], limits: { maxCommands: 4 } },
    onError: "continue",
    applied: r.annotation,
  };
  assertEquals(AttachmentRegistrationSchema.parse(JSON.parse(JSON.stringify(reg))), reg);
  const refused = (bad: unknown) => {
    const p = AttachmentRegistrationSchema.safeParse(bad);
    return p.success ? "accepted" : describeZodIssue(p.error);
  };
  assertStringIncludes(refused({ ...reg, onError: "ignore" }), "onError");
  assertStringIncludes(refused({ ...reg, podInterfaces: "eth0" }), "podInterfaces");
});

Deno.test("decodeReport: text that is not JSON keeps the parse error as cause", () => {
  const e = assertThrows(() => decodeReport("{"), ReportDecodeError, "not JSON: ");
  assertEquals(e.cause instanceof SyntaxError, true);
});
