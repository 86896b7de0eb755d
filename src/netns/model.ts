/**
 * The snapshot's data model and how raw `ip -j -d` documents become it: kernel-managed fields (statistics,
 * timers, lifetimes counting down, operstate and carrier flags, DAD's `tentative`) are dropped so two snapshots
 * of an unchanged netns compare equal, and every entry records its family.
 *
 * Fields whose name starts with `_` are kept for the restore but never compared (an address's remaining
 * lifetimes).
 *
 * Pure (no I/O): the executor (src/exec/) takes and restores snapshots, the declarative model
 * (src/declarative/) reads them as objects.
 * @module
 */

/**
 * The parsed `ip -j -d` documents a snapshot is built from (exec's `_snapshot_dump.ts` takes them: `link show`
 * and, per family, `addr show`, `route show table all`, `rule show`, `neigh show nud permanent`).
 */
export interface RawDumps {
  links: unknown;
  addr4: unknown;
  route4: unknown;
  rule4: unknown;
  neigh4: unknown;
  addr6: unknown;
  route6: unknown;
  rule6: unknown;
  neigh6: unknown;
}

/** A dump could not be taken or parsed. */
export class DumpError extends Error {
  /**
   * @param message what went wrong
   * @param options the underlying error, if any
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DumpError";
  }
}

/** One dumped object (a link, an address, a route, a rule, a neighbour) after normalisation. */
export type Entry = Readonly<Record<string, unknown>>;

/** Address family of an entry. */
export type Family = 4 | 6;

/** The state of a network namespace that chainsaw's commands can change. */
export interface NetnsSnapshot {
  /** The namespace path the snapshot was taken in. */
  readonly netns: string;
  /** Links by `ip -j -d link show`, in ifindex order. */
  readonly links: readonly Entry[];
  /** Addresses (`family`, `ifindex`, `dev` added), v4 in kernel order per link, then v6. */
  readonly addresses: readonly Entry[];
  /** Routes of every table (`family` added). */
  readonly routes: readonly Entry[];
  /** Policy rules in priority order (`family` added). */
  readonly rules: readonly Entry[];
  /** Permanent neighbours (`family` added). */
  readonly neighbours: readonly Entry[];
  /** IPv6 addresses still in duplicate address detection: their `local` routes are the kernel's to add. */
  readonly tentative: readonly string[];
}

const LINK_DROP = new Set([
  "operstate",
  "qdisc",
  "promiscuity",
  "allmulti",
  "stats",
  "stats64",
  "carrier_changes",
  "carrier_up_count",
  "carrier_down_count",
  "addr_info",
  "linkmode",
]);
/** Link flags the kernel sets by itself (carrier, operational state). */
const LINK_FLAG_DROP = new Set(["LOWER_UP", "NO-CARRIER", "DORMANT", "M-DOWN", "ECHO", "RUNNING"]);
const ADDR_DROP = new Set(["valid_life_time", "preferred_life_time", "tentative", "deprecated"]);
const ROUTE_DROP = new Set(["expires", "cache", "age"]);
/** Route and nexthop flags that describe kernel state, not configuration. */
const ROUTE_FLAG_DROP = new Set([
  "linkdown",
  "dead",
  "offload",
  "trap",
  "offload_failed",
  "rt_offload",
  "rt_trap",
  "rt_offload_failed",
]);
const NEIGH_DROP = new Set(["used", "confirmed", "updated", "probes", "refcnt"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function list(doc: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(doc) || !doc.every(isObject)) {
    throw new DumpError(`${what}: expected a JSON array of objects`);
  }
  return doc;
}

function without(o: Record<string, unknown>, drop: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!drop.has(k)) out[k] = v;
  return out;
}

/** Drops `*_timer` keys anywhere below `v` (bridge and bridge-port timers in `linkinfo`). */
function withoutTimers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimers);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.endsWith("_timer")) out[k] = withoutTimers(x);
  return out;
}

function filterFlags(v: unknown, drop: Set<string>): unknown {
  return Array.isArray(v) ? v.filter((f) => !drop.has(String(f))).map(String).sort() : v;
}

/**
 * Normalises one `ip -j -d link show` entry.
 *
 * @param raw the entry as ip printed it
 */
function normaliseLink(raw: Record<string, unknown>): Entry {
  const out = without(raw, LINK_DROP);
  out.flags = filterFlags(raw.flags, LINK_FLAG_DROP);
  if ("linkinfo" in out) out.linkinfo = withoutTimers(out.linkinfo);
  return out;
}

/**
 * Normalises one `addr_info` entry of a link.
 *
 * @param link the link entry it belongs to
 * @param raw the `addr_info` entry
 */
function normaliseAddress(link: Record<string, unknown>, raw: Record<string, unknown>): Entry {
  const family: Family = raw.family === "inet6" ? 6 : 4;
  const out: Record<string, unknown> = {
    ...without(raw, ADDR_DROP),
    family,
    ifindex: link.ifindex,
    dev: link.ifname,
  };
  const valid = raw.valid_life_time;
  const preferred = raw.preferred_life_time;
  if (typeof valid === "number" && valid !== 0xffffffff) {
    out._lifetimes = { valid, preferred: typeof preferred === "number" ? preferred : valid };
  }
  return out;
}

/**
 * Normalises one route.
 *
 * @param family the dump's family
 * @param raw the route as ip printed it
 */
function normaliseRoute(family: Family, raw: Record<string, unknown>): Entry {
  const out: Record<string, unknown> = { ...without(raw, ROUTE_DROP), family };
  if (Array.isArray(raw.flags)) out.flags = filterFlags(raw.flags, ROUTE_FLAG_DROP);
  if (Array.isArray(raw.nexthops)) {
    out.nexthops = raw.nexthops.map((nh) =>
      isObject(nh) && Array.isArray(nh.flags) ? { ...nh, flags: filterFlags(nh.flags, ROUTE_FLAG_DROP) } : nh
    );
  }
  return out;
}

/**
 * Normalises one neighbour.
 *
 * @param family the dump's family
 * @param raw the neighbour as ip printed it
 */
function normaliseNeighbour(family: Family, raw: Record<string, unknown>): Entry {
  return { ...without(raw, NEIGH_DROP), family };
}

/**
 * Builds a snapshot from the raw dumps.
 *
 * @param netns the namespace path
 * @param dumps the parsed `ip -j -d` documents
 * @example
 * ```ts
 * const snap = buildSnapshot("/var/run/netns/x", await takeDumps(opts));
 * ```
 */
export function buildSnapshot(netns: string, dumps: RawDumps): NetnsSnapshot {
  const links = list(dumps.links, "link show");
  const addresses: Entry[] = [];
  const tentative: string[] = [];
  for (const [doc, what] of [[dumps.addr4, "addr show (v4)"], [dumps.addr6, "addr show (v6)"]] as const) {
    for (const link of list(doc, what)) {
      const infos = Array.isArray(link.addr_info) ? link.addr_info.filter(isObject) : [];
      for (const info of infos) {
        addresses.push(normaliseAddress(link, info));
        if (info.family === "inet6" && info.tentative === true && info.dadfailed !== true) {
          tentative.push(String(info.local));
        }
      }
    }
  }
  const routes = [
    ...list(dumps.route4, "route show (v4)").map((r) => normaliseRoute(4, r)),
    ...list(dumps.route6, "route show (v6)").map((r) => normaliseRoute(6, r)),
  ];
  const rules = [
    ...list(dumps.rule4, "rule show (v4)").map((r) => ({ ...r, family: 4 })),
    ...list(dumps.rule6, "rule show (v6)").map((r) => ({ ...r, family: 6 })),
  ];
  const neighbours = [
    ...list(dumps.neigh4, "neigh show (v4)").map((n) => normaliseNeighbour(4, n)),
    ...list(dumps.neigh6, "neigh show (v6)").map((n) => normaliseNeighbour(6, n)),
  ];
  return { netns, links: links.map(normaliseLink), addresses, routes, rules, neighbours, tentative };
}

/**
 * A canonical text of an entry: keys sorted at every level, `_` keys left out. Equal texts mean equal entries.
 * Entries must not be mutated after their first call (the text is cached per object).
 *
 * @param v the entry (or any JSON value)
 * @example
 * ```ts
 * canonical({ b: 1, a: [2], _x: 3 }); // '{"a":[2],"b":1}'
 * ```
 */
export function canonical(v: unknown): string {
  if (typeof v !== "object" || v === null) return JSON.stringify(v) ?? "null";
  const known = canonicalCache.get(v);
  if (known !== undefined) return known;
  let text: string;
  if (Array.isArray(v)) {
    text = `[${v.map(canonical).join(",")}]`;
  } else {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => !k.startsWith("_")).sort();
    text = `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  canonicalCache.set(v, text);
  return text;
}

/** Snapshot entries are never mutated, so an entry's canonical text is computed once. */
const canonicalCache = new WeakMap<object, string>();

/**
 * Whether a route is the kernel's `local` route for an address still in duplicate address detection (the
 * kernel adds it when DAD ends; neither side of a comparison should count it, the restore never touches it).
 *
 * @param route a normalised route
 * @param tentative addresses in DAD
 */
export function isPendingLocalRoute(route: Entry, tentative: ReadonlySet<string>): boolean {
  return route.family === 6 && route.type === "local" && route.protocol === "kernel" &&
    tentative.has(String(route.dst));
}
