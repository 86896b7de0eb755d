/**
 * Normalised snapshot entries back into `ip` arguments: the selector/spec words of a route, a rule, an address
 * or a neighbour, the way iproute2 6.1 reads them. Used both to restore an entry and, joined, to describe it in
 * a difference.
 * @module
 */
import type { Entry } from "./model.ts";

function str(v: unknown): string {
  return String(v);
}

function has(e: Entry, key: string): boolean {
  return e[key] !== undefined && e[key] !== null;
}

function flagList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function via(gateway: unknown, viaObj: unknown): string[] {
  if (gateway !== undefined) return ["via", str(gateway)];
  if (typeof viaObj === "object" && viaObj !== null) {
    const o = viaObj as Record<string, unknown>;
    return ["via", ...(o.family ? [str(o.family)] : []), str(o.host)];
  }
  return [];
}

/** Route metrics (`"metrics":[{"mtu":1400,"lock":["mtu"]}]` and the like) as `mtu [lock] 1400 …`. */
function metricWords(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const words: string[] = [];
  for (const m of v) {
    if (typeof m !== "object" || m === null) continue;
    const o = m as Record<string, unknown>;
    const locked = new Set(flagList(o.lock));
    for (const [k, x] of Object.entries(o)) {
      if (k === "lock") continue;
      if (k === "features") {
        words.push("features", ...flagList(x));
        continue;
      }
      words.push(k, ...(locked.has(k) ? ["lock"] : []), str(x));
    }
  }
  return words;
}

/**
 * The words after `ip route add|del` that name and describe a route, e.g.
 * `["unicast", "default", "table", "main", "proto", "boot", "scope", "global", "via", "192.0.2.254", "dev", "eth0"]`.
 *
 * @param r a normalised route
 */
export function routeSpec(r: Entry): string[] {
  const w: string[] = [str(r.type ?? "unicast"), str(r.dst)];
  if (has(r, "from")) w.push("from", str(r.from));
  if (has(r, "tos")) w.push("tos", str(r.tos));
  if (has(r, "table")) w.push("table", str(r.table));
  if (has(r, "protocol")) w.push("proto", str(r.protocol));
  if (has(r, "scope")) w.push("scope", str(r.scope));
  if (has(r, "metric")) w.push("metric", str(r.metric));
  if (has(r, "nhid")) w.push("nhid", str(r.nhid));
  else if (!Array.isArray(r.nexthops)) w.push(...via(r.gateway, r.via));
  if (has(r, "dev") && !has(r, "nhid")) w.push("dev", str(r.dev));
  if (has(r, "prefsrc")) w.push("src", str(r.prefsrc));
  if (has(r, "pref")) w.push("pref", str(r.pref));
  if (has(r, "realms")) w.push("realms", str(r.realms));
  w.push(...metricWords(r.metrics));
  for (const f of flagList(r.flags)) if (f === "onlink" || f === "pervasive") w.push(f);
  if (Array.isArray(r.nexthops) && !has(r, "nhid")) {
    for (const nh of r.nexthops as Record<string, unknown>[]) {
      w.push("nexthop", ...via(nh.gateway, nh.via));
      if (nh.dev !== undefined) w.push("dev", str(nh.dev));
      if (nh.weight !== undefined) w.push("weight", str(nh.weight));
      for (const f of flagList(nh.flags)) if (f === "onlink") w.push(f);
    }
  }
  return w;
}

/** Whether a route needs another route to reach its gateway (added after routes without one). */
export function routeHasGateway(r: Entry): boolean {
  return has(r, "gateway") || has(r, "via") || Array.isArray(r.nexthops) || has(r, "nhid");
}

function prefix(addr: unknown, len: unknown): string {
  return len === undefined ? str(addr) : `${str(addr)}/${str(len)}`;
}

function ports(e: Entry, name: string): string[] {
  if (has(e, name)) return [name, str(e[name])];
  if (has(e, `${name}_start`)) return [name, `${str(e[`${name}_start`])}-${str(e[`${name}_end`])}`];
  return [];
}

/**
 * The words after `ip rule add|del` for a rule, e.g. `["priority", "100", "from", "192.0.2.0/24", "table", "100"]`.
 *
 * @param r a normalised rule
 */
export function ruleSpec(r: Entry): string[] {
  const w: string[] = ["priority", str(r.priority)];
  if ("not" in r) w.push("not");
  if (has(r, "src")) w.push("from", r.src === "all" ? "all" : prefix(r.src, r.srclen));
  if (has(r, "dst")) w.push("to", prefix(r.dst, r.dstlen));
  if (has(r, "tos")) w.push("tos", str(r.tos));
  if (has(r, "fwmark")) {
    w.push("fwmark", has(r, "fwmask") ? `${str(r.fwmark)}/${str(r.fwmask)}` : str(r.fwmark));
  }
  if (has(r, "iif")) w.push("iif", str(r.iif));
  if (has(r, "oif")) w.push("oif", str(r.oif));
  if (r.l3mdev === true || r.l3mdev === null) w.push("l3mdev");
  if (has(r, "uid_start")) w.push("uidrange", `${str(r.uid_start)}-${str(r.uid_end)}`);
  if (has(r, "ipproto")) w.push("ipproto", str(r.ipproto));
  w.push(...ports(r, "sport"), ...ports(r, "dport"));
  if (has(r, "tun_id")) w.push("tun_id", str(r.tun_id));
  if (has(r, "goto")) w.push("goto", str(r.goto));
  else if (has(r, "table")) w.push("table", str(r.table));
  if (has(r, "suppress_prefixlen")) w.push("suppress_prefixlength", str(r.suppress_prefixlen));
  if (has(r, "suppress_ifgroup")) w.push("suppress_ifgroup", str(r.suppress_ifgroup));
  if (has(r, "realms")) w.push("realms", str(r.realms));
  if (has(r, "action")) w.push("type", str(r.action));
  if (has(r, "protocol") && r.protocol !== "unspec") w.push("protocol", str(r.protocol));
  return w;
}

/**
 * The words naming an address (for `ip addr del`), e.g. `["192.0.2.1/24", "dev", "eth0"]`.
 *
 * @param a a normalised address
 */
export function addressSelector(a: Entry): string[] {
  const local = has(a, "address") ? [str(a.local), "peer", prefix(a.address, a.prefixlen)] : [
    prefix(a.local, a.prefixlen),
  ];
  return [...local, "dev", str(a.dev)];
}

const ADDR_FLAGS = ["noprefixroute", "nodad", "home", "mngtmpaddr", "autojoin", "optimistic"] as const;

/**
 * The words after `ip addr add|replace` for an address with all it carries (scope, label, broadcast, flags,
 * metric, finite lifetimes).
 *
 * @param a a normalised address
 */
export function addressSpec(a: Entry): string[] {
  const w = addressSelector(a);
  if (has(a, "scope")) w.push("scope", str(a.scope));
  if (a.family === 4 && has(a, "label")) w.push("label", str(a.label));
  if (has(a, "broadcast")) w.push("broadcast", str(a.broadcast));
  if (has(a, "anycast")) w.push("anycast", str(a.anycast));
  if (has(a, "metric")) w.push("metric", str(a.metric));
  for (const f of ADDR_FLAGS) if (a[f] === true) w.push(f);
  const lft = a._lifetimes as { valid: number; preferred: number } | undefined;
  if (lft) w.push("valid_lft", str(lft.valid), "preferred_lft", str(lft.preferred));
  return w;
}

/**
 * The words after `ip neigh replace` for a permanent neighbour.
 *
 * @param n a normalised neighbour
 */
export function neighbourSpec(n: Entry): string[] {
  const w = [str(n.dst)];
  if (has(n, "lladdr")) w.push("lladdr", str(n.lladdr));
  w.push("dev", str(n.dev), "nud", "permanent");
  if ("router" in n) w.push("router");
  if ("extern_learn" in n) w.push("extern_learn");
  return w;
}

/** `-4` or `-6` for an entry's family. */
export function familyFlag(e: Entry): string {
  return e.family === 6 ? "-6" : "-4";
}
