/**
 * A thin Kubernetes API client on `fetch` and `Deno.createHttpClient`: TLS with the cluster CA, bearer tokens
 * (re-read from the token file on every request, since projected tokens rotate) or client certificates,
 * bounded timeouts, and API errors mapped from the server's Status objects.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import * as z from "zod/mini";
import type { Credentials } from "./kubeconfig.ts";

/** An API error: `status` 0 means the server could not be reached or did not answer in time. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
  /** True for conditions worth retrying later: unreachable, timeouts, 429 and 5xx. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

const StatusSchema = z.looseObject({ message: z.optional(z.string()), reason: z.optional(z.string()) });

/** A pod as chainsaw sees it (the fields it reads; the rest is kept loosely). */
export interface Pod {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string> | null;
    labels?: Record<string, string> | null;
    deletionTimestamp?: string | null;
    [key: string]: unknown;
  };
  spec?: { nodeName?: string; [key: string]: unknown };
  status?: { phase?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The pod fields chainsaw reads. */
export const PodSchema: z.ZodMiniType<Pod> = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.optional(z.string()),
    uid: z.optional(z.string()),
    resourceVersion: z.optional(z.string()),
    annotations: z.optional(z.nullable(z.record(z.string(), z.string()))),
    labels: z.optional(z.nullable(z.record(z.string(), z.string()))),
    deletionTimestamp: z.optional(z.nullable(z.string())),
  }),
  spec: z.optional(z.looseObject({ nodeName: z.optional(z.string()) })),
  status: z.optional(z.looseObject({ phase: z.optional(z.string()) })),
});

const NamespaceSchema = z.looseObject({
  metadata: z.looseObject({ labels: z.optional(z.nullable(z.record(z.string(), z.string()))) }),
});

/** Options of one request. */
export interface RequestOptions {
  method?: string;
  body?: unknown;
  contentType?: string;
  /** Per-request bound in milliseconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The client. */
export class KubeClient {
  readonly creds: Credentials;
  readonly timeoutMs: number;
  #http: Deno.HttpClient | undefined;

  constructor(creds: Credentials, timeoutMs = 5000) {
    this.creds = creds;
    this.timeoutMs = timeoutMs;
  }

  #client(): Deno.HttpClient {
    if (!this.#http) {
      const opts: Deno.CreateHttpClientOptions = {};
      if (this.creds.caPem) opts.caCerts = [this.creds.caPem];
      if (this.creds.certPem && this.creds.keyPem) {
        (opts as Record<string, unknown>).cert = this.creds.certPem;
        (opts as Record<string, unknown>).key = this.creds.keyPem;
      }
      this.#http = Deno.createHttpClient(opts);
    }
    return this.#http;
  }

  async #token(): Promise<string | undefined> {
    if (this.creds.token) return this.creds.token;
    if (!this.creds.tokenFile) return undefined;
    try {
      return (await Deno.readTextFile(this.creds.tokenFile)).trim();
    } catch (e) {
      throw new KubeApiError(
        401,
        "TokenUnreadable",
        `cannot read token file ${this.creds.tokenFile}: ${errorText(e)}`,
        { cause: e },
      );
    }
  }

  /** Sends one request; returns the Response for 2xx, throws {@link KubeApiError} otherwise. */
  async fetch(path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = new Headers({ Accept: "application/json", "User-Agent": "chainsaw" });
    const token = await this.#token();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (opts.body !== undefined) headers.set("Content-Type", opts.contentType ?? "application/json");
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(`${this.creds.server}${path}`, {
        method: opts.method ?? "GET",
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
        client: this.#client(),
      } as RequestInit);
    } catch (e) {
      const why = timeout.aborted ? `no answer within ${opts.timeoutMs ?? this.timeoutMs} ms` : errorText(e);
      throw new KubeApiError(
        0,
        timeout.aborted ? "Timeout" : "Unreachable",
        `API server ${this.creds.server}: ${why}`,
        { cause: e },
      );
    }
    if (res.ok) return res;
    let reason = res.statusText;
    let message = "";
    try {
      const st = StatusSchema.safeParse(await res.json());
      if (st.success) {
        reason = st.data.reason ?? reason;
        message = st.data.message ?? "";
      }
    } catch {
      // not a Status body
    }
    throw new KubeApiError(
      res.status,
      reason,
      `${opts.method ?? "GET"} ${path}: ${res.status} ${reason}${message ? `: ${message}` : ""}`,
    );
  }

  /** Sends a request and decodes the JSON answer. */
  async json(path: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.fetch(path, opts);
    try {
      return await res.json();
    } catch (e) {
      throw new KubeApiError(
        0,
        "BadResponse",
        `${path}: invalid JSON from API server: ${errorText(e)}`,
        { cause: e },
      );
    }
  }

  /** GETs one pod. */
  async getPod(namespace: string, name: string, signal?: AbortSignal): Promise<Pod> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
    const r = PodSchema.safeParse(await this.json(path, { signal }));
    if (!r.success) throw new KubeApiError(0, "BadResponse", `${path}: unexpected pod object`);
    return r.data;
  }

  /**
   * Strategic-merge-patches a pod's status subresource (`PATCH …/pods/{name}/status`, RBAC `pods/status: patch`)
   * and returns the updated pod.
   *
   * @param namespace the pod's namespace
   * @param name the pod's name
   * @param patch the patch body (see `conditionPatch` in pod_status.ts)
   * @param signal aborts the request
   * @returns the pod as the server stored it
   * @example
   * ```ts
   * const pod = await client.patchPodStatus("default", "p1", conditionPatch(uid, condition));
   * ```
   */
  async patchPodStatus(
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<Pod> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${
      encodeURIComponent(name)
    }/status`;
    const r = PodSchema.safeParse(
      await this.json(path, {
        method: "PATCH",
        body: patch,
        contentType: "application/strategic-merge-patch+json",
        signal,
      }),
    );
    if (!r.success) throw new KubeApiError(0, "BadResponse", `${path}: unexpected pod object`);
    return r.data;
  }

  /** GETs a namespace's labels (for policies scoped by namespace labels). */
  async getNamespaceLabels(namespace: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
    const r = NamespaceSchema.safeParse(await this.json(path, { signal }));
    if (!r.success) throw new KubeApiError(0, "BadResponse", `${path}: unexpected namespace object`);
    return r.data.metadata.labels ?? {};
  }

  /** Releases the HTTP client's connections. */
  close(): void {
    this.#http?.close();
    this.#http = undefined;
  }
}
