/**
 * Report fixtures for the daemon's tests.
 * @module
 */
import type { CommandResult } from "../src/exec/runner.ts";
import type { AttachmentTarget, ExecutorDeps } from "../src/exec/executor.ts";
import { defaultPolicy } from "../src/policy/default_policy.ts";
import type { Report } from "../src/report/report.ts";
import type { Attachment } from "../src/daemon/attachments/attachment_store.ts";
import type { CachedPod } from "../src/daemon/pods/pod_cache.ts";

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

/** A DEL-shaped report (no commands, verdict "nothing"): what an older plugin sent, still a valid report. */
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

/** Pod default/p1 (UID uid-1, Running) as the daemon's cache has it, with `over`. */
export function sampleCachedPod(over: Partial<CachedPod> = {}): CachedPod {
  return {
    namespace: "default",
    name: "p1",
    uid: "uid-1",
    resourceVersion: "7",
    phase: "Running",
    annotations: {},
    ...over,
  };
}

/** The stored attachment net1 (network net-a) of {@link sampleCachedPod} in /var/run/netns/cs-x, with `over`. */
export function sampleAttachment(over: Partial<Attachment> = {}): Attachment {
  return {
    containerId: "ctr-1",
    netns: "/var/run/netns/cs-x",
    ifname: "net1",
    network: "net-a",
    podUid: "uid-1",
    namespace: "default",
    name: "p1",
    applied: "",
    podInterfaces: ["eth0", "net1"],
    ...over,
  };
}

/** The executor's target: interface net1 of pod ns/p in netns /var/run/netns/x (on error: fail), with `over`. */
export function sampleTarget(over: Partial<AttachmentTarget> = {}): AttachmentTarget {
  return {
    containerId: "c1",
    netns: "/var/run/netns/x",
    ifname: "net1",
    network: "net-a",
    pod: { namespace: "ns", name: "p", uid: "u1" },
    podInterfaces: ["eth0", "net1"],
    onError: "fail",
    ...over,
  };
}

/**
 * The executor's dependencies for a runtime ADD on node n1 at 2026-12-01 under the default policy, the netns
 * present and every binary there; commands run with `run`; then `over`.
 */
export function sampleExecutorDeps(run: ExecutorDeps["run"], over: Partial<ExecutorDeps> = {}): ExecutorDeps {
  return {
    verb: "ADD",
    source: "runtime",
    node: "n1",
    now: () => new Date("2026-12-01T00:00:00Z"),
    loadPolicy: () => Promise.resolve(defaultPolicy()),
    run,
    netnsState: () => Promise.resolve("present"),
    fileExists: () => true,
    ...over,
  };
}
