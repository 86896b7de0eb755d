/**
 * CNI GC on the daemon socket: the plugin forwards the runtime's valid attachments of one network
 * (`POST /v1/gc`), and the daemon forgets every other attachment of that network; it answers `{removed: N}`.
 * @module
 */
import * as z from "zod/mini";

/** Largest request body (about 40 000 attachments; a node has a few hundred). */
export const MAX_GC_BODY_BYTES = 4 << 20;

/** The request body. */
export const GcRequestSchema = z.object({
  network: z.string().check(z.minLength(1)),
  valid: z.array(z.object({ containerId: z.string(), ifname: z.string() })),
});

/** A request. */
export type GcRequest = z.infer<typeof GcRequestSchema>;

/** The answer. */
export const GcAnswerSchema = z.object({ removed: z.int().check(z.gte(0)) });
