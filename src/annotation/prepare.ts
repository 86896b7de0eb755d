/**
 * Turns one annotation command string into the argument vector given to `ip`.
 * @module
 */
import { tokenize } from "./tokenize.ts";

/** The token replaced by the attachment's interface name (`CNI_IFNAME`). */
export const CURRENT_INTERFACE = "CURRENT_INTERFACE";

/** A command ready for policy and execution. */
export interface PreparedCommand {
  /** The command as the user wrote it (trimmed). */
  source: string;
  /** Arguments to `ip`, without the leading `ip` and with `CURRENT_INTERFACE` substituted. */
  argv: string[];
}

/**
 * Tokenises `source` (see {@link tokenize}), drops a leading `ip` word and replaces every whole-word
 * `CURRENT_INTERFACE` with `ifname`. Throws on tokenising errors or when nothing is left.
 */
export function prepareCommand(source: string, ifname: string): PreparedCommand {
  const words = tokenize(source);
  if (words[0] === "ip") words.shift();
  if (words.length === 0) throw new Error(`"${source}" names no ip object`);
  return { source, argv: words.map((w) => w === CURRENT_INTERFACE ? ifname : w) };
}
