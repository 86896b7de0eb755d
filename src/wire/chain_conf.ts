/**
 * chainsaw's own keys in its entry of a CNI chain, as a schema. It lives in the contract because the plugin
 * sends them to the daemon with an ADD (the daemon validates them with this same schema); the plugin's
 * `src/plugin/config.ts` adds the defaults and maps a failure to CNI code 7.
 * @module
 */
import * as z from "zod/mini";

const absolutePath = z.string().check(z.refine((s) => s.startsWith("/"), "must be an absolute path"));

/** What a failing command does to the rest of its list. */
export const ON_ERROR_MODES = ["fail", "continue"] as const;
/** One of {@link ON_ERROR_MODES}. */
export type OnError = (typeof ON_ERROR_MODES)[number];

/** chainsaw's chain config keys (see README "Configuration"); every one optional. */
export const ChainConfSchema = z.object({
  kubeconfig: z.optional(absolutePath),
  onError: z.optional(z.enum(ON_ERROR_MODES)),
  apiTimeoutMs: z.optional(z.int().check(z.positive(), z.lte(120_000))),
  ipPath: z.optional(absolutePath),
  nsenterPath: z.optional(absolutePath),
  daemonSocket: z.optional(z.string()),
  policy: z.optional(z.unknown()),
});

/** The keys as given (before defaults). */
export type ChainConfInput = z.infer<typeof ChainConfSchema>;
