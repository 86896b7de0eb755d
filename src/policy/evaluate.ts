/**
 * Policy evaluation: one command ({@link evaluateCommand}) and a pod's whole command list
 * ({@link evaluateList}), which is validated completely before anything runs.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { prepareCommand, type PreparedCommand } from "../annotation/prepare.ts";
import { checkEscapes, checkGlobalEscapes, checkRawEscapes, type EscapeHit } from "./escape.ts";
import { normalize, type Normalized } from "./objects.ts";
import {
  GATED_GLOBALS,
  type MatchContext,
  type Policy,
  type Rule,
  ruleMatches,
  type RuleSet,
  ungrantedGlobals,
} from "./rules.ts";

/** Who is asking: the attachment, the pod's interfaces and (for namespace scoping) the pod's namespace. */
export interface EvalContext extends MatchContext {
  /** The pod's namespace (`K8S_POD_NAMESPACE`). */
  readonly namespace?: string;
  /** Labels of the pod's namespace, when the daemon knows them (for `namespaceLabels`). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
}

/** The decision on one command. `rule` is a stable id (`escape:...`, `parse:...`, `default-deny`, a rule id). */
export type CommandVerdict =
  | { readonly allowed: true; readonly rule: string; readonly source?: string }
  | { readonly allowed: false; readonly rule: string; readonly reason: string };

/** One rejected command of a list. */
export interface Rejection {
  /** Position in the list (0-based); -1 when the list as a whole is rejected. */
  readonly index: number;
  readonly command: string;
  readonly rule: string;
  readonly reason: string;
}

/**
 * The decision on a list. When rejected, `index`/`command`/`rule`/`reason` describe the first rejection,
 * `rejected` lists all of them and `prepared` holds the commands that passed (for `onError: continue`).
 */
export type ListVerdict =
  | { readonly allowed: true; readonly prepared: PreparedCommand[] }
  | Rejection & {
    readonly allowed: false;
    readonly rejected: Rejection[];
    readonly prepared: PreparedCommand[];
  };

function refuse(hit: EscapeHit): CommandVerdict {
  return { allowed: false, rule: hit.rule, reason: hit.reason };
}

function firstDeny(
  layers: readonly RuleSet[],
  n: Normalized,
  ctx: MatchContext,
): Rule | undefined {
  for (const layer of layers) {
    const hit = layer.deny.find((r) => ruleMatches(r, n, ctx, "deny"));
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Decides one command, given as the argument vector after `ip` (see prepareCommand): escape list first, then
 * the deny rules of every layer, then the allow rules of every layer (the ceiling and each narrowing layer
 * must allow it). No allow rule → `default-deny`. Namespace scoping ({@link checkNamespace}) applies after
 * the escape list.
 */
export function evaluateCommand(argv: readonly string[], policy: Policy, ctx: EvalContext): CommandVerdict {
  const n = normalize(argv);
  if (n.kind === "error") {
    const hit = checkGlobalEscapes(n.globals) ??
      (n.object === "netns"
        ? { rule: "escape:netns-object", reason: "ip netns manages other namespaces" }
        : undefined) ??
      checkRawEscapes(argv);
    return hit ? refuse(hit) : { allowed: false, rule: `parse:${n.code}`, reason: n.message };
  }
  const hit = checkEscapes(n, argv, { timeoutMs: policy.limits.commandTimeoutMs });
  if (hit) return refuse(hit);
  const ns = checkNamespace(policy, ctx);
  if (ns) return ns;
  const layers: RuleSet[] = [{ allow: policy.allow, deny: policy.deny }, ...(policy.narrow ?? [])];
  const denied = firstDeny(layers, n, ctx);
  if (denied) return { allowed: false, rule: denied.id, reason: `denied by "${denied.source}"` };
  let allowedBy: Rule | undefined;
  for (const [i, layer] of layers.entries()) {
    if (!layer.allow) continue;
    const r = layer.allow.find((rule) => ruleMatches(rule, n, ctx, "allow"));
    if (!r) {
      const which = i === 0 ? "no allow rule matches" : "no allow rule of the chain's policy matches";
      return { allowed: false, rule: "default-deny", reason: ungrantedReason(layer.allow, n, ctx) ?? which };
    }
    allowedBy = r;
  }
  return { allowed: true, rule: allowedBy!.id, source: allowedBy!.source };
}

/**
 * When the command would match one of `allow` but for a gated global option (`-resolve`) the rule does not
 * name, a reason saying so; otherwise undefined.
 */
function ungrantedReason(allow: readonly Rule[], n: Normalized, ctx: MatchContext): string | undefined {
  const plain: Normalized = { ...n, globals: n.globals.filter((g) => !GATED_GLOBALS.has(g)) };
  if (plain.globals.length === n.globals.length) return undefined;
  const rule = allow.find((r) => ruleMatches(r, plain, ctx, "allow"));
  if (!rule) return undefined;
  const [option] = ungrantedGlobals(rule, n);
  return `${option} is not granted by "${rule.source}": ${GATED_GLOBALS.get(option)}; ` +
    `a rule must name ${option} to allow it`;
}

/** Checks namespace scoping; returns a rejection verdict, or undefined when the namespace may run commands. */
export function checkNamespace(policy: Policy, ctx: EvalContext): CommandVerdict | undefined {
  if (policy.namespaces && !(ctx.namespace !== undefined && policy.namespaces.includes(ctx.namespace))) {
    return {
      allowed: false,
      rule: "namespace:not-allowed",
      reason: `namespace ${ctx.namespace ?? "(unknown)"} is not among the policy's namespaces`,
    };
  }
  for (const required of policy.namespaceLabels ?? []) {
    for (const [key, value] of Object.entries(required)) {
      if (ctx.namespaceLabels?.[key] !== value) {
        return {
          allowed: false,
          rule: "namespace:not-allowed",
          reason: `namespace ${ctx.namespace ?? "(unknown)"} lacks the label ${key}=${value}`,
        };
      }
    }
  }
  return undefined;
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

function rejectAll(rule: string, reason: string, command = "", index = -1): ListVerdict {
  const r: Rejection = { index, command, rule, reason };
  return { allowed: false, ...r, rejected: [r], prepared: [] };
}

/**
 * Decides a pod's whole command list (annotation command strings, `ip` prefix optional) before any of it
 * runs: annotation size (`annotationBytes`, the raw annotation's UTF-8 size; by default the size of the list
 * as JSON), namespace scoping, the command count, then every command (tokenised and with CURRENT_INTERFACE
 * replaced by `ctx.ifname`, see prepareCommand).
 */
export function evaluateList(
  commands: readonly string[],
  policy: Policy,
  ctx: EvalContext,
  annotationBytes?: number,
): ListVerdict {
  const { limits } = policy;
  const size = annotationBytes ?? utf8Length(JSON.stringify(commands));
  if (size > limits.maxAnnotationBytes) {
    return rejectAll(
      "limit:annotation-bytes",
      `annotation is ${size} bytes, the limit is ${limits.maxAnnotationBytes}`,
    );
  }
  const ns = checkNamespace(policy, ctx);
  if (ns && !ns.allowed) return rejectAll(ns.rule, ns.reason);
  if (commands.length > limits.maxCommands) {
    return rejectAll(
      "limit:max-commands",
      `${commands.length} commands, the limit is ${limits.maxCommands}`,
      commands[limits.maxCommands],
      limits.maxCommands,
    );
  }
  const prepared: PreparedCommand[] = [];
  const rejected: Rejection[] = [];
  for (const [index, command] of commands.entries()) {
    let p: PreparedCommand;
    try {
      p = prepareCommand(command, ctx.ifname);
    } catch (e) {
      rejected.push({ index, command, rule: "parse:tokenize", reason: errorText(e) });
      continue;
    }
    const v = evaluateCommand(p.argv, policy, ctx);
    if (v.allowed) prepared.push(p);
    else rejected.push({ index, command, rule: v.rule, reason: v.reason });
  }
  if (rejected.length === 0) return { allowed: true, prepared };
  return { allowed: false, ...rejected[0], rejected, prepared };
}

/** One line for an error message: `command 2 "ip netns exec x sh" is not allowed (escape:netns-object: ...)`. */
export function describeRejection(r: Rejection): string {
  if (r.index < 0) return `commands not allowed (${r.rule}: ${r.reason})`;
  return `command ${r.index + 1} "${r.command}" is not allowed (${r.rule}: ${r.reason})`;
}
