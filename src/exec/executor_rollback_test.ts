import { assert, assertEquals } from "../../tests/support/assert.ts";
import { sampleCommand, sampleExecutorDeps, sampleTarget } from "../../tests/daemon_fixtures.ts";
import { formatHuman } from "../report/report.ts";
import { decodeReport } from "../wire/report.ts";
import type { CommandResult } from "./runner.ts";
import type { NetnsSnapshot, RestoreOutcome } from "./netns_snapshot.ts";
import { type ExecutorDeps, runOnAttachment } from "./executor.ts";

const target = sampleTarget({ onError: "rollback" });

const SNAPSHOT = { netns: "/var/run/netns/x" } as unknown as NetnsSnapshot;

interface Calls {
  ran: string[];
  snapshots: number;
  restores: number;
  /** What happened, in order: "snapshot", "run <command>", "restore". */
  order: string[];
}

function deps(
  failing: ReadonlySet<string>,
  over: {
    restore?: () => Promise<RestoreOutcome>;
    snapshot?: () => Promise<NetnsSnapshot>;
    timedOut?: ReadonlySet<string>;
  } = {},
): ExecutorDeps & Calls {
  const calls: Calls = { ran: [], snapshots: 0, restores: 0, order: [] };
  const run = (command: string, argv: readonly string[]): Promise<CommandResult> => {
    calls.ran.push(command);
    calls.order.push(`run ${command}`);
    const timedOut = over.timedOut?.has(command) ?? false;
    return Promise.resolve(sampleCommand({
      command,
      argv: [...argv],
      exitCode: timedOut ? null : failing.has(command) ? 2 : 0,
      signal: timedOut ? "SIGKILL" : null,
      timedOut,
      stdout: "",
      stderr: failing.has(command) ? "RTNETLINK answers: File exists" : "",
    }));
  };
  return Object.assign(calls, sampleExecutorDeps(run), {
    snapshot: (netns: string, bins: { ipPath: string; nsenterPath: string }) => {
      calls.snapshots++;
      calls.order.push("snapshot");
      assertEquals([netns, bins.ipPath, bins.nsenterPath], [
        "/var/run/netns/x",
        "/usr/sbin/ip",
        "/usr/bin/nsenter",
      ]);
      return over.snapshot?.() ?? Promise.resolve(SNAPSHOT);
    },
    restore: (snap: NetnsSnapshot) => {
      calls.restores++;
      calls.order.push("restore");
      assert(snap === SNAPSHOT, "restores the snapshot taken before the list");
      return over.restore?.() ??
        Promise.resolve({ ok: true, passes: 1, steps: [], durationMs: 4.5 } as const);
    },
  });
}

const LIST = JSON.stringify([
  "ip route add 198.51.100.0/24 dev net1",
  "ip route add 10.99.0.0/24 dev net1",
  "ip route add 198.51.100.0/25 dev net1",
  "ip route",
]);
const THIRD = "ip route add 198.51.100.0/25 dev net1";
/** The calls when the third command fails: snapshot, the first three commands, restore. */
const STOPPED_AT_THIRD = [
  "snapshot",
  "run ip route add 198.51.100.0/24 dev net1",
  "run ip route add 10.99.0.0/24 dev net1",
  `run ${THIRD}`,
  "restore",
];

Deno.test("executor rollback: snapshot after the policy, stop at the third command, restore, code 100 saying so", async () => {
  const d = deps(new Set([THIRD]));
  const out = await runOnAttachment(target, LIST, d);
  assertEquals(d.order, STOPPED_AT_THIRD);
  assertEquals([out.report.verdict, out.error?.code, out.fatal], ["failed", 100, true]);
  assertEquals(out.report.rollback, { restored: true, durationMs: 4.5 });
  assertEquals(
    out.error?.message,
    `pod ns/p: command "${THIRD}" exited with code 2: RTNETLINK answers: File exists; ` +
      "rolled back 3 commands: the netns is as before the list",
  );
  assertEquals(out.report.error?.msg, out.error?.message);
  // The wire schema keeps the field, and the human format says it in one line.
  const back = decodeReport(JSON.stringify(out.report));
  assertEquals(back.rollback, { restored: true, durationMs: 4.5 });
  const human = formatHuman(back).split("\n").filter((l) => l.startsWith("Rollback:"));
  assertEquals(human, ["Rollback: restored, the netns is as before the list (4.5 ms)"]);
});

Deno.test("executor rollback: a timed-out command is rolled back too", async () => {
  const d = deps(new Set(), { timedOut: new Set(["ip route add 10.99.0.0/24 dev net1"]) });
  const out = await runOnAttachment(target, LIST, d);
  assertEquals([d.ran.length, d.restores, out.report.verdict, out.error?.code], [2, 1, "failed", 100]);
  assert(out.error!.message.includes("rolled back 2 commands"), out.error!.message);
});

Deno.test("executor rollback: a failed restore is loud: report, message, human line", async () => {
  const failures = [
    "ip route del 198.51.100.0/24 dev net1: exit 2: RTNETLINK answers: No such process",
    "still differs: link net1 mtu",
  ];
  const d = deps(new Set([THIRD]), {
    restore: () => Promise.resolve({ ok: false, passes: 3, steps: [], durationMs: 12, failures }),
  });
  const out = await runOnAttachment(target, LIST, d);
  assertEquals([out.report.verdict, out.error?.code, out.fatal], ["failed", 100, true]);
  assertEquals(out.report.rollback, { restored: false, durationMs: 12, failures });
  assert(out.error!.message.includes("ROLLBACK FAILED after 3 commands"), out.error!.message);
  assert(out.error!.message.includes("NOT as before the list"), out.error!.message);
  assert(out.error!.message.endsWith(failures.join("; ")), out.error!.message);
  const back = decodeReport(JSON.stringify(out.report));
  assertEquals(back.rollback, out.report.rollback);
  const human = formatHuman(back).split("\n").filter((l) => l.startsWith("Rollback:"));
  assertEquals(human.length, 1);
  assert(human[0].startsWith("Rollback: FAILED, the netns is NOT as before the list (12 ms): ip route del"));
});

Deno.test("executor rollback: a snapshot that fails closes: nothing runs, code 100, verdict error", async () => {
  const d = deps(new Set(), {
    snapshot: () => Promise.reject(new Error("cannot snapshot /var/run/netns/x: ip timed out")),
  });
  const out = await runOnAttachment(target, LIST, d);
  assertEquals([d.ran.length, d.restores, out.report.verdict, out.error?.code, out.fatal], [
    0,
    0,
    "error",
    100,
    true,
  ]);
  assertEquals(
    out.error?.message,
    'pod ns/p: onError "rollback" needs a snapshot of the netns first, and it failed: ' +
      "cannot snapshot /var/run/netns/x: ip timed out; nothing run",
  );
  assertEquals(out.report.rollback, undefined);
});

Deno.test("executor rollback: no snapshot when nothing would run, the list is rejected, or it all succeeds", async () => {
  const none = deps(new Set());
  await runOnAttachment(target, "", none);
  const rejected = deps(new Set());
  const r = await runOnAttachment(target, '["ip route", "ip -batch /tmp/x"]', rejected);
  assertEquals([r.report.verdict, r.error?.code, rejected.ran.length], ["rejected", 101, 0]);
  const ok = deps(new Set());
  const o = await runOnAttachment(target, LIST, ok);
  assertEquals([o.report.verdict, o.report.rollback, o.fatal], ["applied", undefined, false]);
  assertEquals([none.snapshots, rejected.snapshots, ok.snapshots, ok.restores], [0, 0, 1, 0]);
});

Deno.test("executor rollback: a list that only reads takes no snapshot; one writer anywhere does", async () => {
  const reads = deps(new Set(["ip route get 192.0.2.1"]));
  const r = await runOnAttachment(
    target,
    '["ip route", "ip -j a s dev CURRENT_INTERFACE", "ip route get 192.0.2.1"]',
    reads,
  );
  assertEquals([r.report.verdict, r.error?.code, reads.snapshots, reads.restores], ["failed", 100, 0, 0]);
  const mixed = deps(new Set());
  await runOnAttachment(target, '["ip route", "ip r a 192.0.3.0/24 dev CURRENT_INTERFACE"]', mixed);
  assertEquals(mixed.snapshots, 1);
});

Deno.test("executor rollback: fail and continue never snapshot nor restore, and keep their behaviour", async () => {
  const f = deps(new Set([THIRD]));
  const fo = await runOnAttachment({ ...target, onError: "fail" }, LIST, f);
  assertEquals([fo.report.verdict, fo.fatal, f.ran.length, fo.report.rollback], [
    "failed",
    true,
    3,
    undefined,
  ]);
  assert(!fo.error!.message.includes("rolled back"));
  const c = deps(new Set([THIRD]));
  const co = await runOnAttachment({ ...target, onError: "continue" }, LIST, c);
  assertEquals([co.report.verdict, co.fatal, c.ran.length, co.report.rollback], [
    "failed",
    false,
    4,
    undefined,
  ]);
  assertEquals([f.snapshots, f.restores, c.snapshots, c.restores], [0, 0, 0, 0]);
});

Deno.test("executor rollback: annotations still cannot use restore, -batch or any stdin-reading form", async () => {
  for (
    const cmd of [
      "ip -j -d -batch -",
      "ip -4 -b -",
      "ip -force -batch /dev/stdin",
      "ip route restore",
      "ip -6 route restore",
      "ip addr restore",
      "ip rule restore",
      "ip a showdump",
    ]
  ) {
    const d = deps(new Set());
    const out = await runOnAttachment(target, JSON.stringify(["ip route", cmd]), d);
    assertEquals(
      [out.report.verdict, out.error?.code, d.ran.length, d.snapshots],
      ["rejected", 101, 0, 0],
      cmd,
    );
  }
});

Deno.test("executor rollback: a command that cannot even be spawned (EAGAIN) mid-list is a failure: reported, rolled back", async () => {
  // Before: the runner's throw escaped applyCommands, the executor turned it into code 999 with
  // report.commands empty, and the two commands that had already changed the netns were never rolled back.
  const d = deps(new Set());
  const spawning = d.run;
  d.run = (command, argv, opts) => {
    if (command === THIRD) {
      d.order.push(`run ${command}`);
      return Promise.reject(new Error("Resource temporarily unavailable (os error 11)"));
    }
    return spawning(command, argv, opts);
  };
  const out = await runOnAttachment(target, LIST, d);
  assertEquals(d.order, STOPPED_AT_THIRD);
  assertEquals([out.report.verdict, out.error?.code, out.fatal], ["failed", 100, true]);
  assertEquals(out.report.commands.map((c) => [c.command, c.exitCode]), [
    ["ip route add 198.51.100.0/24 dev net1", 0],
    ["ip route add 10.99.0.0/24 dev net1", 0],
    [THIRD, 127],
  ]);
  assertEquals(out.report.rollback, { restored: true, durationMs: 4.5 });
  assert(out.error!.message.includes("Resource temporarily unavailable"), out.error!.message);
  assert(out.error!.message.includes("rolled back 3 commands"), out.error!.message);
});
