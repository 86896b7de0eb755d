/**
 * The daemon's options, generated from the flags table (flags.ts): the zod schema the CLI decodes its flags with
 * (the only place their values are checked), its type {@link DaemonOptions}, and the environment's part.
 * @module
 */
import * as z from "zod/mini";
import { DAEMON_FLAGS, type DaemonFlagRow } from "./flags.ts";

/** A flag's field in the schema: its type, with its default, or optional when it has none. */
type Field<R extends DaemonFlagRow> = R["default"] extends undefined ? z.ZodMiniOptional<R["type"]>
  : z.ZodMiniDefault<R["type"]>;

type Shape = { [R in DaemonFlagRow as R["attribute"]]: Field<R> };

function field(row: DaemonFlagRow): z.ZodMiniType {
  return row.default === undefined
    ? z.optional(row.type)
    : z._default(row.type as z.ZodMiniType, row.default as never);
}

/** The decoder of the CLI's option record (commander's attribute names), generated from the flags table. */
export const DaemonOptionsSchema: z.ZodMiniObject<Shape> = z.object(
  Object.fromEntries(DAEMON_FLAGS.map((row) => [row.attribute, field(row)])) as Shape,
);

/** Everything `chainsaw daemon` needs (one attribute per flag; see flags.ts for what each does). */
export type DaemonOptions = z.infer<typeof DaemonOptionsSchema>;

const FLAG_OF: ReadonlyMap<string, string> = new Map(
  DAEMON_FLAGS.map((row) => [row.attribute, row.flag.replace(/^--(no-)?/, "").split(" ")[0]]),
);

/**
 * Fills what the command line leaves to the environment: the flags with an `env` (the node name from
 * `NODE_NAME`) take its value when not given; an empty variable counts as unset.
 *
 * @param raw commander's option record
 * @param getenv the environment
 * @returns the record to decode
 */
export function withEnvironment(
  raw: Record<string, unknown>,
  getenv: (name: string) => string | undefined,
): Record<string, unknown> {
  const filled = { ...raw };
  for (const row of DAEMON_FLAGS) {
    const env = "env" in row ? row.env : undefined;
    if (env && filled[row.attribute] === undefined) filled[row.attribute] = getenv(env) || undefined;
  }
  return filled;
}

/**
 * Decodes the CLI's option record; throws an Error naming the first bad flag (`--ring-size: must be …`).
 *
 * @param raw the option record by attribute (unknown attributes are dropped)
 * @returns the options, defaults filled in
 */
export function decodeDaemonOptions(raw: Record<string, unknown>): DaemonOptions {
  const r = DaemonOptionsSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const key = String(i.path[0] ?? "");
    throw new Error(`--${FLAG_OF.get(key) ?? key}: ${i.message}`);
  }
  return r.data;
}
