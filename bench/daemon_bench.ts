/**
 * The daemon side of the benchmark: starts `chainsaw daemon` (the bundle under its own permission flags), finds
 * out at run time what it offers (`daemon --help`, then a probe of the socket), and measures idle RSS with a
 * node's worth of cached pods, `/healthz` throughput and report ingestion on the socket.
 * @module
 */
import { run } from "../tests/support/netns.ts";

/** What `chainsaw daemon --help` offers. */
export interface DaemonFeatures {
  /** `daemon` exists and has `--socket`. */
  daemon: boolean;
  /** The pod watch / cache is there (a `--node-name`, pod or watch flag is listed). */
  podCache: boolean;
  /** Every long flag the help lists. */
  flags: Set<string>;
  /** Flags taking a kubeconfig path for the daemon's own API access, if any. */
  kubeconfigFlag?: string;
}

/**
 * Reads `chainsaw daemon --help`.
 *
 * @param bundle the chainsaw executable
 * @param env its environment (PATH with deno)
 */
export async function daemonFeatures(bundle: string, env: Record<string, string>): Promise<DaemonFeatures> {
  // NO_COLOR: commander otherwise reads CLICOLOR_FORCE/FORCE_COLOR, which the permission set does not grant.
  const r = await run([bundle, "daemon", "--help"], { env: { ...env, NO_COLOR: "1" }, clearEnv: true });
  const text = r.code === 0 ? r.stdout : "";
  const flags = new Set([...text.matchAll(/--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]));
  const kubeconfigFlag = [...text.matchAll(/--([a-z-]*kubeconfig) <(?:path|file)>/g)].map((m) => m[1])
    .find((f) => !f.startsWith("no-"));
  return {
    daemon: flags.has("socket"),
    podCache: flags.has("node-name") || [...flags].some((f) => /pod|watch/.test(f)),
    flags,
    kubeconfigFlag,
  };
}

/** Where a daemon for the benchmark lives. */
export interface DaemonSetup {
  bundle: string;
  env: Record<string, string>;
  /** Scratch directory inside the program's read/write scope (`/run/chainsaw/test-*`). */
  dir: string;
  features: DaemonFeatures;
  /** Node name the daemon watches pods of. */
  nodeName: string;
  /** In-cluster style API access: service-account directory contents and the server's address. */
  api?: { host: string; port: number; token: string; caPem: string; kubeconfigFile: string };
}

/** A running daemon. */
export interface RunningDaemon {
  pid: number;
  socket: string;
  healthUrl: string;
  /** The last bytes of its stderr and stdout (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; waits for the exit. Safe to call twice. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function drain(stream: ReadableStream<Uint8Array>, keep: { text: string }): Promise<void> {
  const dec = new TextDecoder();
  try {
    for await (const chunk of stream) keep.text = (keep.text + dec.decode(chunk)).slice(-8000);
  } catch {
    // the process went away
  }
}

/**
 * Starts the daemon and waits until its socket answers `/healthz`.
 *
 * @param s where and how
 * @param tag names the socket file
 * @param extraArgs more flags (e.g. `--drift-check-seconds 11`)
 */
export async function startDaemon(
  s: DaemonSetup,
  tag: string,
  extraArgs: readonly string[] = [],
): Promise<RunningDaemon> {
  const socket = `${s.dir}/${tag}.sock`;
  const port = freePort();
  const sa = `${s.dir}/sa-${tag}`;
  await Deno.mkdir(sa, { recursive: true });
  await Deno.mkdir(`${s.dir}/cnibin`, { recursive: true });
  await Deno.mkdir(`${s.dir}/cniconf`, { recursive: true });
  const env: Record<string, string> = { ...s.env, NODE_NAME: s.nodeName, NO_COLOR: "1" };
  if (s.api) {
    await Deno.writeTextFile(`${sa}/token`, s.api.token);
    await Deno.writeTextFile(`${sa}/ca.crt`, s.api.caPem);
    await Deno.writeTextFile(`${sa}/namespace`, "chainsaw");
    env.KUBERNETES_SERVICE_HOST = s.api.host;
    env.KUBERNETES_SERVICE_PORT = String(s.api.port);
  }
  const args = [
    "daemon",
    "--socket",
    socket,
    "--health-addr",
    `127.0.0.1:${port}`,
    "--no-install",
    "--no-kubeconfig",
    "--service-account-dir",
    sa,
    "--cni-bin-dir",
    `${s.dir}/cnibin`,
    "--cni-conf-dir",
    `${s.dir}/cniconf`,
  ];
  const f = s.features.flags;
  if (f.has("shutdown-delay-seconds")) args.push("--shutdown-delay-seconds", "0");
  if (f.has("node-name")) args.push("--node-name", s.nodeName);
  // Keep the daemon's files inside the scratch directory (their defaults are the host's /var/lib and /etc).
  if (f.has("state-file")) args.push("--state-file", `${s.dir}/attachments-${tag}.json`);
  if (f.has("policy-dir")) args.push("--policy-dir", `${s.dir}/policy-${tag}`);
  if (s.api && s.features.kubeconfigFlag) args.push(`--${s.features.kubeconfigFlag}`, s.api.kubeconfigFile);
  args.push(...extraArgs);
  const child = new Deno.Command(s.bundle, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const keep = { text: "" };
  const drained = Promise.all([drain(child.stdout, keep), drain(child.stderr, keep)]);
  let exited: Deno.CommandStatus | undefined;
  child.status.then((st) => exited = st);
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await child.status;
      clearTimeout(t);
      await drained;
    }
  };
  const d: RunningDaemon = {
    pid: child.pid,
    socket,
    healthUrl: `http://127.0.0.1:${port}/healthz`,
    output: () => keep.text,
    stop,
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const st = await socketGet(socket, "/healthz").catch(() => undefined);
    if (st?.status === 200) return d;
    if (exited) {
      await stop();
      throw new Error(
        `chainsaw daemon exited with code ${exited.code}: ${keep.text.trim().replaceAll("\n", " / ")}`,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`chainsaw daemon did not answer /healthz on ${socket} within 15 s:\n${keep.text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One GET over the daemon's unix socket.
 *
 * @param socket socket path
 * @param path request path with query
 */
export async function socketGet(socket: string, path: string): Promise<{ status: number; body: string }> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch(`http://chainsaw${path}`, { client, signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.text() };
  } finally {
    client.close();
  }
}

/**
 * Waits until the daemon's pod cache answers for a pod (200 with the right UID).
 *
 * @param d the daemon
 * @param pod namespace, name, uid
 * @param timeoutMs give up after
 * @returns whether it answered
 */
export async function waitForPod(
  d: RunningDaemon,
  pod: { namespace: string; name: string; uid: string },
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const path = `/v1/pods/${pod.namespace}/${pod.name}?uid=${encodeURIComponent(pod.uid)}&waitMs=500`;
  while (Date.now() < deadline) {
    const r = await socketGet(d.socket, path).catch(() => undefined);
    if (r?.status === 200) {
      try {
        if ((JSON.parse(r.body) as { uid?: string }).uid === pod.uid) return true;
      } catch {
        // not JSON yet
      }
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

/** Resident and peak memory of a process, from /proc. */
export interface Memory {
  rssKb: number;
  hwmKb: number;
}

/**
 * Reads VmRSS and VmHWM of a process.
 *
 * @param pid process id
 */
export async function memoryOf(pid: number): Promise<Memory> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
}

/** Outcome of a load run. */
export interface Throughput {
  /** Successful requests per second. */
  perSecond: number;
  ok: number;
  failed: number;
  seconds: number;
  concurrency: number;
}

/**
 * Sends requests from `concurrency` keep-alive loops for `seconds` and counts 2xx answers.
 *
 * @param make builds one request's fetch arguments for a client
 * @param client the HTTP client the loops share (unix socket or TCP)
 * @param seconds how long
 * @param concurrency parallel loops
 */
export async function load(
  make: () => [string, RequestInit],
  client: Deno.HttpClient | undefined,
  seconds: number,
  concurrency: number,
): Promise<Throughput> {
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const [url, init] = make();
      try {
        const res = await fetch(url, client ? { ...init, client } : init);
        await res.body?.cancel();
        if (res.ok) ok++;
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const took = (performance.now() - started) / 1000;
  return { perSecond: ok / took, ok, failed, seconds: took, concurrency };
}
