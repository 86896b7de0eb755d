/**
 * A netns snapshot as a set of *objects*: things with an identity (a key) and a value, the unit in which
 * declarative mode owns, takes back and checks what chainsaw changed. Pure: no I/O.
 *
 * | kind        | key                                                        | value                          |
 * | ----------- | ---------------------------------------------------------- | ------------------------------ |
 * | `link`      | `link <ifindex> <attribute>` (`mtu`, `flags`, `ifname`, …)  | the attribute, `null`: absent  |
 * | `address`   | `address <v4/v6> <ifindex> <local>/<len>[ peer <p>]`        | entries, `[]`: absent          |
 * | `route`     | `route <v4/v6> <table> <dst>[ from F][ tos T][ metric M]`   | entries (sorted), `[]`: absent |
 * | `rule`      | `rule <v4/v6> <priority>`                                   | the rules of it, in order      |
 * | `neighbour` | `neighbour <v4/v6> <dev> <dst>`                             | entries, `[]`: absent          |
 *
 * A route key is what the kernel identifies an IPv4 route by (table, prefix, tos, priority) plus the IPv6 source
 * prefix; routes sharing a key (`ip route append`) form one object.
 * @module
 */
import { canonical, type Entry, type NetnsSnapshot } from "../netns/model.ts";
import { addressSpec, neighbourSpec, routeSpec, ruleSpec } from "../netns/spec.ts";
import { groupBy } from "../netns/diff.ts";
import type { EffectKind } from "../wire/effect.ts";

export type { Entry, NetnsSnapshot };
export { canonical };

/** One object of a snapshot. */
export interface NetObject {
  kind: EffectKind;
  key: string;
  /** A link attribute's value, or the entries of the other kinds. */
  value: unknown;
}

function fam(e: Entry): string {
  return e.family === 6 ? "v6" : "v4";
}

function str(v: unknown): string {
  return String(v);
}

/** The key of a route. */
export function routeKey(r: Entry): string {
  let k = `route ${fam(r)} ${str(r.table ?? "main")} ${str(r.dst)}`;
  if (r.from !== undefined) k += ` from ${str(r.from)}`;
  if (r.tos !== undefined) k += ` tos ${str(r.tos)}`;
  if (r.metric !== undefined) k += ` metric ${str(r.metric)}`;
  return k;
}

/** The key of an address. */
export function addressKey(a: Entry): string {
  const len = a.prefixlen === undefined ? "" : `/${str(a.prefixlen)}`;
  const peer = a.address !== undefined ? ` peer ${str(a.address)}` : "";
  return `address ${fam(a)} ${str(a.ifindex)} ${str(a.local)}${len}${peer}`;
}

/** The key of a rule (its priority: the rules of one priority are one object, in order). */
export function ruleKey(r: Entry): string {
  return `rule ${fam(r)} ${str(r.priority)}`;
}

/** The key of a permanent neighbour. */
export function neighbourKey(n: Entry): string {
  return `neighbour ${fam(n)} ${str(n.dev)} ${str(n.dst)}`;
}

/** The key of a link attribute. */
function linkKey(ifindex: unknown, attribute: string): string {
  return `link ${str(ifindex)} ${attribute}`;
}

/** The absent value of a kind: `null` for a link attribute, `[]` otherwise. */
export function absent(kind: EffectKind): unknown {
  return kind === "link" ? null : [];
}

/** Whether `value` means "absent" (`null`, `undefined` or `[]`). */
export function isAbsent(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

/** Whether two object values are equal (canonical texts; `undefined`, `null` and `[]` are all "absent"). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (isAbsent(a) || isAbsent(b)) return isAbsent(a) && isAbsent(b);
  return canonical(a) === canonical(b);
}

function sorted(entries: Entry[]): Entry[] {
  return entries.sort((x, y) => {
    const a = canonical(x);
    const b = canonical(y);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function grouped(
  kind: EffectKind,
  entries: readonly Entry[],
  key: (e: Entry) => string,
  out: Map<string, NetObject>,
  sort = true,
): void {
  for (const [k, l] of groupBy(entries, key)) out.set(k, { kind, key: k, value: sort ? sorted(l) : l });
}

/**
 * The objects of a snapshot, by key.
 *
 * @param s the snapshot
 * @returns every object it has (absent objects are not listed)
 * @example
 * ```ts
 * const objects = objectsOf(snapshot);
 * objects.get("link 2 mtu")?.value; // 1500
 * ```
 */
export function objectsOf(s: NetnsSnapshot): Map<string, NetObject> {
  const out = new Map<string, NetObject>();
  for (const l of s.links) {
    for (const [attr, v] of Object.entries(l)) {
      if (attr === "ifindex" || attr.startsWith("_") || v === undefined) continue;
      const key = linkKey(l.ifindex, attr);
      out.set(key, { kind: "link", key, value: v });
    }
  }
  grouped("address", s.addresses, addressKey, out);
  grouped("route", s.routes, routeKey, out);
  grouped("rule", s.rules, ruleKey, out, false);
  grouped("neighbour", s.neighbours, neighbourKey, out);
  return out;
}

/**
 * The words describing an object's value for people: `absent`, the attribute, or the entries as `ip` words.
 *
 * @param kind the object's kind
 * @param value its value
 */
export function describeValue(kind: EffectKind, value: unknown): string {
  if (isAbsent(value)) return "absent";
  if (kind === "link") return typeof value === "string" ? value : canonical(value);
  const spec = kind === "route"
    ? routeSpec
    : kind === "address"
    ? addressSpec
    : kind === "rule"
    ? ruleSpec
    : neighbourSpec;
  return (value as Entry[]).map((e) => spec(e).join(" ")).join(" | ");
}
