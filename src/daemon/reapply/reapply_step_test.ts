import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import type { CommandResult } from "../../exec/runner.ts";
import { sampleAttachment, sampleCachedPod, sampleCommand } from "../../../tests/daemon_fixtures.ts";
import { effectivePolicy } from "../../policy/load.ts";
import { PolicyError } from "../../policy/rules.ts";
import { executeStep as executeStepOutcome, REAPPLY_VERB, type ReapplyExecDeps } from "./reapply_step.ts";

/** The step's report (these tests are about the report; the effect is tests/declarative_exec_test.ts'). */
async function executeStep(...args: Parameters<typeof executeStepOutcome>) {
  return (await executeStepOutcome(...args)).report;
}

const POD = sampleCachedPod();
const ATT = sampleAttachment();

function deps(failing = new Set<string>()): { deps: ReapplyExecDeps; ran: string[][]; chainDocs: unknown[] } {
  const ran: string[][] = [];
  const chainDocs: unknown[] = [];
  return {
    ran,
    chainDocs,
    deps: {
      node: "node-a",
      loadPolicy: (doc) => {
        chainDocs.push(doc);
        return Promise.resolve(effectivePolicy(undefined, doc));
      },
      fileExists: (p) => p === "/usr/sbin/ip" || p === "/usr/bin/nsenter",
      netnsState: () => Promise.resolve("present"),
      run: (command, argv, opts): Promise<CommandResult> => {
        ran.push([opts.netns, ...argv]);
        const bad = failing.has(command);
        return Promise.resolve(sampleCommand({
          command,
          argv: [...argv],
          exitCode: bad ? 2 : 0,
          stdout: bad ? "" : "ok\n",
          stderr: bad ? "RTNETLINK answers: File exists" : "",
        }));
      },
      now: () => new Date("2026-01-02T03:04:05.000Z"),
    },
  };
}

Deno.test("executeStep: runs the commands in the attachment's netns with its interface; an ADD-shaped REAPPLY report", async () => {
  const t = deps();
  const value = '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip route"]';
  const r = await executeStep(
    { attachment: ATT, value, commands: ["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip route"] },
    POD,
    t.deps,
  );
  assertEquals(t.ran, [
    ["/var/run/netns/cs-x", "route", "add", "198.51.100.0/24", "dev", "net1"],
    ["/var/run/netns/cs-x", "route"],
  ]);
  assertEquals(
    { ...r, commands: r.commands.length, durationMs: 0 },
    {
      v: 1,
      time: "2026-01-02T03:04:05.000Z",
      verb: REAPPLY_VERB,
      node: "node-a",
      pod: { namespace: "default", name: "p1", uid: "uid-1" },
      containerId: "ctr-1",
      netns: "/var/run/netns/cs-x",
      ifname: "net1",
      network: "net-a",
      source: "daemon",
      annotation: value,
      detected: ["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip route"],
      commands: 2,
      verdict: "applied",
      durationMs: 0,
    },
  );
});

Deno.test("executeStep: the pod interfaces kept with the attachment are @pod; other interfaces are not", async () => {
  const t = deps();
  const commands = ["ip link set dev eth0 mtu 1400", "ip link set dev eth9 mtu 1400"];
  const ok = await executeStep(
    { attachment: ATT, value: JSON.stringify([commands[0]]), commands: [commands[0]] },
    POD,
    t.deps,
  );
  assertEquals([ok.verdict, t.ran], ["applied", [[
    "/var/run/netns/cs-x",
    "link",
    "set",
    "dev",
    "eth0",
    "mtu",
    "1400",
  ]]]);
  const no = await executeStep(
    { attachment: ATT, value: JSON.stringify([commands[1]]), commands: [commands[1]] },
    POD,
    t.deps,
  );
  assertEquals([no.verdict, no.error?.code, t.ran.length], ["rejected", 101, 1]);
});

Deno.test("executeStep: the chain policy kept with the attachment narrows the policy; a rejection runs nothing", async () => {
  const t = deps();
  const chainPolicy = { allow: ["route show"] };
  const r = await executeStep(
    {
      attachment: { ...ATT, chainPolicy },
      value: '["ip route add 10.0.0.0/8 dev CURRENT_INTERFACE"]',
      commands: ["ip route add 10.0.0.0/8 dev CURRENT_INTERFACE"],
    },
    POD,
    t.deps,
  );
  assertEquals([r.verdict, r.error?.code, t.ran.length], ["rejected", 101, 0]);
  assertEquals(t.chainDocs, [chainPolicy]);
  assertStringIncludes(r.error!.msg, "pod default/p1");
});

Deno.test("executeStep: onError continue keeps going after a failure; fail stops", async () => {
  const failing = new Set(["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]);
  const commands = ["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"];
  const stop = deps(failing);
  const value = JSON.stringify(commands);
  const r1 = await executeStep({ attachment: ATT, value, commands }, POD, stop.deps);
  assertEquals([r1.verdict, r1.error?.code, stop.ran.length], ["failed", 100, 1]);
  const go = deps(failing);
  const r2 = await executeStep(
    { attachment: { ...ATT, onError: "continue" }, value, commands },
    POD,
    go.deps,
  );
  assertEquals([r2.verdict, go.ran.length], ["failed", 2]);
});

Deno.test("executeStep: an unparsable value is rejected; a broken policy, missing or disallowed binaries are errors", async () => {
  const t = deps();
  const bad = await executeStep({ attachment: ATT, value: "[", error: "not valid JSON" }, POD, t.deps);
  assertEquals([bad.verdict, bad.error?.code, bad.detected], ["rejected", 101, []]);
  const policy = await executeStep({ attachment: ATT, value: "ip route", commands: ["ip route"] }, POD, {
    ...t.deps,
    loadPolicy: () => Promise.reject(new PolicyError("/etc/cni/chainsaw/policy.json: invalid JSON")),
  });
  assertEquals([policy.verdict, policy.error?.code], ["error", 7]);
  const bins = await executeStep({ attachment: ATT, value: "ip route", commands: ["ip route"] }, POD, {
    ...t.deps,
    fileExists: () => false,
  });
  assertEquals([bins.verdict, bins.error?.code], ["error", 7]);
  assertStringIncludes(bins.error!.msg, "ipPath: none of ");
  // The chain's ipPath kept with the attachment is checked against the allowed list, as on ADD.
  const chosen = await executeStep(
    { attachment: { ...ATT, ipPath: "/bin/sh" }, value: "ip route", commands: ["ip route"] },
    POD,
    t.deps,
  );
  assertEquals([chosen.verdict, chosen.error?.code], ["error", 7]);
  assertStringIncludes(chosen.error!.msg, 'ipPath "/bin/sh" is not allowed');
  assertEquals(t.ran.length, 0);
});

Deno.test("executeStep: a node policy scoped by namespace labels reads them like ADD does", async () => {
  const step = { attachment: ATT, value: '["ip route"]', commands: ["ip route"] };
  const scoped = (labels: Record<string, string>) => {
    const t = deps();
    t.deps.loadPolicy = () =>
      Promise.resolve(effectivePolicy({ namespaceLabels: { team: "net" } }, undefined));
    t.deps.namespaceLabels = (ns) => Promise.resolve(ns === "default" ? labels : {});
    return t;
  };
  const yes = scoped({ team: "net" });
  assertEquals((await executeStep(step, POD, yes.deps)).verdict, "applied");
  const no = scoped({});
  const r = await executeStep(step, POD, no.deps);
  assertEquals([r.verdict, no.ran.length], ["rejected", 0]);
  assertStringIncludes(r.error!.msg, "lacks the label team=net");
});

Deno.test("executeStep: a netns that is not a pod's (any spelling) or a UID-less pod runs nothing", async () => {
  for (
    const netns of [
      "//proc/self/ns/net",
      "/proc/42/ns/net",
      "proc/self/ns/net",
      "/var/run/netns/../../proc/1/ns/net",
    ]
  ) {
    const t = deps();
    const r = await executeStep(
      { attachment: { ...ATT, netns }, value: "ip route", commands: ["ip route"] },
      POD,
      t.deps,
    );
    assertEquals([r.verdict, r.error?.code, t.ran.length], ["error", 4, 0], netns);
    assertStringIncludes(r.error!.msg, `CNI_NETNS ${netns} `);
  }
  const t = deps();
  const r = await executeStep(
    { attachment: ATT, value: "ip route", commands: ["ip route"] },
    { ...POD, uid: "" },
    t.deps,
  );
  assertEquals([r.verdict, r.error?.code, t.ran.length], ["error", 102, 0]);
  assertStringIncludes(r.error!.msg, "pod default/p1 has no UID but ");
  assertStringIncludes(r.error!.msg, "UID uid-1: stale pod, nothing run");
});
