/**
 * Kubeconfig loading for the thin Kubernetes client: the subset a node agent uses (server, CA, bearer token or
 * token file, client certificate and key; inline data or files), JSON or YAML, plus in-cluster credentials.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import * as z from "zod/mini";

/** Everything needed to talk to the API server. */
export interface Credentials {
  /** Base URL, e.g. `https://10.96.0.1:443` (no trailing slash). */
  server: string;
  /** PEM CA bundle to trust; undefined means the system roots. */
  caPem?: string;
  /** A static bearer token. */
  token?: string;
  /** A file holding the bearer token, re-read on every request (projected tokens rotate). */
  tokenFile?: string;
  /** PEM client certificate and key, for certificate authentication. */
  certPem?: string;
  keyPem?: string;
  /** Where these came from, for error messages. */
  origin: string;
}

/** The kubeconfig subset chainsaw reads. */
export const KubeconfigSchema = z.looseObject({
  "current-context": z.optional(z.string()),
  clusters: z.array(z.looseObject({
    name: z.string(),
    cluster: z.looseObject({
      server: z.string(),
      "certificate-authority": z.optional(z.string()),
      "certificate-authority-data": z.optional(z.string()),
      "insecure-skip-tls-verify": z.optional(z.boolean()),
    }),
  })),
  users: z.optional(z.array(z.looseObject({
    name: z.string(),
    user: z.looseObject({
      token: z.optional(z.string()),
      tokenFile: z.optional(z.string()),
      "client-certificate": z.optional(z.string()),
      "client-certificate-data": z.optional(z.string()),
      "client-key": z.optional(z.string()),
      "client-key-data": z.optional(z.string()),
    }),
  }))),
  contexts: z.optional(z.array(z.looseObject({
    name: z.string(),
    context: z.looseObject({ cluster: z.string(), user: z.optional(z.string()) }),
  }))),
});

/** Kubeconfig problems; the message names the file and the key. */
export class KubeconfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeconfigError";
  }
}

function b64(data: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith("/") ? p : `${dir}/${p}`;
}

async function readText(path: string, what: string, origin: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new KubeconfigError(`${origin}: cannot read ${what} ${path}: ${errorText(e)}`, { cause: e });
  }
}

/** Parses kubeconfig text (JSON, or YAML when it does not start with `{`). `path` is used for messages and
 * relative file references. */
export async function parseKubeconfig(text: string, path: string): Promise<Credentials> {
  let data: unknown;
  try {
    if (text.trimStart().startsWith("{")) {
      data = JSON.parse(text);
    } else {
      const { parse } = await import("yaml"); // YAML only costs start-up time when a YAML kubeconfig is used
      data = parse(text);
    }
  } catch (e) {
    throw new KubeconfigError(`kubeconfig ${path} is not valid JSON or YAML: ${errorText(e)}`, {
      cause: e,
    });
  }
  const r = KubeconfigSchema.safeParse(data);
  if (!r.success) {
    throw new KubeconfigError(`kubeconfig ${path}: ${describeZodIssue(r.error)}`);
  }
  const cfg = r.data;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const ctxName = cfg["current-context"];
  const ctx = ctxName ? cfg.contexts?.find((c) => c.name === ctxName)?.context : cfg.contexts?.[0]?.context;
  if (ctxName && !ctx) {
    throw new KubeconfigError(`kubeconfig ${path}: current-context "${ctxName}" not found`);
  }
  const cluster = ctx ? cfg.clusters.find((c) => c.name === ctx.cluster)?.cluster : cfg.clusters[0]?.cluster;
  if (!cluster) throw new KubeconfigError(`kubeconfig ${path}: no cluster${ctx ? ` "${ctx.cluster}"` : ""}`);
  const user = ctx?.user ? cfg.users?.find((u) => u.name === ctx.user)?.user : cfg.users?.[0]?.user;
  if (ctx?.user && !user) throw new KubeconfigError(`kubeconfig ${path}: user "${ctx.user}" not found`);
  const creds: Credentials = { server: cluster.server.replace(/\/+$/, ""), origin: `kubeconfig ${path}` };
  if (cluster["certificate-authority-data"]) creds.caPem = b64(cluster["certificate-authority-data"]);
  else if (cluster["certificate-authority"]) {
    creds.caPem = await readText(resolvePath(dir, cluster["certificate-authority"]), "CA", creds.origin);
  }
  if (user) {
    if (user.token) creds.token = user.token;
    else if (user.tokenFile) creds.tokenFile = resolvePath(dir, user.tokenFile);
    if (user["client-certificate-data"]) creds.certPem = b64(user["client-certificate-data"]);
    else if (user["client-certificate"]) {
      creds.certPem = await readText(
        resolvePath(dir, user["client-certificate"]),
        "client certificate",
        creds.origin,
      );
    }
    if (user["client-key-data"]) creds.keyPem = b64(user["client-key-data"]);
    else if (user["client-key"]) {
      creds.keyPem = await readText(resolvePath(dir, user["client-key"]), "client key", creds.origin);
    }
  }
  return creds;
}

/** Reads and parses the kubeconfig at `path`. */
export async function loadKubeconfig(path: string): Promise<Credentials> {
  return parseKubeconfig(await readText(path, "kubeconfig", "chainsaw"), path);
}

/** The service-account directory every pod gets. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Formats host and port as a URL authority; IPv6 literals get brackets. */
export function hostPort(host: string, port: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * In-cluster credentials (`KUBERNETES_SERVICE_HOST`/`PORT` and the service-account token and CA), or undefined
 * when not running in a pod.
 */
export async function inClusterCredentials(
  getenv: (name: string) => string | undefined,
  dir: string = SERVICE_ACCOUNT_DIR,
): Promise<Credentials | undefined> {
  const host = getenv("KUBERNETES_SERVICE_HOST");
  const port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port) return undefined;
  try {
    await Deno.stat(`${dir}/token`);
  } catch {
    return undefined;
  }
  return {
    server: `https://${hostPort(host, port)}`,
    caPem: await readText(`${dir}/ca.crt`, "CA", "in-cluster config"),
    tokenFile: `${dir}/token`,
    origin: "in-cluster service account",
  };
}
