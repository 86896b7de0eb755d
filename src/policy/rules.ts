/**
 * The policy rule grammar, the policy document schema and the compiled {@link Policy}.
 *
 * A rule is one string: `OBJECT VERBS [TERM...]` (see docs/policy.md):
 * - `OBJECT`: `*`, or an iproute2 object in any spelling iproute2 accepts (`r`, `ro`, `route`, `neigh`),
 *   optionally with a sub-object (`xfrm.state`, `nexthop.bucket`).
 * - `VERBS`: `*`, or verbs joined by `|` (`add|del|replace|change`), normalised like the command's.
 * - `TERM`: `key=v1,v2` (the keyword must be present and every value must match), `key?=v1,v2` (if present,
 *   every value must match), `k1|k2|...` (the command may use only these keywords besides constrained ones),
 *   or a global option such as `-resolve` (in any spelling): the rule grants that option
 *   ({@link GATED_GLOBALS} are refused by every allow rule that does not name them).
 *   Values: `*`, `@current`, `@pod`, an IP prefix (containment, for address keys), `default` (zero-length
 *   prefix), `N` or `N-M` (numeric range; `main`/`local`/`default` for tables) or a literal word.
 *
 * In deny rules the same terms match when *some* value matches, and a value chainsaw cannot read exactly
 * like iproute2 (octal address parts, unknown table names, `ifN` interface indexes) counts as matching.
 * @module
 */
import { describeZodIssue } from "../text/zod_issue.ts";
import * as z from "zod/mini";
import {
  keywordNames,
  type Normalized,
  resolveGlobal,
  resolveObject,
  resolveSubobject,
  resolveVerb,
  subobjectNames,
  verbNames,
} from "./objects.ts";
import { parseCommandPrefixes, parseRulePrefix, type Prefix, prefixContains } from "./prefix.ts";

/** A policy that cannot be read or compiled; the message names the file or config key and the rule. */
export class PolicyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PolicyError";
  }
}

/** Resource limits for one pod's annotation. */
export interface Limits {
  /** Commands per annotation (per network). */
  readonly maxCommands: number;
  /** Size of the annotation value in bytes (UTF-8). */
  readonly maxAnnotationBytes: number;
  /** Output kept per command (stdout and stderr together); the rest is cut. */
  readonly maxOutputBytes: number;
  /** Wall-clock time per command before it is killed. */
  readonly commandTimeoutMs: number;
  /**
   * Wall-clock time for the whole list: commands not started by then are not started (whatever `onError`),
   * and a running one is killed at it.
   */
  readonly listTimeoutMs: number;
}

/**
 * Defaults: 32 commands cover any realistic route/address set-up while bounding the ADD's length; 16 KiB
 * of annotation is far above 32 commands of normal length yet well under the API server's 256 KiB for all
 * annotations; 64 KiB of output holds `ip -d addr` on a pod with many interfaces while keeping the
 * daemon's per-pod report small; 10 s per command is generous for netlink (milliseconds) and bounds
 * `monitor`; 30 s for the whole list bounds what 32 slow commands could take (32 × 10 s) to well inside the
 * runtime's CNI timeouts and frees a daemon re-apply slot in bounded time.
 */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxCommands: 32,
  maxAnnotationBytes: 16 * 1024,
  maxOutputBytes: 64 * 1024,
  commandTimeoutMs: 10_000,
  listTimeoutMs: 30_000,
};

/** Inclusive bounds a policy document may set each limit to. */
export const LIMIT_BOUNDS: Readonly<Record<keyof Limits, readonly [number, number]>> = {
  maxCommands: [1, 1024],
  maxAnnotationBytes: [1, 256 * 1024],
  maxOutputBytes: [1, 16 * 1024 * 1024],
  commandTimeoutMs: [1, 300_000],
  listTimeoutMs: [1, 300_000],
};

/** How one constraint value is compared with a command's value. */
export type ValueMatcher =
  | { readonly kind: "any" }
  | { readonly kind: "current" }
  | { readonly kind: "pod" }
  | { readonly kind: "zero" }
  | { readonly kind: "prefix"; readonly prefix: Prefix }
  | { readonly kind: "range"; readonly min: number; readonly max: number }
  | { readonly kind: "literal"; readonly value: string };

/** `key=values` or `key?=values`. */
export interface Constraint {
  readonly key: string;
  readonly optional: boolean;
  readonly matchers: readonly ValueMatcher[];
}

/** One compiled rule. */
export interface Rule {
  /** Stable id: `<origin>.<allow|deny>[index]`, e.g. `default.allow[0]`, `node.deny[2]`, `chain.allow[1]`. */
  readonly id: string;
  /** The rule as written. */
  readonly source: string;
  /** Canonical object or `*`. */
  readonly object: string;
  readonly subobject?: string;
  /** Canonical verbs, or `*`. */
  readonly verbs: readonly string[] | "*";
  readonly constraints: readonly Constraint[];
  /** When set, the only keywords an allowed command may use besides constrained ones. */
  readonly keywords?: readonly string[];
  /**
   * Canonical global options the rule names (`-resolve`). An allow rule grants these of the
   * {@link GATED_GLOBALS}; a deny rule with them matches only commands that use one.
   */
  readonly globals?: readonly string[];
}

/** A further layer a command must also pass (the chain's `policy`). `allow` absent: no further allow list. */
export interface RuleSet {
  readonly allow?: readonly Rule[];
  readonly deny: readonly Rule[];
}

/** The effective policy. */
export interface Policy {
  /** The ceiling's allow rules (node file, else the default policy). */
  readonly allow: readonly Rule[];
  readonly deny: readonly Rule[];
  /** Narrowing layers (chain config); a command must pass each. */
  readonly narrow?: readonly RuleSet[];
  /** When set, only pods in these namespaces may run commands. */
  readonly namespaces?: readonly string[];
  /** When set, the pod's namespace must carry every label of every map. */
  readonly namespaceLabels?: readonly Readonly<Record<string, string>>[];
  readonly limits: Limits;
}

/** What a rule is matched against besides the command. */
export interface MatchContext {
  /** The attachment's interface (`CNI_IFNAME`). */
  readonly ifname: string;
  /** Every interface of the pod (from prevResult). */
  readonly podInterfaces: readonly string[];
}

const boundedInt = (key: keyof Limits) =>
  z.int().check(z.minimum(LIMIT_BOUNDS[key][0]), z.maximum(LIMIT_BOUNDS[key][1]));

/** Schema of the `limits` object of a policy document (all keys optional). */
export const LimitsDocument = z.strictObject({
  maxCommands: z.optional(boundedInt("maxCommands")),
  maxAnnotationBytes: z.optional(boundedInt("maxAnnotationBytes")),
  maxOutputBytes: z.optional(boundedInt("maxOutputBytes")),
  commandTimeoutMs: z.optional(boundedInt("commandTimeoutMs")),
  listTimeoutMs: z.optional(boundedInt("listTimeoutMs")),
});

/** Schema of a policy document (node file `policy.json`/`.yaml`, or the chain config's `policy` key). */
export const PolicyDocument = z.strictObject({
  allow: z.optional(z.array(z.string())),
  deny: z.optional(z.array(z.string())),
  namespaces: z.optional(z.array(z.string())),
  namespaceLabels: z.optional(z.record(z.string(), z.string())),
  limits: z.optional(LimitsDocument),
});

/** A validated policy document. */
export type PolicyDocument = z.infer<typeof PolicyDocument>;

/** Validates `doc` against {@link PolicyDocument}; throws {@link PolicyError} naming `source` and the field. */
export function parsePolicyDocument(doc: unknown, source: string): PolicyDocument {
  const r = PolicyDocument.safeParse(doc);
  if (r.success) return r.data;
  throw new PolicyError(`${source}: invalid policy: ${describeZodIssue(r.error)}`);
}

/**
 * Global options an allow rule grants only when it names them, with why. `-resolve` makes ip turn addresses
 * into names with the host's resolver configuration (/etc/hosts, /etc/resolv.conf, nsswitch.conf: the runner
 * only enters the pod's network namespace) and sends the DNS queries from inside the pod's netns.
 */
export const GATED_GLOBALS: ReadonlyMap<string, string> = new Map([
  [
    "-resolve",
    "it resolves addresses to names with the node's /etc/hosts and resolver, sending DNS queries from " +
    "the pod's network namespace",
  ],
]);

/** Global options on the escape list: no rule may grant them. */
const ESCAPE_GLOBALS = new Set(["-netns", "-batch", "-force", "-all"]);

/** Keywords whose values are addresses or prefixes. */
const ADDRESS_KEYS = new Set([
  "to",
  "via",
  "from",
  "src",
  "local",
  "peer",
  "broadcast",
  "anycast",
  "proxy",
  "nat",
  "as",
]);
/** Keywords whose values are interface names (iproute2 also accepts `ifN` = index N and altnames). */
const INTERFACE_KEYS = new Set(["dev", "iif", "oif", "link", "master"]);
const TABLE_NAMES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };
const VERB_ALIASES: Readonly<Record<string, string>> = {
  del: "delete",
  list: "show",
  lst: "show",
  chg: "change",
};

function ruleError(where: string, text: string, message: string): PolicyError {
  return new PolicyError(`${where} "${text}": ${message}`);
}

function parseNumber(text: string, key: string): number | undefined {
  if (key === "table" && text in TABLE_NAMES) return TABLE_NAMES[text];
  if (/^(0|[1-9][0-9]*)$/.test(text) || /^0[xX][0-9a-fA-F]+$/.test(text)) {
    const n = Number(text);
    return n <= 0xffffffff ? n : undefined;
  }
  return undefined;
}

function parseValue(key: string, value: string, fail: (m: string) => PolicyError): ValueMatcher {
  if (value === "*") return { kind: "any" };
  if (value === "@current") return { kind: "current" };
  if (value === "@pod") return { kind: "pod" };
  if (value.startsWith("@")) throw fail(`unknown value "${value}" (use @current or @pod)`);
  if (ADDRESS_KEYS.has(key)) {
    if (value === "default") return { kind: "zero" };
    const prefix = parseRulePrefix(value);
    if (!prefix) {
      throw fail(`${key}=${value}: expected an IP address or prefix like 192.0.2.0/24 or 2001:db8::/32`);
    }
    return { kind: "prefix", prefix };
  }
  const range = /^(\d+)-(\d+)$/.exec(value);
  if (range) {
    const [min, max] = [Number(range[1]), Number(range[2])];
    if (min > max) throw fail(`${key}=${value}: range is empty`);
    return { kind: "range", min, max };
  }
  const n = /^\d+$/.test(value) || (key === "table" && value in TABLE_NAMES)
    ? parseNumber(value, key)
    : undefined;
  if (n !== undefined) return { kind: "range", min: n, max: n };
  if (!/^[A-Za-z0-9_.:+-]+$/.test(value)) throw fail(`${key}=${value}: unexpected characters in value`);
  return { kind: "literal", value };
}

function resolveVerbs(
  object: string,
  subobject: string | undefined,
  text: string,
  fail: (m: string) => PolicyError,
): readonly string[] | "*" {
  if (text === "*") return "*";
  return text.split("|").map((word) => {
    if (word === "") throw fail(`empty verb in "${text}"`);
    if (object === "*") {
      const canon = VERB_ALIASES[word] ?? word;
      if (!verbNames().includes(canon)) {
        throw fail(`"${word}" is not a canonical ip verb (for "*", write it in full)`);
      }
      return canon;
    }
    if (subobject === undefined && subobjectNames(object).length > 0) {
      const canon = VERB_ALIASES[word] ?? word;
      if (!verbNames(object).includes(canon)) throw fail(`"${word}" is not a verb of ip ${object}`);
      return canon;
    }
    const canon = resolveVerb(object, subobject, word);
    if (!canon) throw fail(`"${word}" is not a verb of ip ${subobject ? `${object} ${subobject}` : object}`);
    return canon;
  });
}

function checkKey(object: string, key: string, fail: (m: string) => PolicyError): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(key)) throw fail(`"${key}" is not a keyword`);
  if (object !== "*" && !keywordNames(object).includes(key)) {
    throw fail(
      `"${key}" is not a keyword of ip ${object} (known: ${keywordNames(object).sort().join(", ")})`,
    );
  }
}

/**
 * Compiles one rule string. `id` names it in verdicts; `where` (file or config key plus the list position)
 * prefixes error messages. Throws {@link PolicyError}.
 */
export function parseRule(text: string, id: string, kind: "allow" | "deny", where: string = id): Rule {
  const fail = (m: string): PolicyError => ruleError(where, text, m);
  const tokens = text.trim().split(/\s+/).filter((t) => t !== "");
  if (tokens.length < 2) {
    throw fail('a rule needs at least an object and verbs, e.g. "route show" or "* show|get"');
  }
  const [objectText, verbText, ...terms] = tokens;
  let object = "*";
  let subobject: string | undefined;
  if (objectText !== "*") {
    const [name, sub, extra] = objectText.split(".");
    if (extra !== undefined) throw fail(`"${objectText}" has more than one sub-object`);
    const resolved = resolveObject(name);
    if (!resolved) throw fail(`"${name}" is not an ip object`);
    object = resolved;
    if (sub !== undefined) {
      subobject = resolveSubobject(object, sub);
      if (!subobject) throw fail(`"${sub}" is not a sub-object of ip ${object}`);
    }
  }
  if (kind === "allow" && object === "netns") {
    throw fail("ip netns is on the escape list and can never be allowed");
  }
  const verbs = resolveVerbs(object, subobject, verbText, fail);
  const constraints: Constraint[] = [];
  let keywords: string[] | undefined;
  let globals: string[] | undefined;
  for (const term of terms) {
    if (term.startsWith("-")) {
      const canon = resolveGlobal(term);
      if (!canon) throw fail(`"${term}" is not a global option of ip`);
      if (ESCAPE_GLOBALS.has(canon) && kind === "allow") {
        throw fail(`${canon} is on the escape list and can never be allowed`);
      }
      (globals ??= []).push(canon);
      continue;
    }
    const eq = term.indexOf("=");
    if (eq < 0) {
      for (const k of term.split("|")) {
        checkKey(object, k, fail);
        (keywords ??= []).push(k);
      }
      continue;
    }
    const optional = term[eq - 1] === "?";
    const key = term.slice(0, optional ? eq - 1 : eq);
    checkKey(object, key, fail);
    const valueText = term.slice(eq + 1);
    if (valueText === "") throw fail(`${key}: no values after "="`);
    const matchers = valueText.split(",").map((v) => parseValue(key, v, fail));
    constraints.push({ key, optional, matchers });
  }
  return { id, source: text, object, subobject, verbs, constraints, keywords, globals };
}

/**
 * Compiles a list of rule strings from `origin` (`default`, `node`, `chain`), naming errors after `source`
 * (a file or config key). Throws {@link PolicyError} for the first bad rule.
 */
export function compileRules(
  texts: readonly string[],
  origin: string,
  kind: "allow" | "deny",
  source: string,
): Rule[] {
  return texts.map((text, i) => parseRule(text, `${origin}.${kind}[${i}]`, kind, `${source}: ${kind}[${i}]`));
}

function matchValue(m: ValueMatcher, key: string, value: string, ctx: MatchContext, deny: boolean): boolean {
  switch (m.kind) {
    case "any":
      return true;
    case "current":
    case "pod":
    case "literal":
      if (deny && INTERFACE_KEYS.has(key) && /^if[0-9]+$/.test(value)) return true;
      if (m.kind === "current") return value === ctx.ifname;
      if (m.kind === "pod") return value === ctx.ifname || ctx.podInterfaces.includes(value);
      return value === m.value;
    case "range": {
      const num = parseNumber(value, key);
      return num === undefined ? deny : num >= m.min && num <= m.max;
    }
    default:
      return false; // prefixes are compared in valueMatches, over every reading of the value
  }
}

function valueMatches(
  c: Constraint,
  value: string,
  n: Normalized,
  ctx: MatchContext,
  deny: boolean,
): boolean {
  if (c.matchers.some((m) => matchValue(m, c.key, value, ctx, deny))) return true;
  const prefixes = c.matchers.filter((m) => m.kind === "prefix" || m.kind === "zero");
  if (prefixes.length === 0) return false;
  // `default` without a family has two readings (0.0.0.0/0 and ::/0): allow needs both covered.
  const readings = parseCommandPrefixes(value, n.family);
  if (!readings) return deny;
  const covered = (p: Prefix): boolean =>
    prefixes.some((m) =>
      m.kind === "zero" ? p.length === 0 : m.kind === "prefix" && prefixContains(m.prefix, p)
    );
  return deny ? readings.some(covered) : readings.every(covered);
}

function constraintHolds(c: Constraint, n: Normalized, ctx: MatchContext, deny: boolean): boolean {
  const values = n.kv.get(c.key);
  if (values === undefined) return c.optional;
  if (values.length === 0) return c.matchers.some((m) => m.kind === "any");
  return deny
    ? values.some((v) => valueMatches(c, v, n, ctx, true))
    : values.every((v) => valueMatches(c, v, n, ctx, false));
}

/**
 * The {@link GATED_GLOBALS} that command `n` uses and `rule` does not name (empty when the rule grants all
 * the command uses).
 */
export function ungrantedGlobals(rule: Rule, n: Normalized): string[] {
  return n.globals.filter((g, i) =>
    GATED_GLOBALS.has(g) && n.globals.indexOf(g) === i && !rule.globals?.includes(g)
  );
}

/**
 * Whether `rule` matches the command `n`. As an allow rule (`mode` "allow") every value of a constrained
 * keyword must match, only the listed keywords may appear and every gated global option the command uses
 * must be named by the rule; as a deny rule some value matching, or any listed keyword or global option
 * appearing, is enough, and unreadable values count as matching.
 */
export function ruleMatches(rule: Rule, n: Normalized, ctx: MatchContext, mode: "allow" | "deny"): boolean {
  if (rule.object !== "*" && rule.object !== n.object) return false;
  if (rule.subobject !== undefined && rule.subobject !== n.subobject) return false;
  if (rule.verbs !== "*" && !rule.verbs.includes(n.verb)) return false;
  const deny = mode === "deny";
  if (
    deny ? rule.globals && !rule.globals.some((g) => n.globals.includes(g)) : ungrantedGlobals(rule, n).length
  ) {
    return false;
  }
  for (const c of rule.constraints) if (!constraintHolds(c, n, ctx, deny)) return false;
  if (rule.keywords) {
    if (deny) return rule.keywords.some((k) => n.kv.has(k));
    const allowed = new Set([...rule.keywords, ...rule.constraints.map((c) => c.key)]);
    for (const k of n.kv.keys()) if (!allowed.has(k)) return false;
  }
  return true;
}
