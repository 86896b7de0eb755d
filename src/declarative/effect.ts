/**
 * The effect of a list (what it changed relative to where it started, object by object), how effects compose,
 * whether an effect still holds in an observed netns, and the snapshot that takes an effect back. Pure: no I/O.
 * Every function works on snapshots, never on what a command says.
 *
 * @example
 * ```ts
 * const effect = effectBetween(before, after, ["route add 192.0.3.0/24 dev eth0"]);
 * effectDifferences(effect, laterSnapshot); // [] while it holds
 * const target = takeBackTarget(laterSnapshot, effect); // restoreNetns(target, bins) takes it back
 * ```
 * @module
 */
import {
  absent,
  addressKey,
  canonical,
  describeValue,
  type Entry,
  isAbsent,
  neighbourKey,
  type NetnsSnapshot,
  type NetObject,
  objectsOf,
  routeKey,
  ruleKey,
  sameValue,
} from "./objects.ts";
import type { EffectItem, EffectKind } from "../wire/effect.ts";
import { isPendingLocalRoute } from "../netns/model.ts";

export type { EffectItem };

/** One object whose value differs between two snapshots. */
export interface Change {
  kind: EffectKind;
  key: string;
  before: unknown;
  after: unknown;
}

/** Kinds in the order changes are listed (and taken back). */
const KIND_ORDER: Record<EffectKind, number> = { link: 0, address: 1, route: 2, rule: 3, neighbour: 4 };

/*
 * Ownership is by entry for the kinds whose value is a list of entries (routes, rules, addresses, neighbours):
 * an item owns the entries chainsaw added (in `set`, not in `base`) and the absence of those it deleted (in
 * `base`, not in `set`), never the other entries of the object. Two attachments of one pod share a netns, and
 * objects share a key across devices (the rules of one priority, IPv4 routes of one prefix on two interfaces,
 * `ip route append`): another attachment's rule of the same priority is not a drift of this one, and taking this
 * one back removes its own rule only. A link attribute is one value: owned whole.
 */

function entriesOf(value: unknown): Entry[] {
  return Array.isArray(value) ? value as Entry[] : [];
}

function textSet(entries: readonly Entry[]): Set<string> {
  return new Set(entries.map(canonical));
}

/** The entries chainsaw added (`set` ∖ `base`) and deleted (`base` ∖ `set`) in a list-valued item. */
function entryDelta(base: unknown, set: unknown): { added: Entry[]; removed: Entry[] } {
  const b = entriesOf(base);
  const s = entriesOf(set);
  const bt = textSet(b);
  const st = textSet(s);
  return { added: s.filter((e) => !bt.has(canonical(e))), removed: b.filter((e) => !st.has(canonical(e))) };
}

/** Whether an item changes nothing (a list-valued one: no entry added or deleted, whatever the order). */
function unchanged(kind: EffectKind, base: unknown, set: unknown): boolean {
  if (kind === "link") return sameValue(base, set);
  const { added, removed } = entryDelta(base, set);
  return added.length === 0 && removed.length === 0;
}

/**
 * `have` without the entries of `drop`, with the entries of `add` it lacks put where `order` has them (the rules
 * of one priority are tried in list order): each before the first entry of `have` that comes after it in
 * `order`, the rest at the end.
 */
function editEntries(
  have: unknown,
  drop: readonly Entry[],
  add: readonly Entry[],
  order: unknown = add,
): Entry[] {
  const dt = textSet(drop);
  const kept = entriesOf(have).filter((e) => !dt.has(canonical(e)));
  const kt = textSet(kept);
  const pos = new Map(entriesOf(order).map((e, i) => [canonical(e), i]));
  const todo = add.filter((e, i, all) =>
    !kt.has(canonical(e)) && all.findIndex((x) => canonical(x) === canonical(e)) === i
  )
    .map((e) => ({ e, i: pos.get(canonical(e)) ?? Infinity }))
    .sort((a, b) => a.i - b.i);
  const out: Entry[] = [];
  let t = 0;
  for (const k of kept) {
    const ki = pos.get(canonical(k));
    if (ki !== undefined) { while (t < todo.length && todo[t].i < ki) out.push(todo[t++].e); }
    out.push(k);
  }
  while (t < todo.length) out.push(todo[t++].e);
  return out;
}

/**
 * Whether an effect item holds in an observed value: a link attribute is the value chainsaw set; a list-valued
 * object has every entry chainsaw added and none it deleted (other entries are not chainsaw's).
 *
 * @param item the effect item
 * @param have the object's observed value (absent: `null` / `[]` / undefined)
 */
export function itemHolds(item: EffectItem, have: unknown): boolean {
  if (item.kind === "link") return sameValue(have, item.set);
  const { added, removed } = entryDelta(item.base, item.set);
  const ht = textSet(entriesOf(have));
  return added.every((e) => ht.has(canonical(e))) && removed.every((e) => !ht.has(canonical(e)));
}

/**
 * The value that makes an item hold again from `have`: a link attribute's `set`; for a list-valued object,
 * `have` with chainsaw's deleted entries out and its added ones in (others' entries stay).
 *
 * @param item the effect item
 * @param have the object's observed value
 */
function heldValue(item: EffectItem, have: unknown): unknown {
  if (item.kind === "link") return item.set;
  const { added, removed } = entryDelta(item.base, item.set);
  return editEntries(have, removed, added, item.set);
}

/**
 * The value that takes an item back from `have`: a link attribute's `base`; for a list-valued object, `have`
 * with chainsaw's added entries out and its deleted ones back (others' entries stay).
 *
 * @param item the effect item
 * @param have the object's observed value
 */
function takenBackValue(item: EffectItem, have: unknown): unknown {
  if (item.kind === "link") return item.base;
  const { added, removed } = entryDelta(item.base, item.set);
  return editEntries(have, added, removed, item.base);
}

/**
 * Every object whose value differs between `a` and `b`, links first, then addresses, routes, rules, neighbours.
 *
 * @param a one snapshot (or its objects)
 * @param b another one
 */
export function diffObjects(
  a: NetnsSnapshot | Map<string, NetObject>,
  b: NetnsSnapshot | Map<string, NetObject>,
): Change[] {
  // The kernel adds the `local` route of an IPv6 address when its duplicate address detection ends, whenever
  // that is: an address tentative on either side does not make its local route a change of anyone's.
  const pending = new Set([
    ...(a instanceof Map ? [] : a.tentative),
    ...(b instanceof Map ? [] : b.tentative),
  ]);
  const settled = (s: NetnsSnapshot): NetnsSnapshot =>
    pending.size === 0 ? s : { ...s, routes: s.routes.filter((r) => !isPendingLocalRoute(r, pending)) };
  const oa = a instanceof Map ? a : objectsOf(settled(a));
  const ob = b instanceof Map ? b : objectsOf(settled(b));
  const out: Change[] = [];
  for (const key of new Set([...oa.keys(), ...ob.keys()])) {
    const x = oa.get(key);
    const y = ob.get(key);
    const kind = (x ?? y)!.kind;
    const before = x?.value ?? absent(kind);
    const after = y?.value ?? absent(kind);
    if (!sameValue(before, after)) out.push({ kind, key, before, after });
  }
  return out.sort((p, q) => KIND_ORDER[p.kind] - KIND_ORDER[q.kind]);
}

/**
 * What a run (or one command) changed, as effect items.
 *
 * @param before the snapshot before it
 * @param after the snapshot after it
 * @param by the commands to credit (normalised argv joined by blanks)
 */
export function effectBetween(
  before: NetnsSnapshot | Map<string, NetObject>,
  after: NetnsSnapshot | Map<string, NetObject>,
  by: readonly string[] = [],
): EffectItem[] {
  return diffObjects(before, after).filter((c) => !unchanged(c.kind, c.before, c.after)).map((c) => ({
    key: c.key,
    kind: c.kind,
    base: c.before,
    set: c.after,
    by: [...by],
  }));
}

/**
 * An effect followed by a step (the next command, or the next run): a key in both keeps the old `base` and takes
 * the step's `set` and `by`; an item whose `set` equals its `base` drops out (chainsaw does not own what it put
 * back as it was).
 *
 * @param old the effect so far
 * @param step what came after it (its `base` values are the old `set` values)
 */
export function composeEffect(old: readonly EffectItem[], step: readonly EffectItem[]): EffectItem[] {
  const byKey = new Map(old.map((i) => [i.key, { ...i, by: [...i.by] }]));
  for (const s of step) {
    const prev = byKey.get(s.key);
    byKey.set(s.key, prev ? { ...composeItem(prev, s), by: [...s.by] } : { ...s, by: [...s.by] });
  }
  return [...byKey.values()].filter((i) => !unchanged(i.kind, i.base, i.set)).sort((p, q) =>
    KIND_ORDER[p.kind] - KIND_ORDER[q.kind]
  );
}

/**
 * One item followed by a step on the same object. A link attribute keeps the old `base` and takes the step's
 * `set`. A list-valued object composes by entry: added = what the old item added and the step did not delete,
 * plus what the step added that the old item had not deleted; deleted likewise. The step's `base` may hold
 * entries that are not chainsaw's (another attachment's rule of the same priority): they are owned only when
 * the step deleted them.
 */
function composeItem(prev: EffectItem, s: EffectItem): EffectItem {
  if (prev.kind === "link") return { ...prev, set: s.set };
  const p = entryDelta(prev.base, prev.set);
  const q = entryDelta(s.base, s.set);
  const pa = textSet(p.added);
  const pr = textSet(p.removed);
  const qa = textSet(q.added);
  const qr = textSet(q.removed);
  const added = [
    ...p.added.filter((e) => !qr.has(canonical(e))),
    ...q.added.filter((e) => !pr.has(canonical(e))),
  ];
  const removed = [
    ...p.removed.filter((e) => !qa.has(canonical(e))),
    ...q.removed.filter((e) => !pa.has(canonical(e))),
  ];
  // base: the old base and any other entry the step deleted; set: base without the deleted, with the added —
  // ordered as the step left the object where it can be.
  const base = editEntries(prev.base, [], removed);
  const want = editEntries(base, removed, added);
  const wt = textSet(want);
  const inStep = entriesOf(s.set).filter((e) => wt.has(canonical(e)));
  return { ...prev, base, set: editEntries(inStep, [], want) };
}

/** An effect item that does not hold: what chainsaw set, and what is there now. */
export interface EffectDifference {
  key: string;
  kind: EffectKind;
  /**
   * The value that makes it hold: what chainsaw set (a link attribute), or the observed entries with chainsaw's
   * added ones in and its deleted ones out (a list-valued object; others' entries stay).
   */
  want: unknown;
  /** The value observed. */
  have: unknown;
  /** One line for people, e.g. `route v4 main 192.0.3.0/24: gone (chainsaw set: unicast …)`. */
  text: string;
}

/**
 * Describes an object key for people: link keys name the interface when the snapshot knows it.
 *
 * @param key the object key
 * @param objects the objects of a snapshot (for link names), optional
 */
export function describeKey(key: string, objects?: Map<string, NetObject>): string {
  if (!key.startsWith("link ")) return key;
  const [, ifindex, attr] = key.split(" ");
  const name = objects?.get(`link ${ifindex} ifname`)?.value;
  return `link ${typeof name === "string" ? name : `#${ifindex}`} ${attr}`;
}

function differenceText(kind: EffectKind, want: unknown, have: unknown, name: string): string {
  if (isAbsent(have)) return `${name}: gone (chainsaw set: ${describeValue(kind, want)})`;
  if (isAbsent(want)) return `${name}: back (chainsaw deleted it): ${describeValue(kind, have)}`;
  return `${name}: ${describeValue(kind, have)}, chainsaw set ${describeValue(kind, want)}`;
}

/**
 * Whether an effect holds in an observed netns: `[]` when every item's current value is the value chainsaw set,
 * else the items that differ, in effect order (the first differences first).
 *
 * @param effect the effect (its items)
 * @param observed a snapshot of the netns now (or its objects)
 * @returns the differences
 * @example
 * ```ts
 * const diffs = effectDifferences(attachment.effect.items, await snapshotNetns(netns, bins));
 * if (diffs.length > 0) console.log(`drifted: ${diffs[0].text}`);
 * ```
 */
export function effectDifferences(
  effect: readonly EffectItem[],
  observed: NetnsSnapshot | Map<string, NetObject>,
): EffectDifference[] {
  const objects = observed instanceof Map ? observed : objectsOf(observed);
  const out: EffectDifference[] = [];
  for (const item of effect) {
    const have = objects.get(item.key)?.value ?? absent(item.kind);
    if (itemHolds(item, have)) continue;
    out.push({
      key: item.key,
      kind: item.kind,
      want: heldValue(item, have),
      have,
      text: differenceText(item.kind, item.set, have, describeKey(item.key, objects)),
    });
  }
  return out;
}

/**
 * One line describing an effect item for people: `route v4 main 192.0.3.0/24: absent → unicast …`.
 *
 * @param item the item
 * @param objects a snapshot's objects, for link names (optional)
 */
export function describeItem(item: EffectItem, objects?: Map<string, NetObject>): string {
  return `${describeKey(item.key, objects)}: ${describeValue(item.kind, item.base)} → ${
    describeValue(item.kind, item.set)
  }`;
}

/**
 * One line saying how an effect item was taken back: `route v4 main 192.0.3.0/24: removed (chainsaw added it)`,
 * `route v4 main default: restored: unicast default … via 10.99.0.1 …`, `link eth0 mtu: 1400 → 1500 (baseline)`.
 *
 * @param item the item taken back
 * @param objects a snapshot's objects, for link names (optional)
 */
export function describeTakenBack(item: EffectItem, objects?: Map<string, NetObject>): string {
  const name = describeKey(item.key, objects);
  if (isAbsent(item.base)) return `${name}: removed (chainsaw added it)`;
  if (isAbsent(item.set)) return `${name}: restored: ${describeValue(item.kind, item.base)}`;
  return `${name}: ${describeValue(item.kind, item.set)} → ${describeValue(item.kind, item.base)} (baseline)`;
}

function setLinkAttr(link: Record<string, unknown>, attr: string, value: unknown): void {
  if (value === undefined || value === null) delete link[attr];
  else link[attr] = value;
}

/**
 * The snapshot in which `items` are back at their baseline values and everything else is as `observed` has it
 * (a list-valued object loses the entries chainsaw added and gets back those it deleted; its other entries stay):
 * what `restoreNetns` is given to take an effect (or part of it) back.
 *
 * @param observed the netns now
 * @param items the effect items to take back
 * @returns the target snapshot
 */
export function takeBackTarget(observed: NetnsSnapshot, items: readonly EffectItem[]): NetnsSnapshot {
  const objects = objectsOf(observed);
  return withValues(
    observed,
    items.map((i) => ({ key: i.key, kind: i.kind, value: takenBackValue(i, objects.get(i.key)?.value) })),
  );
}

/**
 * The snapshot `s` with each of `values` put in place (an absent value removes the object): the pure model of
 * running a list whose effect is known (`withValues(baseline, effect.map(set))`).
 *
 * @param s a snapshot
 * @param values objects to put in place
 */
export function withValues(s: NetnsSnapshot, values: readonly NetObject[]): NetnsSnapshot {
  const linkVals = values.filter((v) => v.kind === "link");
  const others = new Map(values.filter((v) => v.kind !== "link").map((v) => [v.key, v]));
  // Links: attributes per ifindex; a link whose `ifname` becomes absent is gone, one that gains it appears.
  const links = new Map<unknown, Record<string, unknown>>(s.links.map((l) => [String(l.ifindex), { ...l }]));
  for (const v of linkVals) {
    const [, ifindex, attr] = v.key.split(" ");
    let l = links.get(ifindex);
    if (!l) {
      if (isAbsent(v.value)) continue;
      l = { ifindex: Number(ifindex) };
      links.set(ifindex, l);
    }
    setLinkAttr(l, attr, v.value);
  }
  const linkList = [...links.values()].filter((l) => l.ifname !== undefined).sort((a, b) =>
    Number(a.ifindex) - Number(b.ifindex)
  ) as Entry[];
  const replace = (kind: EffectKind, entries: readonly Entry[], key: (e: Entry) => string): Entry[] => {
    const out = entries.filter((e) => !others.has(key(e)));
    for (const v of others.values()) if (v.kind === kind && Array.isArray(v.value)) out.push(...v.value);
    return out;
  };
  const addresses = replace("address", s.addresses, addressKey);
  // IPv4: the primary of each subnet first (the kernel makes the first address of a subnet its primary).
  addresses.sort((a, b) =>
    Number(a.family) - Number(b.family) || Number(a.ifindex) - Number(b.ifindex) ||
    Number(a.family === 4 && a.secondary === true) - Number(b.family === 4 && b.secondary === true)
  );
  const rules = replace("rule", s.rules, ruleKey);
  rules.sort((a, b) => Number(a.family) - Number(b.family) || Number(a.priority) - Number(b.priority));
  return {
    netns: s.netns,
    links: linkList,
    addresses,
    routes: replace("route", s.routes, routeKey),
    rules,
    neighbours: replace("neighbour", s.neighbours, neighbourKey),
    tentative: s.tentative,
  };
}
