/** Kubernetes Events for executions against the fake API server: fields, kubelet-style counting, failures. */
import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import {
  type FakeApiServer,
  type KubeEvent,
  startFakeApiServer,
} from "../../../tests/support/fake_apiserver.ts";
import { KubeClient } from "../../kube/client.ts";
import { parseKubeconfig } from "../../kube/kubeconfig.ts";
import {
  capText,
  eventForReport,
  eventName,
  EventRecorder,
  type EventRecorderOptions,
  MAX_EVENT_MESSAGE,
  warningEventForReport,
} from "./event_recorder.ts";
import type { Report } from "../../report/report.ts";
import { sampleReport } from "../../../tests/daemon_fixtures.ts";
import { ALL_HOSTILE, assertNoRawControl, HOSTILE, HOSTILE_OUTPUT } from "../../../tests/support/hostile.ts";
import type { CommandResult } from "../../exec/runner.ts";

const POD = { namespace: "ns", name: "web-0", uid: "uid-1" };
const APPLIED = {
  reason: "ChainsawApplied" as const,
  type: "Normal" as const,
  message: "ADD on net1: applied 1 command",
};

/** A clock advanced by hand. */
function clock(start = Date.parse("2026-03-01T10:00:00Z")) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

async function withRecorder(
  opts: Partial<EventRecorderOptions>,
  fn: (api: FakeApiServer, rec: EventRecorder, logs: string[], client: KubeClient) => Promise<void>,
): Promise<void> {
  const api = await startFakeApiServer();
  const client = new KubeClient(await parseKubeconfig(api.kubeconfig(), "/k"), 1000);
  const logs: string[] = [];
  const rec = new EventRecorder({ client, node: "node-a", log: (m) => logs.push(m), ...opts });
  try {
    await fn(api, rec, logs, client);
  } finally {
    await rec.flush();
    client.close();
    await api.close();
  }
}

const eventCalls = (api: FakeApiServer) =>
  api.requests.filter((r) => r.path.includes("/events")).map((r) => `${r.method} ${r.status}`);

Deno.test("events: a core/v1 Event on the pod with reason, type, source, reporting fields and count 1", async () => {
  const c = clock();
  await withRecorder({ now: c.now }, async (api, rec) => {
    await rec.record(POD, { ...APPLIED, action: "ADD" });
    const [ev] = api.events() as KubeEvent[];
    const name = await eventName(POD, { ...APPLIED, action: "ADD" });
    assertEquals(ev.metadata.name, name);
    assert(/^web-0\.[0-9a-f]{16}$/.test(name), name);
    assertEquals(ev.apiVersion, "v1");
    assertEquals(ev.involvedObject, {
      kind: "Pod",
      apiVersion: "v1",
      namespace: "ns",
      name: "web-0",
      uid: "uid-1",
    });
    assertEquals([ev.reason, ev.type, ev.message, ev.action], [
      "ChainsawApplied",
      "Normal",
      APPLIED.message,
      "ADD",
    ]);
    assertEquals(ev.source, { component: "chainsaw", host: "node-a" });
    assertEquals([ev.reportingComponent, ev.reportingInstance], ["chainsaw", "node-a"]);
    assertEquals([ev.firstTimestamp, ev.lastTimestamp, ev.count], [
      "2026-03-01T10:00:00Z",
      "2026-03-01T10:00:00Z",
      1,
    ]);
    const post = api.requests.find((r) => r.method === "POST")!;
    assertEquals(post.path, "/api/v1/namespaces/ns/events");
    assertEquals(rec.counters, { posted: 1, patched: 0, failed: 0 });
  });
});

Deno.test("events: the same event within the window is a strategic-merge PATCH with count 2; a different one is new", async () => {
  const c = clock();
  await withRecorder({ now: c.now }, async (api, rec) => {
    await rec.record(POD, APPLIED);
    c.advance(30_000);
    await rec.record(POD, APPLIED);
    const patch = api.requests.find((r) => r.method === "PATCH")!;
    assertEquals(patch.contentType, "application/strategic-merge-patch+json");
    assertEquals(patch.body, { count: 2, lastTimestamp: "2026-03-01T10:00:30Z" });
    let [ev] = api.events();
    assertEquals([ev.count, ev.firstTimestamp, ev.lastTimestamp], [
      2,
      "2026-03-01T10:00:00Z",
      "2026-03-01T10:00:30Z",
    ]);
    await Promise.all([rec.record(POD, APPLIED), rec.record(POD, APPLIED)]); // serialised per event
    [ev] = api.events();
    assertEquals(ev.count, 4);
    await rec.record(POD, { ...APPLIED, message: "something else" });
    await rec.record({ ...POD, uid: "uid-2" }, APPLIED); // a recreated pod of the same name
    assertEquals(api.events().length, 3);
    assertEquals(eventCalls(api), [
      "POST 201",
      "PATCH 200",
      "PATCH 200",
      "PATCH 200",
      "POST 201",
      "POST 201",
    ]);
    assertEquals(rec.counters, { posted: 6, patched: 3, failed: 0 });
  });
});

Deno.test("events: 409 on create (a restarted daemon) patches the existing Event's count; 404 on a patch re-creates", async () => {
  const c = clock();
  await withRecorder({ now: c.now }, async (api, rec, _logs, client) => {
    await rec.record(POD, APPLIED);
    await rec.record(POD, APPLIED);
    const restarted = new EventRecorder({ client, node: "node-a", now: c.now });
    await restarted.record(POD, APPLIED);
    assertEquals(api.events()[0].count, 3);
    assertEquals(restarted.counters, { posted: 1, patched: 1, failed: 0 });
    await restarted.record(POD, APPLIED);
    assertEquals(api.events()[0].count, 4);

    api.failNext(404); // the Event expired on the server: create again (here it still exists: 409 → patch)
    await rec.record(POD, APPLIED);
    assertEquals(api.events()[0].count, 5);
    assertEquals(api.events().length, 1);

    c.advance(11 * 60_000); // outside the window: a fresh create, counted onto the same deterministic name
    await rec.record(POD, APPLIED);
    assertEquals(api.events()[0].count, 6);
    assertEquals(rec.counters.failed + restarted.counters.failed, 0);
  });
});

Deno.test("events: API errors are counted and logged, never thrown", async () => {
  await withRecorder({}, async (api, rec, logs) => {
    api.failNext(500);
    await rec.record(POD, APPLIED);
    api.forbid("/api/v1/namespaces/ns/events");
    await rec.record(POD, APPLIED);
    api.unforbid("/api/v1/namespaces/ns/events");
    await rec.record(POD, APPLIED);
    assertEquals(rec.counters, { posted: 1, patched: 0, failed: 2 });
    assertEquals(logs.length, 2);
    assertStringIncludes(logs[0], "ChainsawApplied");
    assertStringIncludes(logs[0], "500");
    assertStringIncludes(logs[1], "403");
    api.failNext(503); // the counting PATCH fails: counted, not thrown
    await rec.record(POD, APPLIED);
    assertEquals(rec.counters.failed, 3);
    await api.close();
    await rec.record(POD, { ...APPLIED, message: "other" }); // unreachable
    assertEquals(rec.counters.failed, 4);
  });
});

function cmd(
  command: string,
  exitCode: number | null,
  stdout = "",
  stderr = "",
  timedOut = false,
): CommandResult {
  return {
    command,
    argv: command.split(" ").slice(1),
    exitCode,
    signal: exitCode === null ? "SIGKILL" : null,
    timedOut,
    durationMs: 3.5,
    stdout,
    stderr,
    truncated: false,
  };
}

function report(extra: Partial<Report>): Report {
  return sampleReport({
    pod: { namespace: "ns", name: "p", uid: "u1" },
    containerId: "c1",
    netns: "/var/run/netns/x",
    network: "macvlan-a",
    source: undefined,
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 12,
    ...extra,
  });
}

Deno.test("eventForReport: verdicts to reasons and types; commands with outcomes and capped output", () => {
  const applied = eventForReport(report({
    verdict: "applied",
    detected: ["ip route add 10.0.0.0/8 dev net1", "ip route"],
    commands: [
      cmd("ip route add 10.0.0.0/8 dev net1", 0),
      cmd("ip route", 0, "default via 10.0.0.1 dev net1\n".repeat(20)),
    ],
  }))!;
  assertEquals([applied.reason, applied.type, applied.action], ["ChainsawApplied", "Normal", "ADD"]);
  const lines = applied.message.split("\n");
  assertEquals(lines[0], "ADD on net1 (network macvlan-a): applied 2 commands");
  assertEquals(lines[1], "[ok] ip route add 10.0.0.0/8 dev net1");
  assert(lines[2].startsWith("[ok] ip route: default via 10.0.0.1 dev net1 default via"), lines[2]);
  assert(lines[2].endsWith("…") && lines[2].length < 200, lines[2]);

  const failed = eventForReport(report({
    verb: "REAPPLY",
    verdict: "failed",
    detected: ["ip a", "ip route add x", "ip r"],
    commands: [cmd("ip a", 0, "lo"), cmd("ip route add x", 2, "", "Error: any valid prefix is expected.\n")],
    error: { code: 7, msg: 'command "ip route add x" exited with code 2' },
  }))!;
  assertEquals([failed.reason, failed.type, failed.action], ["ChainsawFailed", "Warning", "REAPPLY"]);
  assertEquals(failed.message.split("\n"), [
    'REAPPLY on net1 (network macvlan-a): failed: command "ip route add x" exited with code 2',
    "[ok] ip a: lo",
    "[exit 2] ip route add x: Error: any valid prefix is expected.",
    "(1 more not run)",
  ]);

  const rejected = eventForReport(report({
    verdict: "rejected",
    detected: ["ip link del eth0"],
    error: { code: 100, msg: "command 1 rejected by rule deny-link" },
  }))!;
  assertEquals([rejected.reason, rejected.type], ["ChainsawRejected", "Warning"]);
  assertEquals(rejected.message.split("\n"), [
    "ADD on net1 (network macvlan-a): rejected, nothing was run: command 1 rejected by rule deny-link",
    "commands: ip link del eth0",
  ]);

  const slow = eventForReport(
    report({ verdict: "failed", commands: [cmd("ip monitor", null, "", "", true)] }),
  )!;
  assertStringIncludes(slow.message, "[timed out] ip monitor");

  assertEquals(eventForReport(report({ verdict: "nothing" })), undefined);
  assertEquals(eventForReport(report({ verdict: "error", error: { code: 11, msg: "x" } })), undefined);
  assertEquals(eventForReport(report({ verdict: "applied", pod: undefined })), undefined);

  const many = eventForReport(report({
    verdict: "applied",
    commands: Array.from(
      { length: 40 },
      (_, i) => cmd(`ip route add 10.${i}.0.0/16 dev net1`, 0, "x".repeat(100)),
    ),
  }))!;
  assertEquals(many.message.length, MAX_EVENT_MESSAGE);
  assert(many.message.endsWith("…"));
  assertEquals(capText("abc", 3), "abc");
  assertEquals(capText("abcd", 3), "ab…");
});

Deno.test("eventForReport: hostile names, commands, output and errors stay on their line, nothing raw", () => {
  for (const verdict of ["applied", "failed", "rejected"] as const) {
    const ev = eventForReport(report({
      verdict,
      ifname: `net1${HOSTILE.newline}`,
      network: `n${HOSTILE.osc8}`,
      detected: Object.values(HOSTILE),
      commands: verdict === "rejected" ? [] : [
        cmd(HOSTILE.newline, 1, HOSTILE_OUTPUT, HOSTILE_OUTPUT),
        { ...cmd("ip route", null), signal: `SIGKILL${HOSTILE.clear}` },
      ],
      error: { code: 100, msg: `command ${HOSTILE.newline} failed:\n${HOSTILE.clear}` },
    }))!;
    assertNoRawControl(ev.message.replaceAll("\n", " "), `${verdict} message`);
    const lines = ev.message.split("\n");
    assertEquals(lines.length, verdict === "rejected" ? 2 : 4, ev.message); // head, 2 commands, "(11 more not run)"
    assert(lines[0].startsWith("ADD on net1ip route\\n2026-"), lines[0]);
    assert(lines.slice(1).every((l) => /^(\[|commands: |\(\d+ more not run\)$)/.test(l)), ev.message);
    assert(ev.message.length <= MAX_EVENT_MESSAGE);
  }
  const long = eventForReport(
    report({ verdict: "applied", commands: [cmd(ALL_HOSTILE.repeat(20), 0, HOSTILE_OUTPUT)] }),
  )!;
  assertNoRawControl(long.message.replaceAll("\n", " "), "capped message");
  assertEquals(long.message.length, MAX_EVENT_MESSAGE);
});

Deno.test("capText never splits a surrogate pair", () => {
  assertEquals(capText("ab🙂cd", 4), "ab…");
  assertEquals(capText("abc🙂d", 5), "abc…");
  assert(capText("🙂".repeat(600), MAX_EVENT_MESSAGE).isWellFormed());
});

Deno.test("eventForReport: a trace id ends the message as `trace <id>`, kept whole when the rest is capped", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const applied = eventForReport(report({ verdict: "applied", traceId, commands: [cmd("ip route", 0)] }))!;
  assertEquals(applied.message.split("\n"), [
    "ADD on net1 (network macvlan-a): applied 1 command",
    "[ok] ip route",
    `trace ${traceId}`,
  ]);
  const rejected = eventForReport(report({
    verdict: "rejected",
    traceId,
    detected: ["ip link del eth0"],
    error: { code: 100, msg: "rejected" },
  }))!;
  assert(rejected.message.endsWith(`\ncommands: ip link del eth0\ntrace ${traceId}`), rejected.message);
  const many = eventForReport(report({
    verdict: "applied",
    traceId,
    commands: Array.from({ length: 40 }, (_, i) => cmd(`ip route add 10.${i}.0.0/16`, 0, "x".repeat(100))),
  }))!;
  assertEquals(many.message.length, MAX_EVENT_MESSAGE);
  assert(many.message.endsWith(`…\ntrace ${traceId}`), many.message.slice(-80));
  // no trace id: no trace line, and the message is as before
  const plain = eventForReport(report({ verdict: "applied", commands: [cmd("ip route", 0)] }))!;
  assert(!plain.message.includes("trace"), plain.message);
  // a forged trace id cannot add a line of its own
  const forged = eventForReport(report({ verdict: "applied", traceId: `x\n${HOSTILE.clear}` }))!;
  assertNoRawControl(forged.message.replaceAll("\n", " "), "forged trace id");
  assertEquals(forged.message.split("\n").length, 2, forged.message);
});

Deno.test("eventForReport: declarative — kept commands, what was taken back and left alone; a take-back alone is an Event", () => {
  const edit = eventForReport(report({
    verb: "REAPPLY",
    verdict: "applied",
    detected: ["ip route add 10.0.0.0/8 dev net1"],
    commands: [{ ...cmd("ip route add 10.0.0.0/8 dev net1", 0), kept: true }],
    effect: {
      owned: 1,
      takenBack: ["route v4 main 10.1.0.0/16: unicast … → absent"],
      leftAlone: ["route v4 main 10.2.0.0/16: …"],
    },
  }))!;
  assertEquals(edit.message.split("\n").slice(1), [
    "taken back: route v4 main 10.1.0.0/16: unicast … → absent",
    "left alone: changed since chainsaw set it: route v4 main 10.2.0.0/16: …",
    "[kept] ip route add 10.0.0.0/8 dev net1",
  ]);
  const deleted = eventForReport(report({
    verb: "REAPPLY",
    verdict: "nothing",
    detected: [],
    commands: [],
    effect: { owned: 0, takenBack: ["link eth0 mtu: 1500 → 1400"], leftAlone: [] },
  }))!;
  assertEquals([deleted.reason, deleted.type], ["ChainsawApplied", "Normal"]);
  assertEquals(deleted.message.split("\n"), [
    "REAPPLY on net1 (network macvlan-a): no commands; took back 1 object",
    "taken back: link eth0 mtu: 1500 → 1400",
  ]);
  assertEquals(eventForReport(report({ verdict: "nothing", detected: [], commands: [] })), undefined);
});

Deno.test("eventForReport names the NAD next to the chain when the attachment came from a Multus selection", () => {
  const spec = eventForReport(report({
    nad: "default/test-chainsaw",
    network: "test-chainsaw-chain",
    verdict: "applied",
    detected: ["ip route"],
    commands: [cmd("ip route", 0)],
  }))!;
  assertEquals(
    spec.message.split("\n")[0],
    "ADD of network default/test-chainsaw (chain test-chainsaw-chain) on net1: applied 1 command",
  );
});

Deno.test("warningEventForReport: a Warning ChainsawUnmatchedKey with each warning, whatever the verdict", () => {
  assertEquals(warningEventForReport(report({ verdict: "applied" })), undefined);
  const w = 'key "nett2" of the chainsaw annotation matches none of the pod\'s attachments: net1 (chain c)';
  const spec = warningEventForReport(report({ verdict: "nothing", warnings: [w, `${w}\u001b[2J`] }))!;
  assertEquals([spec.reason, spec.type, spec.action], ["ChainsawUnmatchedKey", "Warning", "ADD"]);
  const lines = spec.message.split("\n");
  assertEquals(lines[0], "ADD on net1 (network macvlan-a): 2 keys of the annotation do nothing");
  assertEquals(lines[1], w);
  assertNoRawControl(spec.message, "warning event");
  assertEquals(
    warningEventForReport(report({ warnings: [w] }))!.message.split("\n")[0].endsWith(
      "a key of the annotation does nothing",
    ),
    true,
  );
});
