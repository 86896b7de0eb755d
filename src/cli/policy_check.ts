/**
 * `chainsaw policy check`: tells an administrator whether commands pass the policy, and by which rule,
 * without touching any namespace.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { prepareCommand } from "../annotation/prepare.ts";
import { type CommandVerdict, evaluateCommand } from "../policy/evaluate.ts";
import { effectivePolicy, findNodePolicy, readPolicyFile } from "../policy/load.ts";
import type { Policy } from "../policy/rules.ts";
import { visible } from "../text/visible.ts";

/** Options of `chainsaw policy check`. */
export interface PolicyCheckOptions {
  /** Node policy file (JSON, or YAML by extension); default: the node's file if present, else the default policy. */
  readonly policyFile?: string;
  /** A chain `policy` document (JSON/YAML file) to narrow with, as a NetworkAttachmentDefinition would. */
  readonly chainFile?: string;
  /** The attachment's interface (`CURRENT_INTERFACE`, `@current`). */
  readonly ifname: string;
  /** The pod's other interfaces (`@pod`); the attachment's is always included. */
  readonly podInterfaces?: readonly string[];
  /** The pod's namespace, for policies with namespace scoping. */
  readonly namespace?: string;
  /** Annotation command strings (`ip` prefix optional). */
  readonly commands: readonly string[];
}

async function loadForCheck(opts: PolicyCheckOptions): Promise<Policy> {
  const node = opts.policyFile !== undefined
    ? { file: opts.policyFile, doc: await readPolicyFile(opts.policyFile) }
    : await findNodePolicy();
  const chain = opts.chainFile !== undefined ? await readPolicyFile(opts.chainFile) : undefined;
  return effectivePolicy(node?.doc, chain, { node: node?.file, chain: opts.chainFile });
}

/** One line per command; the command (often pasted from a pod's annotation) and the reason are neutralised. */
function verdictLine(command: string, v: CommandVerdict): string {
  return v.allowed
    ? `allowed  ${visible(command)}  (rule: ${visible(v.rule)}${v.source ? ` "${visible(v.source)}"` : ""})`
    : `denied   ${visible(command)}  (rule: ${visible(v.rule)}: ${visible(v.reason)})`;
}

/**
 * Prints one line per command to `out` and returns the exit code: 0 when every command is allowed, 1 when
 * some is denied, 2 for a bad policy or no commands. Limits on the list as a whole (command count,
 * annotation size) are not applied: each command is judged alone.
 */
export async function policyCheck(opts: PolicyCheckOptions, out: (line: string) => void): Promise<number> {
  if (opts.commands.length === 0) {
    out("usage: chainsaw policy check [--policy FILE] [--ifname IF] '<command>' ...");
    return 2;
  }
  let policy: Policy;
  try {
    policy = await loadForCheck(opts);
  } catch (e) {
    out(`error: ${visible(errorText(e))}`);
    return 2;
  }
  const ctx = {
    ifname: opts.ifname,
    podInterfaces: [...new Set([opts.ifname, ...(opts.podInterfaces ?? [])])],
    namespace: opts.namespace,
  };
  let code = 0;
  for (const command of opts.commands) {
    let v: CommandVerdict;
    try {
      v = evaluateCommand(prepareCommand(command, opts.ifname).argv, policy, ctx);
    } catch (e) {
      v = { allowed: false, rule: "parse:tokenize", reason: errorText(e) };
    }
    if (!v.allowed) code = 1;
    out(verdictLine(command, v));
  }
  return code;
}
