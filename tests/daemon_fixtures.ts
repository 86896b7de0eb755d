/**
 * Report fixtures for the daemon's tests.
 * @module
 */
import type { CommandResult } from "../src/exec/runner.ts";
import type { Report } from "../src/report/report.ts";

/** A command result with the given output and exit code. */
export function sampleCommand(over: Partial<CommandResult> = {}): CommandResult {
  return {
    command: "ip route",
    argv: ["route"],
    exitCode: 0,
    signal: null,
    timedOut: false,
    durationMs: 1.5,
    stdout: "default via 192.0.2.1 dev eth0\n",
    stderr: "",
    truncated: false,
    ...over,
  };
}

/** An ADD report for `namespace/name` (default `default/p1`), one successful command. */
export function sampleReport(over: Partial<Report> = {}): Report {
  return {
    v: 1,
    time: "2026-11-23T12:00:00.000Z",
    verb: "ADD",
    node: "node-a",
    pod: { namespace: "default", name: "p1", uid: "uid-1" },
    containerId: "ctr-1",
    netns: "/var/run/netns/cs-test",
    ifname: "net1",
    network: "test-chainsaw-chain",
    source: "runtime",
    detected: ["ip route"],
    commands: [sampleCommand()],
    verdict: "applied",
    durationMs: 12.5,
    ...over,
  };
}

/** A DEL report as the plugin sends it (no commands, verdict "nothing"). */
export function sampleDel(over: Partial<Report> = {}): Report {
  const r = sampleReport({
    verb: "DEL",
    detected: [],
    commands: [],
    verdict: "nothing",
    durationMs: 0,
    ...over,
  });
  if (!("source" in over)) delete r.source;
  return r;
}
