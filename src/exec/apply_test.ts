import { assertEquals } from "../../tests/support/assert.ts";
import { applyCommands, type ApplyInput } from "./apply.ts";
import { defaultPolicy } from "../policy/default_policy.ts";
import type { CommandResult } from "./runner.ts";
import { sampleCommand } from "../../tests/daemon_fixtures.ts";

function input(commands: string[], onError: "fail" | "continue", failing = new Set<string>()): {
  input: ApplyInput;
  ran: string[][];
} {
  const ran: string[][] = [];
  return {
    ran,
    input: {
      commands,
      annotationBytes: 10,
      policy: defaultPolicy(),
      ctx: { ifname: "net1", podInterfaces: ["eth0", "net1"] },
      onError,
      runner: { ipPath: "/usr/sbin/ip", nsenterPath: "/usr/bin/nsenter", netns: "/var/run/netns/x" },
      who: "pod ns/p",
      run: (command, argv): Promise<CommandResult> => {
        ran.push([...argv]);
        const bad = failing.has(command);
        return Promise.resolve(sampleCommand({
          command,
          argv: [...argv],
          exitCode: bad ? 2 : 0,
          stdout: "",
          stderr: bad ? "RTNETLINK answers: File exists" : "",
        }));
      },
    },
  };
}

Deno.test("applyCommands: a rejected command means nothing runs with onError fail", async () => {
  const t = input(["ip route", "ip netns exec x sh"], "fail");
  const out = await applyCommands(t.input);
  assertEquals([out.verdict, out.error?.code, t.ran.length], ["rejected", 101, 0]);
});

Deno.test("applyCommands: onError continue skips rejected commands and runs the rest", async () => {
  const t = input(["ip netns exec x sh", "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"], "continue");
  const out = await applyCommands(t.input);
  assertEquals(out.verdict, "rejected");
  assertEquals(t.ran, [["route", "add", "192.0.3.0/24", "dev", "net1"]]);
  assertEquals(out.error?.message.includes("it was skipped"), true);
});

Deno.test("applyCommands: the first failure stops the list unless onError continue", async () => {
  const cmds = ["ip route add 192.0.3.0/24 dev net1", "ip route"];
  const fail = input(cmds, "fail", new Set([cmds[0]]));
  const stopped = await applyCommands(fail.input);
  assertEquals([stopped.verdict, stopped.error?.code, fail.ran.length], ["failed", 100, 1]);
  assertEquals(
    stopped.error?.message,
    `pod ns/p: command "${cmds[0]}" exited with code 2: RTNETLINK answers: File exists`,
  );
  const cont = input(cmds, "continue", new Set([cmds[0]]));
  const all = await applyCommands(cont.input);
  assertEquals([all.verdict, cont.ran.length], ["failed", 2]);
  assertEquals((await applyCommands(input([], "fail").input)).verdict, "nothing");
});

Deno.test("applyCommands: the list's deadline stops starting commands whatever onError; timeouts are cut to it", async () => {
  for (const onError of ["fail", "continue"] as const) {
    const t = input(["ip route", "ip addr", "ip link", "ip route show table 5"], onError);
    let clock = 0;
    const timeouts: number[] = [];
    const run = t.input.run;
    const policy = defaultPolicy();
    const out = await applyCommands({
      ...t.input,
      policy: { ...policy, limits: { ...policy.limits, commandTimeoutMs: 800, listTimeoutMs: 1000 } },
      now: () => clock,
      run: async (command, argv, opts) => {
        timeouts.push(opts.timeoutMs);
        // Every command takes 450 ms (and is killed when its timeout is shorter).
        clock += Math.min(450, opts.timeoutMs);
        const r = await run(command, argv, opts);
        return 450 > opts.timeoutMs ? { ...r, exitCode: null, signal: "SIGKILL", timedOut: true } : r;
      },
    });
    assertEquals(
      [out.verdict, out.error?.code, out.notStarted, t.ran.length],
      ["failed", 100, 1, 3],
      onError,
    );
    assertEquals(timeouts, [800, 550, 100]);
    assertEquals(
      out.error?.message,
      "pod ns/p: the list's deadline of 1000 ms (policy limits.listTimeoutMs) passed after 3 of 4 commands; " +
        '"ip link" was killed at it; 1 not started, the first "ip route show table 5"',
    );
  }
  // Within the deadline nothing changes.
  const quick = await applyCommands(input(["ip route"], "fail").input);
  assertEquals([quick.verdict, quick.notStarted, quick.error], ["applied", 0, undefined]);
});
