/**
 * Differences between two netns snapshots, as human-readable lines: `- …` only in the first, `+ …` only in the
 * second, `~ …` present in both but changed or reordered. Routes, neighbours and IPv6 addresses compare as sets;
 * IPv4 addresses per link and rules per family compare in order (the first IPv4 address of a subnet is its
 * primary; rules of equal priority are tried in list order).
 * @module
 */
import { canonical, type Entry, isPendingLocalRoute, type NetnsSnapshot } from "./model.ts";
import { addressSpec, neighbourSpec, routeSpec, ruleSpec } from "./spec.ts";

function fam(e: Entry): string {
  return e.family === 6 ? "v6" : "v4";
}

/** The entries of `a` that `b` lacks, counting duplicates. */
function missingFrom(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const count = new Map<string, number>();
  for (const e of b) count.set(canonical(e), (count.get(canonical(e)) ?? 0) + 1);
  const out: Entry[] = [];
  for (const e of a) {
    const k = canonical(e);
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else out.push(e);
  }
  return out;
}

/** Entries of `a` missing from `b` and of `b` missing from `a`, counting duplicates. */
export function multisetDiff(a: readonly Entry[], b: readonly Entry[]): { onlyA: Entry[]; onlyB: Entry[] } {
  return { onlyA: missingFrom(a, b), onlyB: missingFrom(b, a) };
}

/** Entries grouped by `key`, in order. */
export function groupBy(entries: readonly Entry[], key: (e: Entry) => string): Map<string, Entry[]> {
  const m = new Map<string, Entry[]>();
  for (const e of entries) {
    const k = key(e);
    const l = m.get(k);
    if (l) l.push(e);
    else m.set(k, [e]);
  }
  return m;
}

function describeSet(
  kind: string,
  a: readonly Entry[],
  b: readonly Entry[],
  spec: (e: Entry) => string[],
  out: string[],
): void {
  const { onlyA, onlyB } = multisetDiff(a, b);
  const text = (e: Entry) => `${kind} (${fam(e)}): ${spec(e).join(" ")}`;
  const aTexts = new Set(onlyA.map(text));
  const bTexts = new Set(onlyB.map(text));
  // Same words on both sides means they differ in a field the words do not show: add the full entry.
  for (const e of onlyA) out.push(`- ${text(e)}${bTexts.has(text(e)) ? ` ${canonical(e)}` : ""}`);
  for (const e of onlyB) out.push(`+ ${text(e)}${aTexts.has(text(e)) ? ` ${canonical(e)}` : ""}`);
}

function describeOrdered(
  kind: string,
  a: readonly Entry[],
  b: readonly Entry[],
  spec: (e: Entry) => string[],
  out: string[],
): void {
  const before = out.length;
  describeSet(kind, a, b, spec, out);
  if (out.length === before && a.map(canonical).join("\n") !== b.map(canonical).join("\n")) {
    const order = (l: readonly Entry[]) => l.map((e) => spec(e).join(" ")).join("; ");
    out.push(`~ ${kind} (${fam(a[0])}) in another order: ${order(a)} → ${order(b)}`);
  }
}

function linkName(l: Entry): string {
  return `link ${String(l.ifname)} (ifindex ${String(l.ifindex)})`;
}

function diffLinks(a: readonly Entry[], b: readonly Entry[], out: string[]): void {
  const byIndex = new Map(b.map((l) => [l.ifindex, l]));
  for (const la of a) {
    const lb = byIndex.get(la.ifindex);
    if (!lb) {
      out.push(`- ${linkName(la)}`);
      continue;
    }
    byIndex.delete(la.ifindex);
    const keys = [...new Set([...Object.keys(la), ...Object.keys(lb)])].sort();
    const changes: string[] = [];
    for (const k of keys) {
      if (k.startsWith("_") || canonical(la[k]) === canonical(lb[k])) continue;
      const show = (v: unknown) => v === undefined ? "(none)" : canonical(v);
      changes.push(`${k} ${show(la[k])} → ${show(lb[k])}`);
    }
    if (changes.length > 0) out.push(`~ ${linkName(la)}: ${changes.join(", ")}`);
  }
  for (const lb of byIndex.values()) out.push(`+ ${linkName(lb)}`);
}

/**
 * The differences between two snapshots; empty when they are equal. Kernel `local` routes of IPv6 addresses
 * still in duplicate address detection (in either snapshot) are not counted.
 *
 * @param a the first snapshot (e.g. taken before the commands)
 * @param b the second snapshot (e.g. taken after the restore)
 * @example
 * ```ts
 * const lines = diffSnapshots(before, after);
 * if (lines.length > 0) console.log(lines.join("\n"));
 * ```
 */
export function diffSnapshots(a: NetnsSnapshot, b: NetnsSnapshot): string[] {
  const out: string[] = [];
  diffLinks(a.links, b.links, out);

  const addrKey = (e: Entry) => `${String(e.ifindex)} ${fam(e)}`;
  const aAddr = groupBy(a.addresses, addrKey);
  const bAddr = groupBy(b.addresses, addrKey);
  for (const k of new Set([...aAddr.keys(), ...bAddr.keys()])) {
    const la = aAddr.get(k) ?? [];
    const lb = bAddr.get(k) ?? [];
    const dev = String((la[0] ?? lb[0]).dev);
    if (k.endsWith("v4")) describeOrdered(`address of ${dev}`, la, lb, addressSpec, out);
    else describeSet(`address of ${dev}`, la, lb, addressSpec, out);
  }

  const pending = new Set([...a.tentative, ...b.tentative]);
  const routes = (s: NetnsSnapshot) => s.routes.filter((r) => !isPendingLocalRoute(r, pending));
  describeSet("route", routes(a), routes(b), routeSpec, out);

  for (const f of [4, 6]) {
    const ra = a.rules.filter((r) => r.family === f);
    const rb = b.rules.filter((r) => r.family === f);
    describeOrdered("rule", ra, rb, ruleSpec, out);
  }
  describeSet("neighbour", a.neighbours, b.neighbours, neighbourSpec, out);
  return out;
}
