/**
 * `chainsaw daemon`: the resident process of the chainsaw DaemonSet. On start it installs the plugin binary
 * and the plugin kubeconfig on the host (and keeps the kubeconfig's token current), then serves the daemon
 * socket (the plugin⇄daemon contract of src/wire: plugins' reports, `chainsaw logs`, and the extensions'
 * routes such as ADD) and the health port (probes, metrics). Reports are printed to stdout. SIGTERM/SIGINT:
 * readyz turns 503, and after `--shutdown-delay` the listeners close, stdout is flushed and the process
 * exits 0.
 * @module
 */
import type { Report } from "../report/report.ts";
import { VERSION } from "../version.ts";
import { type CredentialSync, startCredentialSync, type SyncResult } from "../host/credential_sync.ts";
import { createDaemonMetrics, type DaemonMetrics } from "./metrics/daemon_metrics.ts";
import { DaemonState } from "./daemon_state.ts";
import { createHealthHandler } from "./api/health_api.ts";
import type { ConnLimits } from "../http/conn.ts";
import { DEFAULT_CONN_LIMITS, type HttpServer, serveHttp, type ServerEvents } from "../http/server.ts";
import { currentProgram, installBinary, type ProgramLocation, resolveSource } from "../host/install.ts";
import { formatMessage } from "./reports/log_format.ts";
import type { DaemonOptions } from "./options.ts";
import { listenUrl, parseHealthAddr } from "./flags.ts";
import type { DaemonContext, DaemonExtension, Logger } from "./context.ts";
import { podFeatures } from "./features.ts";
import { policySyncExtension } from "./policy/policy_sync.ts";
import { inClusterServer, kubeconfigPath } from "../host/plugin_kubeconfig.ts";
import { createIntake } from "./reports/report_intake.ts";
import { ReportRing } from "./reports/report_ring.ts";
import { type ByteSink, SerialWriter } from "./reports/serial_writer.ts";
import { createSocketApi } from "./api/socket_api.ts";
import { prepareSocketPath } from "./api/socket_path.ts";
import { errorText } from "../text/error_text.ts";

/** Extra time allowed after the shutdown delay before the process exits regardless. */
const HARD_STOP_MS = 10_000;

/** The process edges the daemon uses (replaceable in tests). */
export interface DaemonIo {
  stdout: ByteSink;
  stderr: ByteSink;
  getenv(name: string): string | undefined;
  program: ProgramLocation;
  /** Calls `cb` with the signal's name on SIGTERM and SIGINT; returns the unsubscribe function. */
  onShutdownSignal(cb: (signal: string) => void): () => void;
  /** Ends the process at once (the hard stop). */
  exit(code: number): void;
}

/** The real process. */
export function realIo(): DaemonIo {
  return {
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    getenv: (n) => Deno.env.get(n),
    program: currentProgram(),
    onShutdownSignal(cb) {
      const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
      const handlers = signals.map((s) => [s, () => cb(s)] as const);
      for (const [s, h] of handlers) Deno.addSignalListener(s, h);
      return () => {
        for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
      };
    },
    exit: (code) => Deno.exit(code),
  };
}

/** The extensions `chainsaw daemon` runs: the node policy mirror and the pod features. */
export function defaultExtensions(): DaemonExtension[] {
  return [policySyncExtension(), podFeatures()];
}

/**
 * Runs the daemon until SIGTERM/SIGINT; returns the exit code.
 *
 * @param opts the decoded options
 * @param io the process edges
 * @param extensions the features (default: {@link defaultExtensions})
 */
export async function runDaemon(
  opts: DaemonOptions,
  io: DaemonIo = realIo(),
  extensions: readonly DaemonExtension[] = defaultExtensions(),
): Promise<number> {
  const errOut = new SerialWriter(io.stderr);
  const log: Logger = (level, msg, fields) =>
    void errOut.write(formatMessage(opts.logFormat, level, msg, fields));
  const out = new SerialWriter(
    io.stdout,
    (e) => log("error", `cannot write to stdout: ${errorText(e)}`),
  );
  const metrics = createDaemonMetrics(VERSION);
  const state = new DaemonState();
  const ring = new ReportRing(opts.ringSize, opts.ringMaxBytes);
  const listeners: Array<(report: Report) => void> = [];
  const accept = createIntake({
    ring,
    metrics,
    print: (r) => out.write(r),
    format: opts.logFormat,
    listeners,
    onListenerError: (e) => log("error", `report listener failed: ${errorText(e)}`),
  });

  let signalled: (() => void) | undefined;
  const shutdown = new Promise<void>((resolve) => signalled = resolve);
  let signals = 0;
  const unsubscribe = io.onShutdownSignal((sig) => {
    if (++signals > 1) {
      log("warn", `${sig} again: exiting now`);
      io.exit(0);
      return;
    }
    state.startDraining();
    log("info", `${sig}: shutting down (readyz now answers 503)`);
    signalled?.();
  });

  let sync: CredentialSync | undefined;
  let socketServer: HttpServer | undefined;
  let healthServer: HttpServer | undefined;
  const socketApi = createSocketApi({ ring, metrics, accept, followerMaxBytes: opts.followerMaxBytes });
  const limits: ConnLimits = {
    idleTimeoutMs: opts.idleTimeoutSeconds * 1000,
    headerTimeoutMs: opts.headerTimeoutSeconds * 1000,
    bodyTimeoutMs: opts.bodyTimeoutSeconds * 1000,
    writeTimeoutMs: opts.writeTimeoutSeconds * 1000,
    maxHeadBytes: DEFAULT_CONN_LIMITS.maxHeadBytes,
  };
  const stops: Array<() => Promise<void>> = [];
  let code = 0;

  try {
    log("info", `chainsaw ${VERSION} starting`);
    // 1. The plugin binary.
    if (opts.install) {
      const source = await resolveSource(opts.source, io.program);
      const r = await installBinary(source, opts.cniBinDir);
      log(
        "info",
        r.outcome === "written" ? `installed ${r.target} from ${r.source}` : `${r.target} is up to date`,
      );
    }
    state.installed = true;

    // 2. The plugin kubeconfig, kept in step with the service account.
    if (opts.kubeconfig) {
      const target = kubeconfigPath(opts.cniConfDir);
      let lastError = "";
      const onResult = (r: SyncResult): void => {
        if ("error" in r) {
          metrics.kubeconfigSyncs.inc({ result: "error" });
          if (r.error.message !== lastError) log("error", `plugin kubeconfig: ${r.error.message}`);
          lastError = r.error.message;
          return;
        }
        lastError = "";
        metrics.kubeconfigSyncs.inc({ result: r.outcome });
        state.kubeconfigWritten = true;
        if (r.outcome === "written") log("info", `wrote plugin kubeconfig ${target}`);
      };
      sync = startCredentialSync({
        saDir: opts.serviceAccountDir,
        target,
        server: inClusterServer(io.getenv),
        pollMs: opts.kubeconfigPollSeconds * 1000,
        onResult,
      });
      await sync.syncNow().catch(() => {}); // reported by onResult; the watch and the poll retry
    } else {
      state.kubeconfigWritten = true;
    }

    // 3. Extensions (they may add socket routes and report listeners before the socket opens).
    const ctx: DaemonContext = {
      options: opts,
      metrics,
      state,
      log,
      accept,
      onReport: (l) => void listeners.push(l),
      addSocketRoute: (prefix, handle) => socketApi.addRoute(prefix, handle),
    };
    for (const ext of extensions) if (!state.draining) stops.push(await ext(ctx));

    // 4. The report socket.
    if (!state.draining) {
      await prepareSocketPath(opts.socket);
      socketServer = serveHttp({
        listen: { path: opts.socket },
        handler: socketApi.handler,
        maxConnections: opts.socketMaxConnections,
        limits,
        events: serverEvents("socket", metrics, log),
      });
      await Deno.chmod(opts.socket, 0o600);
      state.socketUp = true;
      log("info", `report socket listening on unix:${opts.socket}`);
    }

    // 5. The health port.
    if (!state.draining) {
      const addr = parseHealthAddr(opts.healthAddr);
      healthServer = serveHttp({
        listen: addr,
        handler: {
          line: createHealthHandler({
            state,
            registry: metrics.registry,
            beforeScrape: () => metrics.ready.set(state.ready ? 1 : 0),
          }),
        },
        maxConnections: opts.healthMaxConnections,
        limits,
        events: serverEvents("health", metrics, log),
      });
      const bound = healthServer.addr as Deno.NetAddr;
      log("info", `health server listening on ${listenUrl({ hostname: bound.hostname, port: bound.port })}`);
    }

    if (!state.draining) {
      log("info", state.ready ? "ready" : `started, not ready yet: ${state.notReadyReasons().join(", ")}`);
    }
    await shutdown;
    await new Promise((r) => setTimeout(r, opts.shutdownDelaySeconds * 1000));
  } catch (e) {
    log("error", errorText(e));
    code = 1;
  }

  // Shutdown, whether asked for or after a start-up failure; bounded by the hard stop.
  state.startDraining();
  const hardStop = setTimeout(() => {
    log("warn", "shutdown took too long: exiting now");
    io.exit(code);
  }, HARD_STOP_MS);
  try {
    sync?.stop();
    socketApi.closeFollowers();
    if (socketServer) {
      await socketServer.shutdown();
      state.socketUp = false;
      await Deno.remove(opts.socket).catch(() => {});
    }
    // No report arrives any more: features finish their work in progress (their reports still print).
    for (const stop of stops.reverse()) await stop().catch((e) => log("error", `stopping: ${e}`));
    await out.flush();
    await healthServer?.shutdown();
    log("info", `stopped (exit ${code})`);
    await errOut.flush();
  } finally {
    clearTimeout(hardStop);
    unsubscribe();
  }
  return code;
}

/** Accept errors are logged at most this often per listener (each one is counted). */
const ACCEPT_ERROR_LOG_MS = 10_000;

/** A listener's events as metrics (label `listener`) and log lines. */
function serverEvents(
  listener: "health" | "socket",
  metrics: DaemonMetrics,
  log: Logger,
): ServerEvents {
  const labels = { listener };
  let lastLogged = -Infinity;
  let unlogged = 0;
  return {
    opened: () => metrics.httpConnections.inc(labels),
    closed: () => metrics.httpConnections.dec(labels),
    evicted: () => metrics.httpEvicted.inc(labels),
    paused: (ms) => metrics.httpAcceptPaused.inc(labels, ms / 1000),
    acceptError(e, backoffMs) {
      metrics.httpAcceptErrors.inc(labels);
      const now = performance.now();
      if (now - lastLogged < ACCEPT_ERROR_LOG_MS) {
        unlogged++;
        return;
      }
      const more = unlogged > 0 ? ` (${unlogged} more since the last message)` : "";
      log("error", `${listener} listener: accept failed: ${e.message}${more}; retrying in ${backoffMs} ms`);
      lastLogged = now;
      unlogged = 0;
    },
    timeout: (phase) => metrics.httpTimeouts.inc({ listener, phase }),
    badRequest: () => metrics.httpBadRequests.inc(labels),
    handlerError: (e) => log("error", `${listener} request failed: ${errorText(e)}`),
  };
}
