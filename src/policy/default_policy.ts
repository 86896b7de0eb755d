/**
 * The policy that applies with no configuration at all: read-only commands everywhere, plus the
 * mutations a pod's own routing needs, confined to the pod's interfaces. The seed's examples
 * (`ip route add 192.0.3.0/24 dev CURRENT_INTERFACE`, `ip route`, `ip addr`) pass it.
 * @module
 */
import { compileRules, DEFAULT_LIMITS, type Policy } from "./rules.ts";

/** The default allow rules (rule grammar: docs/policy.md). */
export const DEFAULT_ALLOW: readonly string[] = [
  // show/list/lst and get of every object (netns stays refused by the escape list).
  "* show|get",
  "route add|delete|replace|change dev?=@pod",
  "address add|delete|replace|change dev=@pod",
  "neighbor add|delete|replace|change dev=@pod",
  // iproute2 6.1's `ip rule` has no replace/change verbs.
  "rule add|delete iif?=@pod oif?=@pod",
  "link set dev=@pod mtu|up|down|address|txqueuelen",
];

/**
 * The default deny rules. `ip -d tuntap show` scans /proc for processes holding /dev/net/tun; the runner
 * only enters the pod's network namespace, so that /proc is the host's and the output names host processes.
 */
export const DEFAULT_DENY: readonly string[] = [
  "tuntap *",
];

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
