// The one declaration of npm @grpc/proto-loader that tests/support/cri/client.ts uses (see grpc_js.d.ts for why
// the package's own types are not loaded).

export interface Options {
  keepCase?: boolean;
  longs?: unknown;
  enums?: unknown;
  defaults?: boolean;
  oneofs?: boolean;
}

export function load(filename: string, options?: Options): Promise<unknown>;
