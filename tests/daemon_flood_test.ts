/**
 * The daemon under attack, as a real process under the shipped permission flags with a lowered RLIMIT_NOFILE
 * (`prlimit --pid`): floods of idle connections on the health port and the report socket beyond the per-listener
 * cap and beyond the fd limit (accept fails with EMFILE), slowloris heads, bursts of complete requests, a client
 * still writing a chunked body, and a `logs -f` follower that stops reading while large reports stream in. The
 * daemon must never exit, keep serving real clients on both listeners during a flood (the oldest waiting
 * connection makes room; with all busy, new ones wait in the backlog), run a real ADD handed to it during a
 * flood, recover once a flood ends, count every eviction, and keep its memory bounded.
 *
 * Figures (time to serve a request during a flood, a burst's completion) are printed as `flood figure: …`,
 * never asserted.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { Cleanup, createNetns, requireRoot, run } from "./support/netns.ts";
import { ANNOTATION } from "./support/chain_fixture.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";
import { type AddExchange, parseHttpResponse, requestAdd } from "../src/wire/client.ts";
import type { AddRequest } from "../src/wire/add.ts";
import { sampleCommand, sampleReport } from "./daemon_fixtures.ts";
import {
  childPath,
  type Daemon,
  ensureChainsaw,
  postReport,
  scratchDir,
  spawnChainsaw,
  startBareDaemon,
  startDaemonOnApi,
  waitFor,
  waitForOutput,
} from "./daemon_harness.ts";

const encoder = new TextEncoder();

type Target = { hostname: string; port: number } | { path: string };

function tcpTarget(d: { healthUrl: string }): Target {
  const u = new URL(d.healthUrl);
  return { hostname: u.hostname, port: Number(u.port) };
}

function connect(t: Target): Promise<Deno.Conn> {
  return "path" in t ? Deno.connect({ transport: "unix", path: t.path }) : Deno.connect(t);
}

/** One `Connection: close` request on a fresh connection; rejects when the daemon closes without an answer. */
async function request(
  t: Target,
  path: string,
  method = "GET",
  body?: string,
): Promise<{ status: number; text: string }> {
  const conn = await connect(t);
  try {
    const bytes = body === undefined ? new Uint8Array() : encoder.encode(body);
    const head = `${method} ${path} HTTP/1.1\r\nHost: chainsaw\r\nConnection: close\r\n` +
      (body === undefined ? "" : `Content-Type: application/json\r\nContent-Length: ${bytes.length}\r\n`) +
      "\r\n";
    await conn.write(encoder.encode(head));
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
    const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    chunks.reduce((off, c) => (all.set(c, off), off + c.length), 0);
    if (all.length === 0) throw new Error(`no answer to ${path}: the daemon closed the connection`);
    const res = parseHttpResponse(all);
    return { status: res.status, text: res.text() };
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

async function metric(d: { healthUrl: string }, name: string, labels: Record<string, string> = {}) {
  return sampleValue((await request(tcpTarget(d), "/metrics")).text, name, labels) ?? 0;
}

/** Opens `n` idle connections (stops at the first that cannot be made). */
async function flood(t: Target, n: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) conns.push(await connect(t));
  return conns;
}

function closeAll(conns: Deno.Conn[]): void {
  for (const c of conns.splice(0)) {
    try {
      c.close();
    } catch {
      // closed by the daemon
    }
  }
}

async function lowerFdLimit(pid: number, n: number): Promise<void> {
  const r = await run(["prlimit", `--pid=${pid}`, `--nofile=${n}:${n}`]);
  assertEquals(r.code, 0, `prlimit failed: ${r.stderr}`);
  const limits = await Deno.readTextFile(`/proc/${pid}/limits`);
  assert(new RegExp(`Max open files\\s+${n}\\s+${n}`).test(limits), limits);
}

function alive(d: Daemon): () => boolean {
  let exited = false;
  d.status.then(() => exited = true);
  return () => !exited;
}

/**
 * A daemon (no API server) with `args` and its RLIMIT_NOFILE lowered to `nofile`: its two listeners as targets,
 * whether it still runs, and a list of held connections closed at cleanup.
 */
async function floodableDaemon(cleanup: Cleanup, nofile: number, args: string[]): Promise<{
  d: Daemon;
  running: () => boolean;
  health: Target;
  socket: Target;
  held: Deno.Conn[];
}> {
  const d = await startBareDaemon(cleanup, args);
  const running = alive(d);
  await lowerFdLimit(d.child.pid, nofile);
  const held: Deno.Conn[] = [];
  cleanup.defer(() => closeAll(held));
  return { d, running, health: tcpTarget(d), socket: { path: d.socket }, held };
}

const NODE = "node-flood";
/** The ADD's list: one route on the pod's interface, so that a second run would fail ("File exists"). */
const ADD_ANNOTATION = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE"]';

/**
 * A daemon on the fake API server (so that it runs ADDs itself) holding pod default/flood-N for each N of
 * `pods`, with `args` and its RLIMIT_NOFILE lowered to `nofile`; as {@link floodableDaemon}.
 */
async function floodableApiDaemon(cleanup: Cleanup, nofile: number, pods: number, args: string[]): Promise<{
  d: Daemon;
  running: () => boolean;
  health: Target;
  socket: Target;
  held: Deno.Conn[];
}> {
  const api = await startFakeApiServer({
    pods: Array.from({ length: pods }, (_, i) =>
      makePod({
        namespace: "default",
        name: `flood-${i}`,
        uid: `uid-flood-${i}`,
        nodeName: NODE,
        annotations: { [ANNOTATION]: ADD_ANNOTATION },
      })),
  });
  cleanup.defer(() => api.close(), "fake apiserver");
  const { daemon: d } = await startDaemonOnApi(cleanup, api, { node: NODE, args });
  const running = alive(d);
  await lowerFdLimit(d.child.pid, nofile);
  const held: Deno.Conn[] = [];
  cleanup.defer(() => closeAll(held));
  return { d, running, health: tcpTarget(d), socket: { path: d.socket }, held };
}

/**
 * The plugin's ADD of pod default/flood-`i` (interface eth0 in a fresh netns) handed to the daemon, as the
 * plugin does it; resolves with the exchange (and how long it took) and the netns's eth0 routes afterwards.
 */
async function realAdd(
  cleanup: Cleanup,
  d: Daemon,
  i: number,
): Promise<{ x: AddExchange; ms: number; routes: string }> {
  const ns = await createNetns("bflood");
  cleanup.defer(() => ns.delete(), `netns ${ns.name}`);
  for (
    const argv of [
      ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"],
      ["ip", "link", "set", "eth0p", "up"],
      ["ip", "link", "set", "eth0", "up"],
    ]
  ) {
    const r = await ns.exec(argv);
    assertEquals(r.code, 0, r.stderr);
  }
  const req: AddRequest = {
    env: {
      containerId: `ctr-flood-${i}`,
      netns: ns.path,
      ifname: "eth0",
      args: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=flood-${i};K8S_POD_UID=uid-flood-${i}`,
    },
    network: "flood-net",
    cniVersion: "1.0.0",
    conf: {},
    pod: { namespace: "default", name: `flood-${i}`, uid: `uid-flood-${i}` },
    podInterfaces: ["eth0"], // no runtime annotations: the daemon takes the pod's from its cache
  };
  const t0 = performance.now();
  const x = await requestAdd(d.socket, req, 60_000);
  const ms = performance.now() - t0;
  const routes = await ns.exec(["ip", "-4", "route", "show", "dev", "eth0"]);
  return { x, ms, routes: routes.stdout };
}

/** The ADD ran in the daemon, once, without error: its route is in the pod's netns. */
function assertRanOnce(add: { x: AddExchange; ms: number; routes: string }, during: string): void {
  assertEquals(add.x, { state: "ran", answer: { ran: true } }, `the ADD during ${during}`);
  assertEquals(add.routes.match(/^198\.51\.100\.0\/25 /gm)?.length, 1, JSON.stringify(add));
}

/** Opens `n` connections that each send part of a request head and never the rest (slowloris). */
async function slowloris(t: Target, n: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  const part = encoder.encode("POST /v1/reports HTTP/1.1\r\nHost: chainsaw\r\nX-Slow: ");
  for (let i = 0; i < n; i++) {
    const c = await connect(t);
    conns.push(c);
    await c.write(part).catch(() => 0); // an evicted one may already be gone
  }
  return conns;
}

/** Milliseconds `fn` took, and its result. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function figure(text: string): void {
  console.log(`flood figure: ${text}`);
}

Deno.test({
  name:
    "idle floods beyond the cap: each listener still serves (the oldest idle connection makes room), evictions counted",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  const { d, running, health, socket, held } = await floodableDaemon(cleanup, 256, [
    "--health-max-connections",
    "24",
    "--socket-max-connections",
    "24",
    "--header-timeout-seconds",
    "0.3",
    "--idle-timeout-seconds",
    "120",
  ]);

  // 1. The health port flooded with 300 idle connections (more than the fd limit): both listeners serve.
  held.push(...await flood(health, 300));
  const healthz = await timed(() => request(health, "/healthz"));
  assertEquals(healthz.value.status, 200);
  figure(
    `/healthz during a 300-connection idle flood of the health port (cap 24): ${healthz.ms.toFixed(0)} ms`,
  );
  assertEquals((await request(socket, "/healthz")).status, 200);
  assertEquals(await postReport(d.socket, sampleReport({ containerId: "during-health-flood" })), 204);
  closeAll(held);
  assert(await metric(d, "chainsaw_http_connections_evicted_total", { listener: "health" }) >= 1);

  // 2. The report socket flooded: reports are still taken, /healthz answers on TCP.
  held.push(...await flood(socket, 300));
  const report = await timed(() =>
    request(socket, "/v1/reports", "POST", JSON.stringify(sampleReport({ containerId: "after-flood" })))
  );
  assertEquals(report.value.status, 204);
  figure(`a report during a 300-connection idle flood of the socket (cap 24): ${report.ms.toFixed(0)} ms`);
  assertEquals((await request(health, "/healthz")).status, 200);
  assert(await metric(d, "chainsaw_http_connections", { listener: "socket" }) <= 25);
  assert(await metric(d, "chainsaw_http_connections_evicted_total", { listener: "socket" }) >= 1);
  closeAll(held);

  // 3. Slowloris: a head never finished is closed by the header timeout, on both listeners.
  for (const t of [health, socket]) {
    const c = await connect(t);
    cleanup.defer(() => closeAll([c]));
    await c.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: chainsaw\r\nX-Slow: "));
    assertEquals(await c.read(new Uint8Array(16)), null, "a slowloris head was kept open");
  }
  assertEquals(await metric(d, "chainsaw_http_timeouts_total", { listener: "health", phase: "header" }), 1);
  assertEquals(await metric(d, "chainsaw_http_timeouts_total", { listener: "socket", phase: "header" }), 1);

  // 4. A malformed head is refused with 400 and counted; the logs still show both reports.
  const bad = await request(health, "/x y");
  assertEquals(bad.status, 400);
  assert(await metric(d, "chainsaw_http_bad_requests_total", { listener: "health" }) >= 1);
  const logs = await request(socket, "/v1/logs");
  assertStringIncludes(logs.text, "during-health-flood");
  assertStringIncludes(logs.text, "after-flood");
  assert(running(), "the daemon exited");
  assertEquals((await d.stop()).code, 0);
});

Deno.test({
  name: "accept failing with EMFILE never ends the daemon; idle connections time out; it recovers",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  // Caps far above the fd limit: the floods exhaust the process's descriptors.
  const { d, running, health, socket, held } = await floodableDaemon(cleanup, 128, [
    "--health-max-connections",
    "5000",
    "--socket-max-connections",
    "5000",
    "--idle-timeout-seconds",
    "1",
  ]);

  for (const [listener, t] of [["health", health], ["socket", socket]] as const) {
    held.push(...await flood(t, 200));
    // The held connections time out (idle), the backlog drains into new descriptors, accept fails again ...
    await waitFor(
      `/healthz after the ${listener} flood`,
      () => request(health, "/healthz").then((r) => r.status === 200, () => false),
      30_000,
    );
    closeAll(held);
    await waitFor(
      `a report after the ${listener} flood`,
      () =>
        request(
          socket,
          "/v1/reports",
          "POST",
          JSON.stringify(sampleReport({ containerId: `after-${listener}` })),
        )
          .then((r) => r.status === 204, () => false),
      30_000,
    );
    assert(
      await metric(d, "chainsaw_http_accept_errors_total", { listener }) > 0,
      `no accept error on ${listener}`,
    );
    assert(running(), `the daemon exited during the ${listener} flood`);
  }
  assert(await metric(d, "chainsaw_http_timeouts_total", { listener: "health", phase: "idle" }) > 0);
  // The log line travels on stderr, apart from the metrics that showed the accept errors.
  await waitForOutput("the accept error's log line", d.stderr, "accept failed: Too many open files");
  assertEquals((await d.stop()).code, 0);
});

Deno.test({
  name:
    "slowloris: 300 partial heads on each listener, a complete request is still served on both, and a real ADD runs",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  const { d, running, health, socket, held } = await floodableApiDaemon(cleanup, 256, 3, [
    "--health-max-connections",
    "24",
    "--socket-max-connections",
    "24",
  ]);

  // The health port: /healthz answers 200 (the kubelet's probe), the socket serves an ADD meanwhile.
  held.push(...await slowloris(health, 300));
  const healthz = await timed(() => request(health, "/healthz"));
  assertEquals(healthz.value.status, 200, healthz.value.text);
  figure(`/healthz after 300 slowloris heads on the health port (cap 24): ${healthz.ms.toFixed(0)} ms`);
  assertRanOnce(await realAdd(cleanup, d, 0), "the health port's slowloris flood");

  // The socket: a report is taken (204), and a real ADD runs in the daemon.
  held.push(...await slowloris(socket, 300));
  const report = await timed(() =>
    request(socket, "/v1/reports", "POST", JSON.stringify(sampleReport({ containerId: "in-slowloris" })))
  );
  assertEquals(report.value.status, 204, report.value.text);
  figure(`a report after 300 slowloris heads on the socket (cap 24): ${report.ms.toFixed(0)} ms`);
  const add = await realAdd(cleanup, d, 1);
  assertRanOnce(add, "the socket's slowloris flood");
  figure(`a real ADD after 300 slowloris heads on the socket (cap 24): ${add.ms.toFixed(0)} ms`);
  assertEquals((await request(health, "/healthz")).status, 200);

  assert(await metric(d, "chainsaw_http_connections_evicted_total", { listener: "health" }) >= 300 - 24);
  assert(await metric(d, "chainsaw_http_connections_evicted_total", { listener: "socket" }) >= 300 - 24);
  closeAll(held);
  const logs = await request(socket, "/v1/logs?limit=1000");
  assertStringIncludes(logs.text, "in-slowloris");
  assert(running(), "the daemon exited");
  assertEquals((await d.stop()).code, 0);
});

Deno.test({
  name:
    "a burst of 1000 complete reports on the socket: every one 204 (back-pressure, not refusal), an ADD among them runs",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  const { d, running, socket } = await floodableApiDaemon(cleanup, 256, 1, [
    "--health-max-connections",
    "24",
    "--socket-max-connections",
    "24",
  ]);
  const bodies = Array.from(
    { length: 1000 },
    (_, i) => JSON.stringify(sampleReport({ containerId: `burst-${i}` })),
  );
  const burst = await timed(async () => {
    const sent = bodies.map((b) =>
      request(socket, "/v1/reports", "POST", b).then((r) => r.status, (e) => String(e))
    );
    const add = realAdd(cleanup, d, 0);
    return { statuses: await Promise.all(sent), add: await add };
  });
  const counts: Record<string, number> = {};
  for (const s of burst.value.statuses) counts[s] = (counts[s] ?? 0) + 1;
  assertEquals(counts, { 204: 1000 });
  assertRanOnce(burst.value.add, "the burst");
  figure(`a real ADD in the burst: ${burst.value.add.ms.toFixed(0)} ms`);
  figure(`1000 parallel reports on the socket (cap 24), all answered: ${burst.ms.toFixed(0)} ms`);
  // Every report was taken (the ADD's own report is one more).
  assert(await metric(d, "chainsaw_invocations_total", { verb: "ADD", result: "applied" }) >= 1000);
  assert(await metric(d, "chainsaw_http_accept_paused_seconds_total", { listener: "socket" }) > 0);
  assertEquals(await metric(d, "chainsaw_http_connections_evicted_total", { listener: "socket" }), 0);
  assert(running(), "the daemon exited");
  assertEquals((await d.stop()).code, 0);
});

Deno.test({
  name: "a chunked body is refused with 411 and a lingering close: a client still writing reads the answer",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  const { d, running, socket } = await floodableDaemon(cleanup, 256, []);
  const c = await connect(socket);
  cleanup.defer(() => closeAll([c]));
  // A client that writes its whole request before it reads: 512 KiB of chunks, more than the socket buffers.
  await c.write(encoder.encode(
    "POST /v1/reports HTTP/1.1\r\nHost: chainsaw\r\nContent-Type: application/json\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n",
  ));
  const chunk = encoder.encode(`4000\r\n${" ".repeat(0x4000)}\r\n`);
  for (let i = 0; i < 32; i++) {
    for (let off = 0; off < chunk.length;) off += await c.write(chunk.subarray(off));
  }
  await c.write(encoder.encode("0\r\n\r\n"));
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await c.read(buf)) !== null;) text += new TextDecoder().decode(buf.subarray(0, n));
  assertStringIncludes(text, "HTTP/1.1 411 Length Required");
  assertStringIncludes(text, "Content-Length");
  assert(await metric(d, "chainsaw_http_bad_requests_total", { listener: "socket" }) >= 1);
  assert(running(), "the daemon exited");
});

async function vmHwmKb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
}

Deno.test({
  name:
    "a logs -f follower that stops reading is dropped at its byte budget with a final line; memory stays bounded",
  ...requireRoot("daemon flood tests"),
}, async () => {
  await using cleanup = new Cleanup();
  const tmp = await scratchDir();
  cleanup.defer(tmp.remove);
  // The daemon's stdout is not collected here: 300 reports of ≈ 900 KiB would be 270 MB of text.
  const cs = await ensureChainsaw();
  const [cmd, ...pre] = cs.argv;
  const socketPath = `${tmp.path}/sock/chainsaw.sock`;
  const child = new Deno.Command(cmd, {
    args: [
      ...pre,
      "daemon",
      "--no-install",
      "--no-kubeconfig",
      "--socket",
      socketPath,
      "--health-addr",
      "127.0.0.1:0",
      "--state-file",
      `${tmp.path}/state/attachments.json`,
      "--ring-max-bytes",
      String(4 * 1024 * 1024),
      "--follower-max-bytes",
      String(1024 * 1024),
      "--write-timeout-seconds",
      "120",
    ],
    cwd: cs.cwd,
    clearEnv: true,
    env: { PATH: childPath(), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const collecting = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (stderr += t) }),
  ).catch(() => {});
  let exited = false;
  child.status.then(() => exited = true);
  cleanup.defer(async () => {
    if (!exited) child.kill("SIGKILL");
    await child.status;
    await collecting;
  });
  await waitFor("the health port", () => {
    if (exited) throw new Error(`daemon exited: ${stderr}`);
    return /health server listening on http:\/\/\S+/.test(stderr);
  }, 20_000);
  const d = { healthUrl: /health server listening on (http:\/\/\S+)/.exec(stderr)![1] };
  const socket = { path: socketPath };

  // A raw follower that never reads, and the real CLI, stopped with SIGSTOP.
  const stuck = await connect(socket);
  cleanup.defer(() => closeAll([stuck]));
  await stuck.write(encoder.encode("GET /v1/logs?follow=1&limit=0 HTTP/1.1\r\nHost: chainsaw\r\n\r\n"));
  const cli = await spawnChainsaw(["logs", "-f", "--limit", "0", "--json", "--socket", socketPath]);
  cleanup.defer(() => cli.stop(1000));
  await waitFor("two followers", async () => await metric(d, "chainsaw_log_followers") === 2);
  Deno.kill(cli.child.pid, "SIGSTOP");
  cleanup.defer(() => {
    try {
      Deno.kill(cli.child.pid, "SIGCONT");
    } catch {
      // it has exited
    }
  });

  const big = (i: number) =>
    JSON.stringify(sampleReport({
      containerId: `big-${i}`,
      commands: [sampleCommand({ stdout: "x".repeat(900 * 1024) })],
    }));
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
  cleanup.defer(() => client.close());
  for (let i = 0; i < 300; i++) assertEquals(await postReport(socketPath, big(i), client), 204);
  assertEquals(await metric(d, "chainsaw_log_followers_dropped_total", { reason: "too_slow" }), 2);
  assertEquals(await metric(d, "chainsaw_log_followers"), 0);
  const hwmMiB = (await vmHwmKb(child.pid)) / 1024;
  // 270 MB went past two followers that never read; without the budget they would have queued it all.
  assert(hwmMiB < 200, `daemon peak RSS ${hwmMiB.toFixed(0)} MiB`);

  // The raw follower reads what was sent before the drop, then the final line, then the end.
  let text = "";
  const buf = new Uint8Array(1 << 16);
  const dec = new TextDecoder();
  for (let n; (n = await stuck.read(buf)) !== null;) text += dec.decode(buf.subarray(0, n), { stream: true });
  const lines = text.split("\r\n").filter((l) => l.startsWith("{"));
  assertStringIncludes(lines.at(-1)!, '"chainsaw":"follow-ended"');
  assertStringIncludes(lines.at(-1)!, "1048576 bytes");
  assert(lines.length < 6, `${lines.length} lines reached a follower that never read`);

  // The CLI, resumed, prints what it got and then says why the stream ended (exit 1).
  Deno.kill(cli.child.pid, "SIGCONT");
  assertEquals((await cli.status).code, 1);
  assertStringIncludes(cli.stderr(), "the daemon ended the stream");
  assertStringIncludes(cli.stderr(), "--follower-max-bytes");

  // The daemon still takes reports and serves followers.
  assertEquals(await postReport(socketPath, JSON.stringify(sampleReport()), client), 204);
  assert(!exited, "the daemon exited");
  child.kill("SIGTERM");
  assertEquals((await child.status).code, 0);
});
