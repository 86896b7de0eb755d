/**
 * A small CRI client (runtime.v1 RuntimeService) for the containerd test, on npm `@grpc/grpc-js` +
 * `@grpc/proto-loader` and the hand-written subset of the API in `runtime_v1.proto` (the published field
 * numbers). It makes the sandbox calls the kubelet makes: RunPodSandbox, PodSandboxStatus, StopPodSandbox,
 * RemovePodSandbox, plus Version and ListPodSandbox. Test-only: the plugin never loads it.
 *
 * ```ts
 * const cri = new CriClient("/tmp/x/containerd.sock");
 * const id = await cri.runPodSandbox({ metadata: { name: "p1", uid: "u1", namespace: "default", attempt: 0 } });
 * const { status, info } = await cri.podSandboxStatus(id);
 * await cri.stopPodSandbox(id);
 * await cri.removePodSandbox(id);
 * cri.close();
 * ```
 * @module
 */
// Own declarations instead of the packages' (they pull in npm @types/node, which breaks other test files' types).
// @ts-types="./grpc_js.d.ts"
import * as grpc from "@grpc/grpc-js";
// @ts-types="./proto_loader.d.ts"
import * as protoLoader from "@grpc/proto-loader";

const PROTO = new URL("./runtime_v1.proto", import.meta.url).pathname;

/** runtime.v1 PodSandboxMetadata. */
export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

/** The parts of runtime.v1 PodSandboxConfig the tests set (snake_case, as in the proto). */
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  log_directory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroup_parent?: string;
    security_context?: { namespace_options?: { network?: string; pid?: string; ipc?: string } };
  };
}

/** runtime.v1 PodSandboxStatus (the fields the proto subset has). */
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  network?: { ip: string; additional_ips: Array<{ ip: string }> } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** runtime.v1 PodSandbox (a ListPodSandbox item). */
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A failed CRI call: the RPC's name, the gRPC status code and the runtime's message (the cause is kept). */
export class CriError extends Error {
  /** gRPC status code (2 UNKNOWN is what containerd answers for a failed CNI ADD). */
  readonly code: number;
  /** The runtime's message. */
  readonly details: string;

  /**
   * @param rpc the method called
   * @param code gRPC status code
   * @param details the runtime's message
   * @param options the grpc-js error as `cause`
   */
  constructor(rpc: string, code: number, details: string, options?: ErrorOptions) {
    super(`CRI ${rpc} failed (gRPC ${grpc.status[code] ?? code}): ${details}`, options);
    this.name = "CriError";
    this.code = code;
    this.details = details;
  }
}

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

let serviceCtor: Promise<grpc.ServiceClientConstructor> | undefined;

function runtimeService(): Promise<grpc.ServiceClientConstructor> {
  serviceCtor ??= (async () => {
    const def = await protoLoader.load(PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } };
    };
    return pkg.runtime.v1.RuntimeService;
  })();
  return serviceCtor;
}

/** A CRI RuntimeService client on a unix socket. */
export class CriClient {
  readonly #socket: string;
  readonly #timeoutMs: number;
  #client: Promise<grpc.Client> | undefined;

  /**
   * @param socket the runtime's gRPC socket path
   * @param timeoutMs deadline of every call (default 60 s)
   */
  constructor(socket: string, timeoutMs = 60_000) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
  }

  #call<T>(rpc: string, req: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    this.#client ??= runtimeService().then((Ctor) =>
      new Ctor(`unix://${this.#socket}`, grpc.credentials.createInsecure())
    );
    return this.#client.then((client) =>
      new Promise<T>((resolve, reject) => {
        const method = (client as unknown as Record<string, Unary>)[rpc].bind(client);
        method(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
          if (err) reject(new CriError(rpc, err.code, err.details || err.message, { cause: err }));
          else resolve(res as T);
        });
      })
    );
  }

  /**
   * runtime.v1 Version.
   *
   * @param timeoutMs deadline (short when polling for start-up)
   */
  async version(timeoutMs?: number): Promise<{ runtime_name: string; runtime_version: string }> {
    return await this.#call("Version", { version: "v1" }, timeoutMs);
  }

  /**
   * RunPodSandbox: creates the sandbox, its netns, runs the CNI ADD chain and starts the pause process.
   *
   * @param config the sandbox's config
   * @returns the sandbox id
   */
  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const res = await this.#call<{ pod_sandbox_id: string }>("RunPodSandbox", {
      config,
      runtime_handler: "",
    });
    return res.pod_sandbox_id;
  }

  /**
   * PodSandboxStatus, verbose: `info.info` is containerd's JSON with `netNamespacePath`.
   *
   * @param id sandbox id
   */
  async podSandboxStatus(id: string): Promise<{ status: PodSandboxStatus; info: Record<string, string> }> {
    return await this.#call("PodSandboxStatus", { pod_sandbox_id: id, verbose: true });
  }

  /**
   * StopPodSandbox: CNI DEL with the cached result, the pause process killed.
   *
   * @param id sandbox id
   */
  async stopPodSandbox(id: string): Promise<void> {
    await this.#call("StopPodSandbox", { pod_sandbox_id: id });
  }

  /**
   * RemovePodSandbox: CNI DEL again (empty CNI_NETNS), then the sandbox is forgotten.
   *
   * @param id sandbox id
   */
  async removePodSandbox(id: string): Promise<void> {
    await this.#call("RemovePodSandbox", { pod_sandbox_id: id });
  }

  /** ListPodSandbox without a filter. */
  async listPodSandbox(): Promise<PodSandbox[]> {
    return (await this.#call<{ items: PodSandbox[] }>("ListPodSandbox", {})).items;
  }

  /** Closes the channel. */
  close(): void {
    this.#client?.then((c) => c.close(), () => {});
    this.#client = undefined;
  }
}
