/**
 * `chainsaw daemon`, `chainsaw install` and `chainsaw logs` as real processes under the shipped permission flags:
 * install (atomic, idempotent), the plugin kubeconfig and token rotation, reports from the socket to stdout, the
 * logs API and its follow stream, parallel senders, the plugin with the daemon alive and dead, shutdown, metrics.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { Cleanup, createNetns, requireRoot } from "./support/netns.ts";
import { kubeconfigToken, publishServiceAccount, TEST_CA as CA } from "./support/service_account.ts";
import { parseKubeconfig } from "../src/kube/kubeconfig.ts";
import { formatHuman, type Report } from "../src/report/report.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";
import { sampleCommand, sampleDel, sampleReport } from "./daemon_fixtures.ts";
import {
  type Daemon,
  ensureChainsaw,
  healthGet,
  postReport,
  runChainsaw,
  scratchDir,
  sleep,
  socketRequest,
  spawnChainsaw,
  startDaemon,
  waitFor,
} from "./daemon_harness.ts";

async function metric(
  d: Daemon,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return sampleValue((await healthGet(d, "/metrics")).text, name, labels);
}

async function stopped(d: Daemon): Promise<number> {
  return (await d.stop()).code;
}

Deno.test("daemon installs its own bundle, writes the plugin kubeconfig and rewrites it when the token rotates", async () => {
  await using cleanup = new Cleanup();
  const cs = await ensureChainsaw();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const bin = `${tmp.path}/opt/cni/bin`;
  const conf = `${tmp.path}/etc/cni/net.d`;
  const sa = `${tmp.path}/sa`;
  await Deno.mkdir(bin, { recursive: true });
  await publishServiceAccount(sa, "token-one");
  let source: string[] = [];
  if (!cs.bundle) {
    await Deno.writeTextFile(`${tmp.path}/plugin`, "#!/bin/sh\n");
    source = ["--source", `${tmp.path}/plugin`];
  }
  const d = await startDaemon(
    tmp.path,
    ["--cni-bin-dir", bin, "--cni-conf-dir", conf, "--service-account-dir", sa, ...source],
    { KUBERNETES_SERVICE_HOST: "fd00:10:96::1", KUBERNETES_SERVICE_PORT: "443" },
  );
  cleanup.defer(() => d.stop());

  const installed = `${bin}/chainsaw`;
  const expected = cs.bundle ?? `${tmp.path}/plugin`;
  assertEquals(await Deno.readFile(installed), await Deno.readFile(expected));
  assertEquals((await Deno.stat(installed)).mode! & 0o777, 0o755);

  const kc = `${conf}/chainsaw.d/chainsaw.kubeconfig`;
  await waitFor("readyz 200", async () => (await healthGet(d, "/readyz")).status === 200);
  assertEquals((await Deno.stat(kc)).mode! & 0o777, 0o600);
  const creds = await parseKubeconfig(await Deno.readTextFile(kc), kc);
  assertEquals([creds.server, creds.token, creds.caPem], ["https://[fd00:10:96::1]:443", "token-one", CA]);

  await publishServiceAccount(sa, "token-two");
  await waitFor(
    "the kubeconfig to carry the rotated token",
    async () => (await kubeconfigToken(kc)) === "token-two",
  );
  await waitFor(
    "the metric",
    async () => (await metric(d, "chainsaw_kubeconfig_syncs_total", { result: "written" })) === 2,
  );
  assertEquals(await stopped(d), 0);
  assertStringIncludes(d.stderr(), `wrote plugin kubeconfig ${kc}`);

  // A second start finds both files current.
  const d2 = await startDaemon(
    tmp.path,
    ["--cni-bin-dir", bin, "--cni-conf-dir", conf, "--service-account-dir", sa, ...source],
    { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
  );
  cleanup.defer(() => d2.stop());
  await waitFor("readyz 200", async () => (await healthGet(d2, "/readyz")).status === 200);
  assertStringIncludes(d2.stderr(), `${installed} is up to date`);
  assertEquals((await parseKubeconfig(await Deno.readTextFile(kc), kc)).server, "https://10.96.0.1:443");
  assertEquals(await stopped(d2), 0);
});

Deno.test("install is atomic: a reader polling the target never sees a partial file; identical is skipped", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const bin = `${tmp.path}/bin`;
  await Deno.mkdir(bin);
  const A = 0xaa, B = 0xbb;
  const sizeA = 40 * 1024 * 1024, sizeB = 48 * 1024 * 1024 + 123;
  await Deno.writeFile(`${tmp.path}/a`, new Uint8Array(sizeA).fill(A));
  await Deno.writeFile(`${tmp.path}/b`, new Uint8Array(sizeB).fill(B));
  const target = `${bin}/chainsaw`;

  let reading = true;
  let reads = 0;
  const problems: string[] = [];
  const reader = (async () => {
    while (reading) {
      let data: Uint8Array;
      try {
        data = await Deno.readFile(target);
      } catch {
        await sleep(1);
        continue;
      }
      reads++;
      const fill = data.length === sizeA ? A : data.length === sizeB ? B : -1;
      if (fill < 0) problems.push(`saw ${data.length} bytes`);
      else {
        for (let i = 0; i < data.length; i += 4093) {
          if (data[i] !== fill) {
            problems.push(`mixed content at ${i}`);
            break;
          }
        }
        if (data[data.length - 1] !== fill) problems.push("mixed content at the end");
      }
    }
  })();
  cleanup.defer(() => {
    reading = false;
    return reader;
  });

  const args = (
    src: string,
  ) => ["install", "--cni-bin-dir", bin, "--source", `${tmp.path}/${src}`, "--no-kubeconfig"];
  const first = await runChainsaw(args("a"));
  assertEquals(first.code, 0, first.stderr);
  assertStringIncludes(first.stdout, `installed ${target}`);
  await waitFor("the reader to see A", () => reads > 0);
  const second = await runChainsaw(args("b"));
  assertEquals(second.code, 0, second.stderr);
  const ino = (await Deno.stat(target)).ino;
  const third = await runChainsaw(args("b"));
  assertStringIncludes(third.stdout, `${target} is up to date`);
  assertEquals((await Deno.stat(target)).ino, ino);
  const readsSoFar = reads;
  await waitFor("the reader to read B", () => reads > readsSoFar);
  reading = false;
  await reader;
  assertEquals(problems, []);
  assertEquals((await Deno.stat(target)).mode! & 0o777, 0o755);
  assertEquals([...Deno.readDirSync(bin)].map((e) => e.name), ["chainsaw"]); // no temporary files left

  // install also writes the kubeconfig once when it runs in a pod.
  const sa = `${tmp.path}/sa`;
  await publishServiceAccount(sa, "install-token");
  const conf = `${tmp.path}/net.d`;
  const withKc = await runChainsaw(
    [
      "install",
      "--cni-bin-dir",
      bin,
      "--source",
      `${tmp.path}/b`,
      "--cni-conf-dir",
      conf,
      "--service-account-dir",
      sa,
    ],
    { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "6443" },
  );
  assertEquals(withKc.code, 0, withKc.stderr);
  assertEquals(await kubeconfigToken(`${conf}/chainsaw.d/chainsaw.kubeconfig`), "install-token");
  const bad = await runChainsaw([
    "install",
    "--cni-bin-dir",
    `${tmp.path}/nope`,
    "--source",
    `${tmp.path}/b`,
  ]);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "CNI bin dir");
});

Deno.test("reports on the socket go to stdout (human format), the logs API, `chainsaw logs` and the metrics", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"]);
  cleanup.defer(() => d.stop());
  assertEquals((await Deno.stat(d.socket)).mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(`${tmp.path}/sock`)).mode! & 0o777, 0o700);
  assertEquals((await socketRequest(d.socket, "/healthz")).status, 200);
  assertEquals((await healthGet(d, "/readyz")).status, 200);

  const add = sampleReport({
    containerId: "ctr-add",
    commands: [
      sampleCommand(),
      sampleCommand({
        command: "ip route add 192.0.3.0/24 dev net1",
        exitCode: 2,
        stderr: "RTNETLINK answers: File exists\n",
      }),
    ],
    verdict: "failed",
    error: { code: 102, msg: "command failed" },
  });
  const del = sampleDel({ containerId: "ctr-add" });
  const other = sampleReport({
    containerId: "ctr-other",
    pod: { namespace: "kube-system", name: "x", uid: "u2" },
  });
  for (const r of [add, del, other]) assertEquals(await postReport(d.socket, r), 204);
  assertEquals(await postReport(d.socket, "{not json"), 400);
  assertEquals(await postReport(d.socket, { ...add, verdict: "weird" }), 400);
  assertEquals(await postReport(d.socket, sampleReport({ detected: ["x".repeat(1024 * 1024)] })), 413);

  await waitFor("three reports on stdout", () => d.stdout().includes(formatHuman(other)));
  assertEquals(d.stdout(), formatHuman(add) + formatHuman(del) + formatHuman(other));

  const logs = await socketRequest(d.socket, "/v1/logs?pod=default/p1");
  assertEquals(logs.headers.get("content-type"), "application/x-ndjson");
  assertEquals(logs.text.trimEnd().split("\n").map((l) => JSON.parse(l) as Report), [add, del]);

  const cli = await runChainsaw(["logs", "--socket", d.socket]);
  assertEquals([cli.code, cli.stdout], [0, formatHuman(add) + formatHuman(del) + formatHuman(other)]);
  const cliJson = await runChainsaw([
    "logs",
    "--socket",
    d.socket,
    "--json",
    "--pod",
    "default/p1",
    "--limit",
    "1",
  ]);
  assertEquals(cliJson.stdout, JSON.stringify(del) + "\n");
  const noDaemon = await runChainsaw(["logs", "--socket", `${tmp.path}/sock/none.sock`]);
  assertEquals(noDaemon.code, 1);
  assertStringIncludes(noDaemon.stderr, "cannot reach the daemon");

  assertEquals(await metric(d, "chainsaw_invocations_total", { verb: "ADD", result: "failed" }), 1);
  assertEquals(await metric(d, "chainsaw_invocations_total", { verb: "ADD", result: "applied" }), 1);
  assertEquals(await metric(d, "chainsaw_invocations_total", { verb: "DEL", result: "nothing" }), 1);
  assertEquals(await metric(d, "chainsaw_commands_total", { result: "ok" }), 2);
  assertEquals(await metric(d, "chainsaw_commands_total", { result: "failed" }), 1);
  assertEquals(await metric(d, "chainsaw_reports_dropped_total", { reason: "malformed" }), 2);
  assertEquals(await metric(d, "chainsaw_reports_dropped_total", { reason: "too_large" }), 1);
  assertEquals(await metric(d, "chainsaw_invocation_duration_seconds_count", { verb: "ADD" }), 2);
  assertEquals(await metric(d, "chainsaw_build_info", { version: "0.1.0" }), 1);
  assertEquals(await metric(d, "chainsaw_ready"), 1);
  const exposition = (await healthGet(d, "/metrics")).text;
  for (const secret of ["RTNETLINK", "default/p1", "p1", "192.0.3.0", "ctr-add"]) {
    assert(!exposition.includes(secret), `metrics leak ${secret}`);
  }
  assertEquals(await stopped(d), 0);
});

Deno.test("JSON log format prints one JSON object per line", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig", "--log-format", "json"]);
  cleanup.defer(() => d.stop());
  const r = sampleReport();
  assertEquals(await postReport(d.socket, r), 204);
  await waitFor("the JSON line", () => d.stdout().endsWith("\n"));
  assertEquals(d.stdout(), JSON.stringify(r) + "\n");
  assertEquals(await stopped(d), 0);
  for (const line of d.stderr().trimEnd().split("\n")) assert(typeof JSON.parse(line).msg === "string", line);
});

Deno.test("the logs follow stream and `chainsaw logs -f` deliver new reports as they arrive", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"]);
  cleanup.defer(() => d.stop());
  await postReport(d.socket, sampleReport({ containerId: "before" }));

  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
  cleanup.defer(() => client.close());
  const res = await fetch("http://chainsaw/v1/logs?follow=1&pod=default/p1", { client } as RequestInit);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  cleanup.defer(() => reader.cancel().catch(() => {}));
  let streamed = "";
  const nextLine = async () => {
    while (!streamed.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      streamed += value;
    }
    const line = streamed.slice(0, streamed.indexOf("\n"));
    streamed = streamed.slice(line.length + 1);
    return JSON.parse(line) as Report;
  };
  assertEquals((await nextLine()).containerId, "before");

  const follower = await spawnChainsaw(["logs", "-f", "--socket", d.socket, "--limit", "0"]);
  cleanup.defer(() => follower.stop(1000));
  await waitFor("two followers", async () => (await metric(d, "chainsaw_log_followers")) === 2);

  await postReport(
    d.socket,
    sampleReport({ containerId: "elsewhere", pod: { namespace: "x", name: "y", uid: "" } }),
  );
  const fresh = sampleReport({ containerId: "after" });
  await postReport(d.socket, fresh);
  assertEquals((await nextLine()).containerId, "after"); // the other pod's report was filtered out
  await waitFor("the CLI to print the new report", () => follower.stdout().includes(formatHuman(fresh)));
  assert(!follower.stdout().includes("container=before"), "--limit 0 printed the backlog");

  // Shutdown ends the streams: the CLI exits 0.
  assertEquals(await stopped(d), 0);
  assertEquals((await follower.status).code, 0);
});

Deno.test("20 senders in parallel: every record printed once, whole, and counted", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"]);
  cleanup.defer(() => d.stop());
  const SENDERS = 20, EACH = 10;
  // Long multi-line output (well over PIPE_BUF) whose every line names its record.
  const output = (id: string) =>
    Array.from({ length: 40 }, (_, i) => `mark=${id} line ${i} ${"z".repeat(100)}`).join("\n") + "\n";
  const statuses = await Promise.all(Array.from({ length: SENDERS }, async (_, s) => {
    const got: number[] = [];
    using client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
    for (let i = 0; i < EACH; i++) {
      const id = `s${s}-r${i}`;
      got.push(
        await postReport(
          d.socket,
          sampleReport({ containerId: id, commands: [sampleCommand({ stdout: output(id) })] }),
          client,
        ),
      );
    }
    return got;
  }));
  assertEquals(statuses.flat().filter((s) => s !== 204), []);
  const total = SENDERS * EACH;
  await waitFor("all records on stdout", () => (d.stdout().match(/^Result: /gm) ?? []).length === total);

  const records = d.stdout().split(/(?=^\S+ ADD default\/p1 container=)/m);
  assertEquals(records.length, total);
  const seen = new Set<string>();
  for (const rec of records) {
    const id = /container=(\S+)/.exec(rec)![1];
    seen.add(id);
    const marks = [...rec.matchAll(/mark=(\S+)/g)].map((m) => m[1]);
    assertEquals(marks.length, 40, `record ${id} has ${marks.length} output lines`);
    assert(marks.every((m) => m === id), `record ${id} is interleaved with another`);
    assertMatch(rec, /\nResult: applied in 12\.5 ms\n$/);
  }
  assertEquals(seen.size, total);
  const ring = await socketRequest(d.socket, `/v1/logs?limit=${total}`);
  assertEquals(new Set(ring.text.trimEnd().split("\n").map((l) => JSON.parse(l).containerId)).size, total);
  assertEquals(await metric(d, "chainsaw_invocations_total", { verb: "ADD", result: "applied" }), total);
  assertEquals(await metric(d, "chainsaw_commands_total", { result: "ok" }), total);
  assertEquals(await metric(d, "chainsaw_log_ring_reports"), total);
  assertEquals(await stopped(d), 0);
});

Deno.test("SIGTERM: readyz answers 503, queued reports are flushed, listeners close, exit 0", async () => {
  /** The shutdown delay: readyz answers 503 for this long, which the test must see under a loaded machine. */
  const DELAY_S = 3;
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const d = await startDaemon(tmp.path, [
    "--no-install",
    "--no-kubeconfig",
    "--shutdown-delay-seconds",
    String(DELAY_S),
  ]);
  cleanup.defer(() => d.stop());
  assertEquals((await healthGet(d, "/readyz")).status, 200);
  const last = sampleReport({ containerId: "last-one" });
  assertEquals(await postReport(d.socket, last), 204);
  let exited = false;
  void d.status.then(() => exited = true);
  const t0 = performance.now();
  d.kill("SIGTERM");
  // The 503 is polled for as long as the daemon runs (not against a clock): the delay is long enough for a loaded
  // machine to see it, and a daemon that never answers 503 exits with the poll still waiting.
  let r = { status: 0, text: "" };
  let healthz = 0;
  await waitFor("readyz 503 before the daemon exits", async () => {
    if (exited) throw new Error(`the daemon exited before readyz answered 503:\n${d.stderr()}`);
    r = await healthGet(d, "/readyz");
    if (r.status !== 503) return false;
    healthz = (await healthGet(d, "/healthz")).status;
    return true;
  }, 30_000);
  assertStringIncludes(r.text, "shutting down");
  assertEquals(healthz, 200, "liveness holds while draining");
  const status = await d.status;
  assertEquals(status.code, 0);
  // The delay was kept (this can only fail if it was not: the clock starts before the signal is sent). No upper
  // bound on wall time: that the shutdown ended on its own, not by the hard stop, is in the log.
  const took = performance.now() - t0;
  assert(took >= DELAY_S * 1000 - 100, `shutdown took ${Math.round(took)} ms`);
  assertStringIncludes(d.stderr(), "stopped (exit 0)");
  assert(!d.stderr().includes("shutdown took too long"), d.stderr());
  assertStringIncludes(d.stdout(), formatHuman(last));
  await waitFor("the socket file to be gone", async () => {
    try {
      await Deno.lstat(d.socket);
      return false;
    } catch {
      return true;
    }
  }, 1000);
  let refused = false;
  try {
    await healthGet(d, "/healthz");
  } catch {
    refused = true;
  }
  assert(refused, "the health port still answers after exit");
});

Deno.test("a bad flag or an occupied health port fails the start with a message", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const bad = await runChainsaw(["daemon", "--no-install", "--no-kubeconfig", "--health-addr", "nowhere"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--health-addr");
  const noEnv = await runChainsaw([
    "daemon",
    "--no-install",
    "--socket",
    `${tmp.path}/s/x.sock`,
    "--health-addr",
    "127.0.0.1:0",
  ]);
  assertEquals(noEnv.code, 1);
  assertStringIncludes(noEnv.stderr, "--no-kubeconfig");

  const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"]);
  cleanup.defer(() => d.stop());
  const taken = d.healthUrl.replace("http://", "");
  const clash = await runChainsaw(
    [
      "daemon",
      "--no-install",
      "--no-kubeconfig",
      "--socket",
      `${tmp.path}/other/x.sock`,
      "--health-addr",
      taken,
    ],
  );
  assertEquals(clash.code, 1);
  assertMatch(clash.stderr, /address already in use|AddrInUse/i);
  assertEquals(await stopped(d), 0);
});

Deno.test({
  name:
    "the real plugin reports over the socket; with the daemon killed its ADD and DEL still succeed (stderr)",
  ...requireRoot("the plugin-with-daemon test"),
  fn: async () => {
    await using cleanup = new Cleanup();
    const cs = await ensureChainsaw();
    if (!cs.bundle) {
      console.warn("SKIPPED: the plugin cannot be bundled yet");
      return;
    }
    const tmp = await scratchDir();
    cleanup.defer(tmp.remove);
    const ns = await createNetns("daemon");
    cleanup.defer(() => ns.delete());
    const socket = `${tmp.path}/sock/chainsaw.sock`;
    const prevResult = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "net1", sandbox: ns.path }],
      ips: [{ address: "192.0.2.10/24", interface: 0 }],
    };
    const conf = (verb: string) =>
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "test-chainsaw-chain",
        type: "chainsaw",
        daemonSocket: socket,
        runtimeConfig: {
          "io.kubernetes.cri.pod-annotations": { "k8s.v1.cni.cncf.io/chainsaw": '["ip route"]' },
        },
        ...(verb === "ADD" ? { prevResult } : {}),
      });
    const plugin = (verb: string, id: string) =>
      runChainsaw([], {
        CNI_COMMAND: verb,
        CNI_CONTAINERID: id,
        CNI_NETNS: ns.path,
        CNI_IFNAME: "net1",
        CNI_PATH: "/usr/lib/cni",
        CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=plugin-pod;K8S_POD_UID=uid-9",
        NODE_NAME: "node-test",
      }, conf(verb));

    // Daemon up: the ADD (run by the daemon) lands on its stdout and registers the attachment; the DEL makes
    // the daemon forget it (an explicit message: a DEL writes no report). The daemon names its own node in the
    // reports of the ADDs it runs ($NODE_NAME, as the DaemonSet's downward API sets it).
    const d = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"], { NODE_NAME: "node-test" });
    cleanup.defer(() => d.stop());
    const add = await plugin("ADD", "ctr-alive");
    assertEquals(add.code, 0, add.stdout + add.stderr);
    assertEquals(JSON.parse(add.stdout), prevResult);
    assertEquals(await metric(d, "chainsaw_attachments"), 1);
    const del = await plugin("DEL", "ctr-alive");
    assertEquals(del.code, 0, del.stdout + del.stderr);
    await waitFor("the DEL's forget", async () => (await metric(d, "chainsaw_attachments")) === 0);
    assertEquals(/DEL default\/plugin-pod/.test(d.stdout()), false, "a DEL writes no report");
    assertMatch(
      d.stdout(),
      /ADD default\/plugin-pod container=ctr-alive netns=\S+ ifname=net1 network=test-chainsaw-chain/,
    );
    assertStringIncludes(d.stdout(), "Detected commands: [ip route]\nRunning ip route ===============\n");
    const logs = await socketRequest(d.socket, "/v1/logs?pod=default/plugin-pod");
    const reports = logs.text.trimEnd().split("\n").map((l) => JSON.parse(l) as Report);
    assertEquals(reports.map((r) => [r.verb, r.verdict, r.node, r.pod?.uid]), [
      ["ADD", "applied", "node-test", "uid-9"],
    ]);
    assertEquals(await metric(d, "chainsaw_invocations_total", { verb: "ADD", result: "applied" }), 1);

    // Daemon killed: the socket file stays behind, the plugin falls back to stderr and succeeds.
    d.kill("SIGKILL");
    await d.status;
    assert((await Deno.lstat(socket)).isSocket, "a SIGKILLed daemon leaves its socket");
    const add2 = await plugin("ADD", "ctr-dead");
    assertEquals(add2.code, 0, add2.stdout + add2.stderr);
    assertEquals(JSON.parse(add2.stdout), prevResult);
    assertStringIncludes(add2.stderr, "ADD default/plugin-pod container=ctr-dead");
    assertStringIncludes(add2.stderr, "Result: applied");
    const del2 = await plugin("DEL", "ctr-dead");
    assertEquals(del2.code, 0, del2.stdout + del2.stderr);

    // A new daemon replaces the stale socket and takes reports again.
    const d2 = await startDaemon(tmp.path, ["--no-install", "--no-kubeconfig"]);
    cleanup.defer(() => d2.stop());
    const add3 = await plugin("ADD", "ctr-back");
    assertEquals(add3.code, 0, add3.stdout + add3.stderr);
    await waitFor("the ADD on the new daemon", () => d2.stdout().includes("container=ctr-back"));
    assertEquals(await stopped(d2), 0);
  },
});

Deno.test("daemon mirrors the policy ConfigMap to the host's node policy dir, refusing an invalid edit", async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  const cm = `${tmp.path}/configmap`;
  const host = `${tmp.path}/host/etc/cni/chainsaw`;
  await Deno.mkdir(cm, { recursive: true });
  await Deno.writeTextFile(`${cm}/policy.yaml`, 'allow:\n  - "* show|get"\n');
  const d = await startDaemon(tmp.path, [
    "--no-install",
    "--no-kubeconfig",
    "--no-pod-watch",
    "--no-events",
    "--policy-configmap-dir",
    cm,
    "--policy-dir",
    host,
  ]);
  cleanup.defer(() => d.stop());
  const hostPolicy = async () => JSON.parse(await Deno.readTextFile(`${host}/policy.json`));
  assertEquals(await hostPolicy(), { allow: ["* show|get"] }, "written before the daemon serves");
  // No wait needed: the line is written on stderr before the health port's, which startDaemon has read.
  assertStringIncludes(d.stderr(), `wrote node policy ${host}/policy.json`);
  await Deno.writeTextFile(`${cm}/policy.yaml`, 'allow:\n  - "route frobnicate"\n');
  await waitFor(
    "the invalid edit to be refused",
    () => d.stderr().includes("node policy not updated"),
    15_000,
  );
  assertEquals(await hostPolicy(), { allow: ["* show|get"] }, "the last good policy stays");
  assertEquals(((await metric(d, "chainsaw_policy_syncs_total", { result: "error" })) ?? 0) >= 1, true);
});
