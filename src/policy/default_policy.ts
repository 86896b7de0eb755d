/**
 * The policy that applies with no configuration at all: read-only commands everywhere, plus the
 * mutations a pod's own routing needs, confined to the pod's interfaces. The seed's examples
 * (`ip route add 192.0.3.0/24 dev CURRENT_INTERFACE`, `ip route`, `ip addr`) pass it.
 *
 * It grants no identity change on a shared L2: no hardware address, broadcast, ARP, multicast or
 * promiscuous setting, no address, neighbour (proxy entries included), IPv6 token or address generation
 * mode, no `link add` (macvlan/ipvlan on a pod interface are new identities), no `local`/`broadcast`/
 * `anycast`/`multicast`/`nat` routes and nothing in the `local` table (a `local` route makes the kernel
 * answer ARP for that address). Without chainsaw each of these needs NET_ADMIN, which Pod Security
 * "baseline" refuses; a node policy opts in with the rules docs/policy.md lists ({@link OPT_IN_RULES}).
 * @module
 */
import { compileRules, DEFAULT_LIMITS, type Policy } from "./rules.ts";

/** The default allow rules (rule grammar: docs/policy.md). */
export const DEFAULT_ALLOW: readonly string[] = [
  // show/list/lst and get of every object (netns and tuntap stay refused by the escape list).
  "* show|get",
  // Routes on the pod's devices in any table but `local`, of the types that only steer the pod's own traffic.
  "route add|delete|replace|change dev?=@pod type?=unicast,blackhole,unreachable,prohibit,throw " +
  "table?=0-254,256-4294967295",
  // Removing an address or neighbour entry only takes something away from the pod itself.
  "address delete dev=@pod",
  "neighbor delete dev=@pod",
  // iproute2 6.1's `ip rule` has no replace/change verbs.
  "rule add|delete iif?=@pod oif?=@pod",
  "link set dev=@pod mtu|up|down|txqueuelen",
];

/**
 * The default deny rules: none. Built-in refusals (`tuntap`, `vrf pids`, ...) are on the escape list
 * (escape.ts), which no policy can drop; a node document's `deny` list replaces this one.
 */
export const DEFAULT_DENY: readonly string[] = [];

/**
 * Rules a node policy adds to its `allow` list to grant what the default refuses, by name (docs/policy.md
 * says what each grants and why it is dangerous). The default policy itself never contains them.
 */
export const OPT_IN_RULES: Readonly<Record<string, string>> = {
  "link-address": "link set dev=@pod address|broadcast",
  "link-flags": "link set dev=@pod arp|multicast|allmulticast|promisc",
  "addrgenmode": "link set dev=@pod addrgenmode",
  "ipv6-token": "token set dev=@pod",
  "addresses": "address add|replace|change dev=@pod",
  "neighbours": "neighbor add|replace|change dev=@pod to|lladdr|nud|router|use|managed|extern_learn|protocol",
  "proxy-neighbours": "neighbor add|replace|change dev=@pod proxy",
  "local-routes": "route add|delete|replace|change dev?=@pod",
  "resolve": "* show|get -resolve",
};

let compiled: Policy | undefined;

/** The compiled default policy (compiled on first use, then shared; treat it as read-only). */
export function defaultPolicy(): Policy {
  compiled ??= {
    allow: compileRules(DEFAULT_ALLOW, "default", "allow", "default policy"),
    deny: compileRules(DEFAULT_DENY, "default", "deny", "default policy"),
    limits: { ...DEFAULT_LIMITS },
  };
  return compiled;
}
