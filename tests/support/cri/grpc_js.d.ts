// The few declarations of npm @grpc/grpc-js that tests/support/cri/client.ts uses. Used instead of the package's
// own .d.ts (through `@ts-types`): those pull in the latest npm @types/node, whose node:assert overloads break the
// type-check of the other test files.

export interface ServiceError extends Error {
  code: number;
  details: string;
}

export interface CallOptions {
  deadline?: number | Date;
}

export class Metadata {}

export interface ChannelCredentials {
  readonly _brand: "ChannelCredentials";
}

export const credentials: { createInsecure(): ChannelCredentials };

export const status: Record<number, string>;

export class Client {
  close(): void;
}

export type ServiceClientConstructor = new (address: string, credentials: ChannelCredentials) => Client;

export function loadPackageDefinition(def: unknown): unknown;
