/**
 * Commander options generated from the daemon's flags table (src/daemon/flags.ts): the flag, its help, its
 * default and its choices as `--help` shows them. Values are not checked here: the daemon's options schema,
 * generated from the same table, checks them once.
 * @module
 */
import { type Command, Option } from "commander";
import type { DaemonFlag } from "../daemon/flags.ts";

/**
 * An option stored under another attribute name than its flag: `--kubeconfig <path>` (the daemon's own API
 * credentials) must not share the attribute of `--no-kubeconfig` (do not write the plugin kubeconfig).
 */
class RenamedOption extends Option {
  readonly #attribute: string;
  constructor(flags: string, description: string, attribute: string) {
    super(flags, description);
    this.#attribute = attribute;
  }
  override attributeName(): string {
    return this.#attribute;
  }
}

/**
 * The commander option of one row.
 *
 * @param row a row of DAEMON_FLAGS
 * @returns the option, its attribute the row's
 */
export function flagOption(row: DaemonFlag): Option {
  let help = row.help;
  if (row.env) help += ` (default: $${row.env})`;
  else if (row.default === undefined && row.defaultText && !row.defaultText.startsWith("(")) {
    help += ` (default: ${row.defaultText})`;
  }
  const opt = new Option(row.flag, help);
  const renamed = opt.negate ? undefined : row.attribute !== opt.attributeName() ? row.attribute : undefined;
  const out = renamed ? new RenamedOption(row.flag, help, renamed) : opt;
  if (row.choices) out.argChoices = [...row.choices];
  if (row.default !== undefined && !out.negate) out.default(row.default);
  return out;
}

/**
 * Adds the rows' options to a command.
 *
 * @param cmd the command
 * @param rows rows of DAEMON_FLAGS
 * @returns the command
 */
export function addFlagOptions(cmd: Command, rows: readonly DaemonFlag[]): Command {
  for (const row of rows) cmd.addOption(flagOption(row));
  return cmd;
}
