import { assertEquals } from "../../tests/support/assert.ts";
import { sampleCommand, sampleExecutorDeps, sampleTarget } from "../../tests/daemon_fixtures.ts";
import { defaultPolicy } from "../policy/default_policy.ts";
import { PolicyError } from "../policy/rules.ts";
import type { CommandResult } from "./runner.ts";
import { type ExecutorDeps, runOnAttachment } from "./executor.ts";

const target = sampleTarget();

function deps(
  over: Partial<ExecutorDeps> = {},
  failing = new Set<string>(),
): ExecutorDeps & { ran: string[][] } {
  const ran: string[][] = [];
  const run: ExecutorDeps["run"] = (command, argv, opts): Promise<CommandResult> => {
    ran.push([opts.nsenterPath, opts.ipPath, opts.netns, ...argv]);
    const bad = failing.has(command);
    return Promise.resolve(sampleCommand({ command, argv: [...argv], exitCode: bad ? 2 : 0, stdout: "" }));
  };
  return { ran, ...sampleExecutorDeps(run, over) };
}

Deno.test("executor: runs the list in the netns and reports it", async () => {
  const d = deps();
  const out = await runOnAttachment(
    target,
    '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]',
    d,
  );
  assertEquals([out.report.verdict, out.fatal, out.error], ["applied", false, undefined]);
  assertEquals(d.ran, [
    ["/usr/bin/nsenter", "/usr/sbin/ip", "/var/run/netns/x", "route", "add", "192.0.3.0/24", "dev", "net1"],
    ["/usr/bin/nsenter", "/usr/sbin/ip", "/var/run/netns/x", "route"],
  ]);
  assertEquals(out.report.verb, "ADD");
  assertEquals(out.report.detected.length, 2);
  assertEquals(out.report.pod, target.pod);
});

Deno.test("executor: the chain's ipPath/nsenterPath are used, and a path off the list is code 7", async () => {
  const d = deps();
  await runOnAttachment({ ...target, ipPath: "/bin/ip", nsenterPath: "/bin/nsenter" }, "ip route", d);
  assertEquals(d.ran[0].slice(0, 2), ["/bin/nsenter", "/bin/ip"]);
  const bad = await runOnAttachment({ ...target, ipPath: "/tmp/ip" }, "ip route", deps());
  assertEquals([bad.report.verdict, bad.error?.code, bad.fatal], ["error", 7, true]);
});

Deno.test("executor: no annotation, or none for this network, runs nothing", async () => {
  for (const value of [undefined, "", '{"other": ["ip route"]}']) {
    const d = deps();
    const out = await runOnAttachment(target, value, d);
    assertEquals([out.report.verdict, out.fatal, d.ran.length], ["nothing", false, 0]);
  }
});

Deno.test("executor: malformed annotation is 101, invalid policy 7, gone netns 3, refused netns 4; fatal", async () => {
  const cases: Array<[string, Partial<ExecutorDeps>, number]> = [
    ["[not json", {}, 101],
    ["ip route", { loadPolicy: () => Promise.reject(new PolicyError("bad rule")) }, 7],
    ["ip route", { netnsState: () => Promise.resolve("gone") }, 3],
    ["ip route", { netnsProblem: () => "is the caller's own network namespace" }, 4],
  ];
  for (const [value, over, code] of cases) {
    const d = deps(over);
    const out = await runOnAttachment(target, value, d);
    assertEquals([out.error?.code, out.fatal, d.ran.length], [code, true, 0], value);
  }
});

Deno.test("executor: a failing command is fatal with fail, reported with continue", async () => {
  const list = '["ip route add 192.0.3.0/24 dev net1", "ip route"]';
  const failing = new Set(["ip route add 192.0.3.0/24 dev net1"]);
  const f = await runOnAttachment(target, list, deps({}, failing));
  assertEquals([f.report.verdict, f.error?.code, f.fatal, f.report.commands.length], [
    "failed",
    100,
    true,
    1,
  ]);
  const c = await runOnAttachment({ ...target, onError: "continue" }, list, deps({}, failing));
  assertEquals([c.report.verdict, c.error?.code, c.fatal, c.report.commands.length], [
    "failed",
    100,
    false,
    2,
  ]);
});

Deno.test("executor: a rejected command means nothing runs (fail), is skipped (continue)", async () => {
  const list = '["ip route", "ip netns exec x sh"]';
  const d = deps();
  const f = await runOnAttachment(target, list, d);
  assertEquals([f.report.verdict, f.error?.code, f.fatal, d.ran.length], ["rejected", 101, true, 0]);
  const d2 = deps();
  const c = await runOnAttachment({ ...target, onError: "continue" }, list, d2);
  assertEquals([c.report.verdict, c.fatal, d2.ran.length], ["rejected", false, 1]);
});

Deno.test("executor: an unexpected error is code 999 in the report, never a throw", async () => {
  const out = await runOnAttachment(
    target,
    "ip route",
    deps({ loadPolicy: () => Promise.reject(new TypeError("boom")) }),
  );
  assertEquals([out.report.verdict, out.error?.code, out.fatal], ["error", 999, true]);
  assertEquals(out.report.error?.msg, "internal error: TypeError: boom");
});

Deno.test("executor: a command that cannot be started is a failed command (127), not an escape", async () => {
  const out = await runOnAttachment(
    { ...target, onError: "fail" },
    "ip route",
    deps({ run: () => Promise.reject(new TypeError("spawn failed")) }),
  );
  assertEquals([out.report.verdict, out.error?.code, out.report.commands[0]?.exitCode], ["failed", 100, 127]);
});

Deno.test("executor: namespace labels are asked only for a policy scoped by them", async () => {
  let asked = 0;
  const labels = () => {
    asked++;
    return Promise.resolve({});
  };
  await runOnAttachment(target, "ip route", deps({ namespaceLabels: labels }));
  assertEquals(asked, 0);
  const scoped = { ...defaultPolicy(), namespaceLabels: [{ key: "a", value: "b" }] };
  const out = await runOnAttachment(
    target,
    "ip route",
    deps({ namespaceLabels: labels, loadPolicy: () => Promise.resolve(scoped as never) }),
  );
  assertEquals(asked, 1);
  assertEquals(out.report.verdict, "rejected");
});
