/**
 * What to run to bring a netns from its current snapshot back to a desired one, one phase at a time: links,
 * addresses, routes, rules, neighbours. Each phase is planned against a fresh snapshot taken after the phase
 * before it ran (a link set up or down adds and drops addresses, routes and neighbours; an address adds and drops
 * kernel routes), so a plan only fixes what is still different.
 *
 * Every command is an `ip` argv (family flag first where it matters) built from chainsaw's own snapshot, never
 * from a pod's annotation.
 * @module
 */
import { groupBy, multisetDiff } from "../netns/diff.ts";
import { canonical, type Entry, isPendingLocalRoute, type NetnsSnapshot } from "../netns/model.ts";
import {
  addressSelector,
  addressSpec,
  familyFlag,
  neighbourSpec,
  routeHasGateway,
  routeSpec,
  ruleSpec,
} from "../netns/spec.ts";

/** The commands of one phase and what cannot be restored at all. */
export interface PhasePlan {
  /** `ip` argv lists, in order. */
  commands: string[][];
  /** Differences no `ip` command can undo (a deleted link). */
  problems: string[];
}

/** One phase's planner. */
export type Planner = (desired: NetnsSnapshot, current: NetnsSnapshot) => PhasePlan;

function flags(l: Entry): Set<string> {
  return new Set(Array.isArray(l.flags) ? l.flags.map(String) : []);
}

/** `link set` toggles: flag → [keyword, value when the flag is set, value when it is not]. */
const FLAG_TOGGLES: ReadonlyArray<[string, string, string, string]> = [
  ["NOARP", "arp", "off", "on"],
  ["MULTICAST", "multicast", "on", "off"],
  ["ALLMULTI", "allmulticast", "on", "off"],
  ["PROMISC", "promisc", "on", "off"],
  ["DYNAMIC", "dynamic", "on", "off"],
  ["NOTRAILERS", "trailers", "off", "on"],
];

/** Plain `link set` attributes: JSON key → keyword. */
const LINK_ATTRS: ReadonlyArray<[string, string]> = [
  ["mtu", "mtu"],
  ["address", "address"],
  ["broadcast", "broadcast"],
  ["txqlen", "txqueuelen"],
  ["group", "group"],
  ["inet6_addr_gen_mode", "addrgenmode"],
  ["gso_max_size", "gso_max_size"],
  ["gso_max_segs", "gso_max_segs"],
  ["gro_max_size", "gro_max_size"],
];

/**
 * Links: delete links the snapshot does not have, then per link name, attributes, flags, master, and admin state
 * (down first when it must go down, up last).
 *
 * @param desired the snapshot to restore
 * @param current the netns now
 */
export function planLinks(desired: NetnsSnapshot, current: NetnsSnapshot): PhasePlan {
  const commands: string[][] = [];
  const problems: string[] = [];
  const now = new Map(current.links.map((l) => [l.ifindex, l]));
  const wanted = new Set(desired.links.map((l) => l.ifindex));
  const extra = current.links.filter((c) => !wanted.has(c.ifindex));
  const extraIndexes = new Set(extra.map((c) => c.ifindex));
  const deleted = new Set<unknown>();
  for (const c of extra) {
    // Deleting one end of a veth pair made inside the netns deletes the other end too.
    if (c.link_netnsid === undefined && deleted.has(c.link_index) && extraIndexes.has(c.link_index)) continue;
    commands.push(["link", "del", "dev", String(c.ifname)]);
    deleted.add(c.ifindex);
  }
  for (const d of desired.links) {
    const c = now.get(d.ifindex);
    if (!c) {
      problems.push(
        `link ${String(d.ifname)} (ifindex ${String(d.ifindex)}) was deleted and cannot be recreated`,
      );
      continue;
    }
    if (canonical(c) === canonical(d)) continue;
    let name = String(c.ifname);
    const set = (...words: string[]) => commands.push(["link", "set", "dev", name, ...words]);
    const df = flags(d);
    const cf = flags(c);
    let up = cf.has("UP");
    if (d.ifname !== c.ifname) {
      if (up) set("down");
      up = false;
      set("name", String(d.ifname));
      name = String(d.ifname);
    }
    if (up && !df.has("UP")) {
      set("down");
      up = false;
    }
    for (const [key, word] of LINK_ATTRS) {
      if (d[key] !== undefined && canonical(d[key]) !== canonical(c[key])) set(word, String(d[key]));
    }
    if ((d.ifalias ?? "") !== (c.ifalias ?? "")) set("alias", String(d.ifalias ?? ""));
    for (const [flag, word, on, off] of FLAG_TOGGLES) {
      if (df.has(flag) !== cf.has(flag)) set(word, df.has(flag) ? on : off);
    }
    if (d.master !== c.master) set(...(d.master === undefined ? ["nomaster"] : ["master", String(d.master)]));
    if (d.proto_down !== undefined && d.proto_down !== c.proto_down) {
      set("protodown", d.proto_down ? "on" : "off");
    }
    if (!up && df.has("UP")) set("up");
  }
  return { commands, problems };
}

/**
 * The commands that turn list `current` into list `desired` keeping order: keep the common prefix, delete the
 * rest of `current` from its end, add the rest of `desired` in order.
 */
function repairTail(
  desired: readonly Entry[],
  current: readonly Entry[],
  del: (e: Entry) => string[],
  add: (e: Entry) => string[],
): string[][] {
  let k = 0;
  while (k < desired.length && k < current.length && canonical(desired[k]) === canonical(current[k])) k++;
  return [...current.slice(k).reverse().map(del), ...desired.slice(k).map(add)];
}

/**
 * Addresses per link: IPv4 in order (so the primary of each subnet is primary again: a deleted primary's
 * secondaries are removed or promoted by the kernel, and re-added after it); IPv6 as a set.
 *
 * @param desired the snapshot to restore
 * @param current the netns now
 */
export function planAddresses(desired: NetnsSnapshot, current: NetnsSnapshot): PhasePlan {
  const commands: string[][] = [];
  const present = new Set(current.links.map((l) => l.ifindex));
  const key = (e: Entry) => `${String(e.ifindex)} ${String(e.family)}`;
  const want = groupBy(desired.addresses.filter((a) => present.has(a.ifindex)), key);
  const have = groupBy(current.addresses, key);
  const del = (e: Entry) => [familyFlag(e), "addr", "del", ...addressSelector(e)];
  const add = (e: Entry) => [familyFlag(e), "addr", "add", ...addressSpec(e)];
  for (const k of new Set([...want.keys(), ...have.keys()])) {
    const d = want.get(k) ?? [];
    const c = have.get(k) ?? [];
    if (k.endsWith(" 4")) {
      commands.push(...repairTail(d, c, del, add));
    } else {
      const { onlyA: missing, onlyB: extra } = multisetDiff(d, c);
      commands.push(...extra.map(del), ...missing.map(add));
    }
  }
  return { commands, problems: [] };
}

/**
 * Routes of every table, both families: delete the ones the snapshot lacks, then add the missing ones, routes
 * without a gateway first (a gateway must be reachable when its route is added). Kernel `local` routes of
 * addresses still in DAD are left to the kernel.
 *
 * @param desired the snapshot to restore
 * @param current the netns now
 */
export function planRoutes(desired: NetnsSnapshot, current: NetnsSnapshot): PhasePlan {
  const pending = new Set([...desired.tentative, ...current.tentative]);
  const keep = (r: Entry) => !isPendingLocalRoute(r, pending);
  const { onlyA: missing, onlyB: extra } = multisetDiff(
    desired.routes.filter(keep),
    current.routes.filter(keep),
  );
  missing.sort((a, b) => Number(routeHasGateway(a)) - Number(routeHasGateway(b)));
  return {
    commands: [
      ...extra.map((r) => [familyFlag(r), "route", "del", ...routeSpec(r)]),
      ...missing.map((r) => [familyFlag(r), "route", "add", ...routeSpec(r)]),
    ],
    problems: [],
  };
}

/**
 * Rules per family and priority, in order (rules of one priority are tried in list order).
 *
 * @param desired the snapshot to restore
 * @param current the netns now
 */
export function planRules(desired: NetnsSnapshot, current: NetnsSnapshot): PhasePlan {
  const key = (r: Entry) => `${String(r.family)} ${String(r.priority)}`;
  const want = groupBy(desired.rules, key);
  const have = groupBy(current.rules, key);
  const commands: string[][] = [];
  for (const k of new Set([...want.keys(), ...have.keys()])) {
    commands.push(
      ...repairTail(
        want.get(k) ?? [],
        have.get(k) ?? [],
        (r) => [familyFlag(r), "rule", "del", ...ruleSpec(r)],
        (r) => [familyFlag(r), "rule", "add", ...ruleSpec(r)],
      ),
    );
  }
  return { commands, problems: [] };
}

/**
 * Permanent neighbours: delete the ones the snapshot lacks, `replace` the missing or changed ones.
 *
 * @param desired the snapshot to restore
 * @param current the netns now
 */
export function planNeighbours(desired: NetnsSnapshot, current: NetnsSnapshot): PhasePlan {
  const id = (n: Entry) => `${String(n.family)} ${String(n.dst)} ${String(n.dev)}`;
  const { onlyA: missing, onlyB: extra } = multisetDiff(desired.neighbours, current.neighbours);
  const replaced = new Set(missing.map(id));
  return {
    commands: [
      ...extra.filter((n) => !replaced.has(id(n))).map((n) => [
        familyFlag(n),
        "neigh",
        "del",
        String(n.dst),
        "dev",
        String(n.dev),
      ]),
      ...missing.map((n) => [familyFlag(n), "neigh", "replace", ...neighbourSpec(n)]),
    ],
    problems: [],
  };
}
