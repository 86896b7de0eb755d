/**
 * The daemon's options: the zod schema the CLI decodes its flags with (defaults are in defaults.ts), and the
 * health address parser.
 * @module
 */
import * as z from "zod/mini";
import { type ConditionMode, DAEMON_DEFAULTS, NODE_NAME_ENV, POD_CONDITION_MODES } from "./flags.ts";
import { LOG_FORMATS, type LogFormat } from "./reports/log_format.ts";

/** Everything `chainsaw daemon` needs. */
export interface DaemonOptions {
  socket: string;
  healthAddr: string;
  cniBinDir: string;
  cniConfDir: string;
  serviceAccountDir: string;
  /** Overrides the file installed as the plugin (default: this program). */
  source?: string;
  /** Install the plugin binary on start. */
  install: boolean;
  /** Generate and maintain the plugin kubeconfig. */
  kubeconfig: boolean;
  kubeconfigPollSeconds: number;
  logFormat: LogFormat;
  ringSize: number;
  ringMaxBytes: number;
  shutdownDelaySeconds: number;
  /** This node's name: the pod watch's field selector and the Events' source; without it pod features are off. */
  nodeName?: string;
  /** The daemon's own API credentials (a kubeconfig); default: the in-cluster service account. */
  apiKubeconfig?: string;
  /** The attachments state file. */
  stateFile: string;
  /** The node policy directory (the ceiling re-applies are checked against, as the plugin's ADD). */
  policyDir: string;
  /** Where the `chainsaw-policy` ConfigMap is mounted; when set, it is mirrored into {@link policyDir}. */
  policyConfigmapDir?: string;
  /** Watch this node's pods (the pod cache for the plugin, and live re-apply). */
  podWatch: boolean;
  /** Record Kubernetes Events on pods. */
  events: boolean;
  /**
   * Which pods get the condition `chainsaw.cni.cncf.io/applied`: `gated` (those listing it in
   * `spec.readinessGates`), `all` (every non-hostNetwork pod of the node) or `off`.
   */
  podCondition: ConditionMode;
  /** Connections served at once on the health port. */
  healthMaxConnections: number;
  /** Connections served at once on the report socket. */
  socketMaxConnections: number;
  /** Both listeners: longest wait for a request on an open connection. */
  idleTimeoutSeconds: number;
  /** Both listeners: from a request's first byte to the end of its head. */
  headerTimeoutSeconds: number;
  /** Both listeners: for a request's whole body. */
  bodyTimeoutSeconds: number;
  /** Both listeners: for one write of an answer. */
  writeTimeoutSeconds: number;
  /** Bytes of new reports a log follower may fall behind before it is dropped. */
  followerMaxBytes: number;
}

const absolute = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));
const numeric = (min: number, max: number, int: boolean) =>
  z.pipe(
    z.union([z.number(), z.string().check(z.regex(/^\d+(\.\d+)?$/, "must be a number"))]),
    z.transform((v) => Number(v)),
  ).check(
    z.refine(
      (n) => n >= min && n <= max && (!int || Number.isInteger(n)),
      `must be ${int ? "a whole number " : ""}` +
        `from ${min} to ${max}`,
    ),
  );

/** The decoder of the CLI's option record (commander's camelCase attribute names). */
export const DaemonOptionsSchema = z.object({
  socket: absolute,
  healthAddr: z.string().check(z.refine((s) => {
    try {
      parseHealthAddr(s);
      return true;
    } catch {
      return false;
    }
  }, "must be HOST:PORT (IPv6 as [ADDR]:PORT)")),
  cniBinDir: absolute,
  cniConfDir: absolute,
  serviceAccountDir: absolute,
  source: z.optional(absolute),
  install: z.boolean(),
  kubeconfig: z.boolean(),
  kubeconfigPollSeconds: numeric(0.01, 86400, false),
  logFormat: z.enum(LOG_FORMATS),
  ringSize: numeric(1, 1_000_000, true),
  ringMaxBytes: numeric(1024, 4 * 1024 * 1024 * 1024, true),
  shutdownDelaySeconds: numeric(0, 3600, false),
  nodeName: z.optional(
    z.string().check(z.regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Kubernetes node name")),
  ),
  apiKubeconfig: z.optional(absolute),
  stateFile: absolute,
  policyDir: absolute,
  policyConfigmapDir: z.optional(absolute),
  podWatch: z._default(z.boolean(), true),
  events: z._default(z.boolean(), true),
  podCondition: z._default(z.enum(POD_CONDITION_MODES), DAEMON_DEFAULTS.podCondition),
  healthMaxConnections: z._default(numeric(1, 100_000, true), DAEMON_DEFAULTS.healthMaxConnections),
  socketMaxConnections: z._default(numeric(1, 100_000, true), DAEMON_DEFAULTS.socketMaxConnections),
  idleTimeoutSeconds: z._default(numeric(0.01, 3600, false), DAEMON_DEFAULTS.idleTimeoutSeconds),
  headerTimeoutSeconds: z._default(numeric(0.01, 3600, false), DAEMON_DEFAULTS.headerTimeoutSeconds),
  bodyTimeoutSeconds: z._default(numeric(0.01, 3600, false), DAEMON_DEFAULTS.bodyTimeoutSeconds),
  writeTimeoutSeconds: z._default(numeric(0.01, 3600, false), DAEMON_DEFAULTS.writeTimeoutSeconds),
  followerMaxBytes: z._default(numeric(1024, 1024 * 1024 * 1024, true), DAEMON_DEFAULTS.followerMaxBytes),
});

/** The flags' attribute names as they appear in messages (where they differ from the attribute). */
const FLAG_NAMES: Readonly<Record<string, string>> = { apiKubeconfig: "kubeconfig" };

/**
 * Fills what the command line leaves to the environment: the node name from `NODE_NAME`, and `kubeconfig`
 * (write the plugin kubeconfig) true unless `--no-kubeconfig` was given (commander leaves it unset because the
 * daemon also has a `--kubeconfig <path>` flag).
 */
export function withEnvironment(
  raw: Record<string, unknown>,
  getenv: (name: string) => string | undefined,
): Record<string, unknown> {
  const nodeName = raw.nodeName ?? (getenv(NODE_NAME_ENV) || undefined);
  return { ...raw, kubeconfig: raw.kubeconfig !== false, nodeName };
}

/** Decodes the CLI's option record; throws an Error naming the first bad flag. */
export function decodeDaemonOptions(raw: Record<string, unknown>): DaemonOptions {
  const r = DaemonOptionsSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = String(i.path[0] ?? "");
    const flag = (FLAG_NAMES[key] ?? key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new Error(`--${flag}: ${i.message}`);
  }
  return r.data;
}

/** A TCP listen address. */
export interface ListenAddr {
  hostname: string;
  port: number;
}

/** Parses `HOST:PORT`, `[V6]:PORT` or `:PORT` (all addresses). Port 0 picks a free port. */
export function parseHealthAddr(s: string): ListenAddr {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`invalid address ${JSON.stringify(s)}: want HOST:PORT (IPv6 as [ADDR]:PORT)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in ${JSON.stringify(s)}`);
  const hostname = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]);
  return { hostname, port };
}

/** `http://HOST:PORT` for a listen address (IPv6 bracketed). */
export function listenUrl(a: ListenAddr): string {
  return `http://${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}
