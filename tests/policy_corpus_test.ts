/**
 * A table of benign and hostile annotations with the verdict each must get: parsed with parseAnnotation
 * (network "net-a"), judged with evaluateList (ifname "net1", pod interfaces eth0 and net1).
 *
 * Expected values: `allowed` (the list passes), `allowed:<rule>` (a one-command list passes by that rule),
 * `annotation` (parseAnnotation rejects the value), or the rule id of the first rejection.
 */
import { equal } from "node:assert/strict";
import { parseAnnotation } from "../src/annotation/annotation.ts";
import { prepareCommand } from "../src/annotation/prepare.ts";
import { DEFAULT_ALLOW, defaultPolicy, OPT_IN_RULES } from "../src/policy/default_policy.ts";
import { type EvalContext, evaluateCommand, evaluateList } from "../src/policy/evaluate.ts";
import { effectivePolicy } from "../src/policy/load.ts";
import type { Policy } from "../src/policy/rules.ts";

const ctx: EvalContext = { ifname: "net1", podInterfaces: ["eth0", "net1"], namespace: "lab" };

/** A JSON list annotation of `commands`. */
const L = (...commands: string[]): string => JSON.stringify(commands);

function judge(annotation: string, policy: Policy): string {
  let commands: string[];
  try {
    commands = parseAnnotation(annotation, "net-a");
  } catch {
    return "annotation";
  }
  const v = evaluateList(commands, policy, ctx, new TextEncoder().encode(annotation).length);
  if (!v.allowed) return v.rule;
  if (commands.length !== 1) return "allowed";
  const one = evaluateCommand(prepareCommand(commands[0], ctx.ifname).argv, policy, ctx);
  return one.allowed ? `allowed:${one.rule}` : `inconsistent:${one.rule}`;
}

const SHOW = "allowed:default.allow[0]";
const ROUTE = "allowed:default.allow[1]";
const ADDR_DEL = "allowed:default.allow[2]";
const NEIGH_DEL = "allowed:default.allow[3]";
const RULE = "allowed:default.allow[4]";
const LINK = "allowed:default.allow[5]";
const DENY = "default-deny";

/** [annotation, expected verdict] under the default policy. */
const DEFAULT_CASES: readonly (readonly [string, string])[] = [
  // --- read-only commands, any spelling
  [L("ip route"), SHOW],
  [L("ip addr"), SHOW],
  [L("ip link"), SHOW],
  [L("ip route show"), SHOW],
  [L("ip r"), SHOW],
  [L("ip ro"), SHOW],
  [L("ip rou"), SHOW],
  [L("ip a"), SHOW],
  [L("ip ad"), SHOW],
  [L("ip addr show dev net1"), SHOW],
  [L("ip -4 addr"), SHOW],
  [L("ip -6 route"), SHOW],
  [L("ip -j -p link"), SHOW],
  [L("ip -s -s link show net1"), SHOW],
  [L("ip -d link"), SHOW],
  [L("ip -br a"), SHOW],
  [L("ip -o addr"), SHOW],
  [L("ip -c route"), SHOW],
  [L("ip -color=never route"), SHOW],
  [L("ip --json route"), SHOW],
  [L("ip -N rule"), SHOW],
  [L("ip -t -ts route"), SHOW],
  [L("ip n"), SHOW],
  [L("ip neigh show dev net1"), SHOW],
  [L("ip l"), SHOW],
  [L("ip link ls"), SHOW],
  [L("ip link sh net1"), SHOW],
  [L("ip rule"), SHOW],
  [L("ip rule list"), SHOW],
  [L("ip route get 1.1.1.1"), SHOW],
  [L("ip route get 192.0.2.1 from 192.0.2.5 iif net1"), SHOW],
  [L("ip neigh get 192.0.2.1 dev net1"), SHOW],
  [L("ip maddr"), SHOW],
  [L("ip netconf"), SHOW],
  [L("ip ntable"), SHOW],
  [L("ip nexthop"), SHOW],
  [L("ip token"), SHOW],
  [L("ip tcp_metrics"), SHOW],
  [L("ip tcpm show"), SHOW],
  [L("ip addrlabel"), SHOW],
  [L("ip mroute"), SHOW],
  [L("ip mrule"), SHOW],
  [L("ip vrf"), SHOW],
  [L("ip stats"), SHOW],
  [L("ip xfrm state"), SHOW],
  [L("ip xfrm policy list"), SHOW],
  [L("ip mptcp endpoint show"), SHOW],
  [L("ip mptcp limits"), SHOW],
  [L("ip sr tunsrc show"), SHOW],
  [L("ip ioam namespace show"), SHOW],
  [L("ip tunnel"), SHOW],
  [L("ip l2tp show tunnel"), SHOW],
  [L("ip fou show"), SHOW],
  [L("ip macsec show"), SHOW],
  [L("ip ila list"), SHOW],
  [L("ip nexthop bucket list"), SHOW],
  [L("ip route show table all"), SHOW],
  [L("ip route list table main"), SHOW],
  [L("ip -4 -o -br addr show"), SHOW],
  [L("route"), SHOW],
  [L("ip -- route"), SHOW],
  [L("   ip route   "), SHOW],
  [L("ip\troute"), SHOW],
  // No shell: metacharacters are plain words that ip itself rejects; after a read-only verb the policy has
  // nothing to object to, in the verb's place they are unknown verbs.
  [L("ip route show $(reboot)"), SHOW],
  [L("ip route show && reboot"), SHOW],
  [L("ip addr show | sh"), SHOW],
  [L("ip route $(reboot)"), "parse:unknown-verb"],
  [L("ip addr | sh"), "parse:unknown-verb"],
  [L("ip route; reboot"), "parse:unknown-object"],
  // An option's argument is consumed even when it looks like an option: `-l -n` is loops=-n.
  [L("ip -l -n link"), SHOW],
  [L("ip - -n link"), SHOW],
  // --- mutations the default policy allows
  [L("ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"), "allowed"],
  [L("ip route add 192.0.3.0/24 dev net1"), ROUTE],
  [L("ip route add 192.0.3.0/24 dev eth0"), ROUTE],
  [L("ip r a 10.0.0.0/8 via 192.0.2.1"), ROUTE],
  [L("ip route replace default via 192.0.2.1 dev net1"), ROUTE],
  [L("ip route del 192.0.3.0/24 dev net1"), ROUTE],
  [L("ip route delete 192.0.3.0/24"), ROUTE],
  [L("ip r d 192.0.3.0/24"), ROUTE],
  [L("ip route change 192.0.3.0/24 dev net1 mtu 1400"), ROUTE],
  [L("ip route chg 192.0.3.0/24 dev net1"), ROUTE],
  [L("ip -6 route add 2001:db8::/32 via fe80::1 dev net1"), ROUTE],
  [L("ip route add 10.1.0.0/16 dev net1 table 100"), ROUTE],
  [
    L("ip route add 10.2.0.0/16 nexthop via 192.0.2.1 dev net1 weight 1 nexthop via 192.0.2.2 dev eth0"),
    ROUTE,
  ],
  [L("ip route add blackhole 10.3.0.0/16"), ROUTE],
  [L("ip route add 10.4.0.0/16 dev net1 proto static metric 100"), ROUTE],
  [L("ip route add -- dev net1"), ROUTE],
  [L("ip addr del 192.0.2.10/24 dev net1"), ADDR_DEL],
  [L("ip n del 192.0.2.9 dev net1"), NEIGH_DEL],
  [L("ip route add unreachable 10.5.0.0/16"), ROUTE],
  [L("ip route add uni 10.6.0.0/16 dev net1 table main"), ROUTE],
  [L("ip route add 10.7.0.0/16 dev net1 table 0"), ROUTE],
  [L("ip rule add from 192.0.2.0/24 table 100"), RULE],
  [L("ip rule add iif net1 table 100 priority 1000"), RULE],
  [L("ip rule del from 192.0.2.0/24 table 100"), RULE],
  [L("ip rule add fwmark 0x1/0xff table 100"), RULE],
  [L("ip link set net1 mtu 1400"), LINK],
  [L("ip link set dev net1 up"), LINK],
  [L("ip link set CURRENT_INTERFACE down"), LINK],
  [L("ip link set dev eth0 txqueuelen 2000"), LINK],
  [L("ip link set net1 qlen 100"), LINK],
  [L("ip l s net1 up"), LINK],
  [L("ip link change net1 mtu 1300"), LINK],
  [
    L("ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route", "ip addr", "ip link set net1 mtu 1400"),
    "allowed",
  ],
  // --- annotation forms and quoting
  ["ip route", SHOW],
  ['"ip addr"', SHOW],
  ['{"net-a": ["ip route"]}', SHOW],
  ['{"*": "ip addr"}', SHOW],
  ['{"other": ["ip netns exec x sh"]}', "allowed"],
  ["[]", "allowed"],
  ["", "allowed"],
  ["{}", "allowed"],
  [L('ip route add 192.0.3.0/24 dev "net1"'), ROUTE],
  [L("ip route add 192.0.3.0/24 dev 'CURRENT_INTERFACE'"), ROUTE],
  [L("ip route add 192.0.3.0/24 dev net\\1"), ROUTE],
  [L("ip route add 192.0.3.0/24 dev \"net\"'1'"), ROUTE],
  // --- the netns object, every spelling
  [L("ip netns exec x /bin/sh"), "escape:netns-object"],
  [L("ip net exec x /bin/sh"), "escape:netns-object"],
  [L("ip netn exec x sh"), "escape:netns-object"],
  [L("ip netns list"), "escape:netns-object"],
  [L("ip net"), "escape:netns-object"],
  [L("ip netns add evil"), "escape:netns-object"],
  [L("ip netns del x"), "escape:netns-object"],
  [L("ip netns identify 1"), "escape:netns-object"],
  [L("ip netns pids x"), "escape:netns-object"],
  [L("ip netns attach x 1"), "escape:netns-object"],
  [L("ip netns set x 1"), "escape:netns-object"],
  [L("ip netns monitor"), "escape:netns-object"],
  [L("ip netns list-id"), "escape:netns-object"],
  [L("ip netns bogus"), "escape:netns-object"],
  [L("ip -- netns exec x sh"), "escape:netns-object"],
  [L("ip 'netns' exec x sh"), "escape:netns-object"],
  [L('ip "net"ns exec x sh'), "escape:netns-object"],
  [L("ip ne\\tns exec x sh"), "escape:netns-object"],
  [L("ip netns exec x ip link"), "escape:netns-object"],
  [L("ip -all netns exec /bin/sh"), "escape:global-all"],
  [L("ip -a netns exec sh"), "escape:global-all"],
  // --- global options that switch namespace, read files or act on all namespaces
  [L("ip -n x link"), "escape:global-netns"],
  [L("ip -ne x link"), "escape:global-netns"],
  [L("ip -net x link"), "escape:global-netns"],
  [L("ip -netn x link"), "escape:global-netns"],
  [L("ip -netns x link"), "escape:global-netns"],
  [L("ip --netns x link"), "escape:global-netns"],
  [L("ip --n x route"), "escape:global-netns"],
  [L("ip -n 1 route add 10/8 dev eth0"), "escape:global-netns"],
  [L("ip -4 -n x addr"), "escape:global-netns"],
  [L("ip -n"), "escape:global-netns"],
  [L("ip -netns /proc/1/ns/net link"), "escape:global-netns"],
  [L("ip -b /etc/shadow"), "escape:global-batch"],
  [L("ip -ba x"), "escape:global-batch"],
  [L("ip -batch -"), "escape:global-batch"],
  [L("ip --batch /tmp/cmds"), "escape:global-batch"],
  [L("ip -b"), "escape:global-batch"],
  [L("ip -force -batch x"), "escape:global-force"],
  [L("ip -fo link"), "escape:global-force"],
  [L("ip -for route"), "escape:global-force"],
  [L("ip --force addr"), "escape:global-force"],
  [L("ip -a link"), "escape:global-all"],
  [L("ip -al route"), "escape:global-all"],
  [L("ip -all link"), "escape:global-all"],
  [L("ip --all addr"), "escape:global-all"],
  // --- moving interfaces to other namespaces
  [L("ip link set net1 netns 1"), "escape:link-netns"],
  [L("ip link set dev CURRENT_INTERFACE netns 1"), "escape:link-netns"],
  [L("ip link set net1 netns host"), "escape:link-netns"],
  [L("ip l s net1 netns 1"), "escape:link-netns"],
  [L("ip link set net1 netn 1"), "escape:link-netns"],
  [L("ip link add veth0 type veth peer name veth1 netns 1"), "escape:link-netns"],
  [L("ip link add link net1 name m0 type macvlan netns 1"), "escape:link-netns"],
  [L("ip link set net1 link-netnsid 0"), "escape:link-netns"],
  [L("ip link set net1 link-netns x"), "escape:link-netns"],
  [L("ip link add v0 link-n 1 type veth"), "escape:link-netns"],
  [L("ip link set net1 up netns 1"), "escape:link-netns"],
  [L("ip link set -- net1 netns 1"), "escape:link-netns"],
  [L("ip link set net1\u200b netns 1"), "escape:link-netns"],
  // --- running programs, reading files and standard input, loading BPF
  [L("ip vrf exec red /bin/sh"), "escape:exec"],
  [L("ip vrf e red sh"), "escape:exec"],
  [L("ip vrf exec"), "escape:exec"],
  [L("ip route add 10/8 dev net1 via /etc/passwd"), "escape:file-path"],
  [L("ip link show ../../etc"), "escape:file-path"],
  [L("ip route show ~root"), "escape:file-path"],
  [L("ip addr show ./x"), "escape:file-path"],
  [L("ip route show table /etc/iproute2/rt_tables"), "escape:file-path"],
  [L("ip link add x type ../../../tmp/evil"), "escape:file-path"],
  [L("ip route show ."), "escape:file-path"],
  [L("ip -rc /x link"), "escape:file-path"],
  [L("ip monitor file /tmp/x"), "escape:reads-file"],
  [L("ip monitor f rtmon.log"), "escape:reads-file"],
  [L("ip mo fi x"), "escape:reads-file"],
  [L("ip xfrm monitor file x"), "escape:reads-file"],
  [L("ip route restore"), "escape:reads-stdin"],
  [L("ip r res"), "escape:reads-stdin"],
  [L("ip addr restore"), "escape:reads-stdin"],
  [L("ip a showdump"), "escape:reads-stdin"],
  [L("ip rule restore"), "escape:reads-stdin"],
  [L("ip rule r"), "escape:reads-stdin"],
  [L("ip route showdump"), "escape:reads-stdin"],
  [L("ip link set net1 xdp obj prog.o sec xdp"), "escape:loads-program"],
  [L("ip link set net1 xdpgeneric off"), "escape:loads-program"],
  [L("ip link set dev net1 xdpdrv pinned /sys/fs/bpf/p"), "escape:loads-program"],
  [L("ip link set net1 xdpoffload obj x.o"), "escape:loads-program"],
  [L("ip route add 10/8 encap bpf in obj x.o section lwt dev net1"), "escape:loads-program"],
  [L("ip route add 10/8 encap bpf xmit pinned p dev net1"), "escape:loads-program"],
  [L("ip monitor all-nsid"), "escape:all-nsid"],
  [L("ip monitor al"), "escape:all-nsid"],
  [L("ip xfrm monitor a"), "escape:all-nsid"],
  [L("ip xfrm monitor all-nsid"), "escape:all-nsid"],
  // --- monitors are bounded by the runner's timeout but not in the default policy
  [L("ip monitor"), DENY],
  [L("ip mo link"), DENY],
  [L("ip xfrm monitor"), DENY],
  [L("ip mptcp monitor"), DENY],
  // --- unicode look-alikes and invisible characters
  [L("ip n\u0435tns exec x sh"), "escape:non-ascii"],
  [L("ip r\u043eute"), "escape:non-ascii"],
  [L("\uff49\uff50 route"), "escape:non-ascii"],
  [L("ip route add 10/8 dev\u00a0net1"), "escape:non-ascii"],
  [L("ip -\uff4e x link"), "escape:non-ascii"],
  [L("ip route add 10/8 dev \ufb01"), "escape:non-ascii"],
  [L("ip link set net1 alias \u00fcn\u00efcode"), "escape:non-ascii"],
  [L("ip rou\u2028te"), "parse:tokenize"],
  [L("ip r\u202eoute"), "parse:tokenize"],
  [L("ip route\u0000"), "parse:tokenize"],
  [L("ip route\u0007"), "parse:tokenize"],
  [L("ip route\nnetns exec x sh"), "parse:tokenize"],
  [L("ip \ufeffroute"), "parse:tokenize"],
  // --- mixed case: iproute2 is case-sensitive
  [L("IP route"), "parse:unknown-object"],
  [L("ip ROUTE"), "parse:unknown-object"],
  [L("ip Netns exec x sh"), "parse:unknown-object"],
  [L("ip -N x link"), "parse:unknown-verb"], // -N is -Numeric (no argument), x is xfrm
  [L("ip -NETNS x link"), "parse:unknown-option"],
  [L("ip link set net1 NETNS 1"), DENY],
  [L("ip Link set net1 netns 1"), "parse:unknown-object"],
  [L("ip route ADD 10/8 dev net1"), "parse:unknown-verb"],
  [L("ip link SET net1 up"), "parse:unknown-verb"],
  // --- `--` tricks
  [L("ip -- -n x link"), "parse:unknown-object"],
  [L("ip route -- add"), "parse:unknown-verb"],
  [L("ip --- link"), "parse:unknown-option"],
  [L("ip -- -- link"), "parse:unknown-object"],
  [L("ip -f -n x link"), "parse:invalid-family"],
  [L("ip -rc -netns x link"), "parse:unknown-verb"], // -netns is -rcvbuf's argument
  // --- empty and non-string values
  ['[""]', "annotation"],
  ['["   "]', "annotation"],
  ["[1]", "annotation"],
  ["[null]", "annotation"],
  ['[["ip route"]]', "annotation"],
  ['{"net-a": 5}', "annotation"],
  ["[true]", "annotation"],
  ["[", "annotation"],
  ['["ip route"', "annotation"],
  ['"unterminated', "annotation"],
  ["null", "parse:unknown-object"],
  ["42", "parse:unknown-object"],
  ["true", "parse:unknown-object"],
  [L("ip"), "parse:tokenize"],
  [L("ip ''"), "parse:empty-word"],
  [L("ip route add '' dev net1"), "parse:empty-word"],
  [L("''"), "parse:empty-word"],
  [L("ip ip route"), "parse:unknown-object"],
  // --- size limits
  [L("ip route " + "x".repeat(20_000)), "limit:annotation-bytes"],
  [L(...new Array(33).fill("ip route")), "limit:max-commands"],
  [L(...new Array(32).fill("ip route")), "allowed"],
  [L("ip route add 10/8 dev " + "n".repeat(5000)), DENY],
  [L("ip " + "-4 ".repeat(3000) + "route"), SHOW],
  // --- outside the default policy
  [L("ip link add dummy0 type dummy"), DENY],
  [L("ip link del net1"), DENY],
  [L("ip link set net1 name evil"), DENY],
  [L("ip link set net1 master br0"), DENY],
  [L("ip link set lo down"), DENY],
  [L("ip link set net1 promisc on"), DENY],
  [L("ip link set net1 alias hello"), DENY],
  [L("ip link set net1 up type veth"), DENY],
  [L("ip link set if2 up"), DENY],
  [L("ip route add 10/8 dev lo"), DENY],
  [L("ip route add 10/8 dev eth5"), DENY],
  [L("ip route add 10/8 dev if2"), DENY],
  [L("ip route add 10/8 nexthop via 192.0.2.1 dev net1 nexthop via 192.0.2.2 dev lo"), DENY],
  [L("ip route flush table main"), DENY],
  [L("ip route save"), DENY],
  [L("ip addr flush dev net1"), DENY],
  [L("ip addr add 10.9.9.9/32 dev lo"), DENY],
  [L("ip addr add 10.9.9.9/32"), DENY],
  [L("ip neigh flush all"), DENY],
  [L("ip neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev lo"), DENY],
  [L("ip rule add iif lo table 100"), DENY],
  [L("ip rule add oif eth9 table 100"), DENY],
  [L("ip tunnel add t0 mode gre remote 192.0.2.1"), DENY],
  [L("ip tuntap add tap0 mode tap"), "escape:reads-host-proc"],
  [L("ip tuntap"), "escape:reads-host-proc"],
  [L("ip -d tuntap show"), "escape:reads-host-proc"],
  [L("ip tap"), "escape:reads-host-proc"],
  [L("ip vrf identify 1"), "escape:reads-host-proc"],
  [L("ip vrf pids red"), "escape:reads-host-proc"],
  // --- identity changes on a shared L2: MAC, addresses, neighbours, local routes (every spelling)
  [L("ip link set dev CURRENT_INTERFACE address 02:00:00:00:00:01"), DENY],
  [L("ip link set net1 address 02:00:00:00:00:01"), DENY],
  [L("ip l s net1 a 02:00:00:00:00:01"), DENY],
  [L("ip link change net1 addr 02:00:00:00:00:01"), DENY],
  [L("ip link set net1 up address 02:00:00:00:00:01"), DENY],
  [L("ip link set net1 broadcast ff:ff:ff:ff:ff:fe"), DENY],
  [L("ip link set net1 brd ff:ff:ff:ff:ff:fe"), DENY],
  [L("ip link set net1 arp off"), DENY],
  [L("ip link set net1 arp on"), DENY],
  [L("ip link set net1 multicast on"), DENY],
  [L("ip link set net1 allmulticast on"), DENY],
  [L("ip link set net1 addrgenmode random"), DENY],
  [L("ip link set net1 vf 0 mac 02:00:00:00:00:01"), DENY],
  [L("ip link set net1 protodown on"), DENY],
  [L("ip link set net1 type macvlan mode bridge"), DENY],
  [L("ip link add link net1 name m0 type macvlan"), DENY],
  [L("ip link add link net1 name i0 type ipvlan"), DENY],
  [L("ip link add link net1 name net1.5 type vlan id 5"), DENY],
  [L("ip addr add 192.0.2.10/24 dev net1"), DENY],
  [L("ip a a 192.0.2.11/24 dev CURRENT_INTERFACE"), DENY],
  [L("ip address replace 192.0.2.12/24 dev eth0 valid_lft 100 preferred_lft 50"), DENY],
  [L("ip a r 192.0.2.12/24 dev eth0"), DENY],
  [L("ip addr change 192.0.2.12/24 dev eth0"), DENY],
  [L("ip a chg 192.0.2.12/24 dev eth0"), DENY],
  [L("ip -6 addr add 2001:db8::10/64 dev net1 nodad"), DENY],
  [L("ip neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1 nud permanent"), DENY],
  [L("ip neigh replace 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1"), DENY],
  [L("ip n r 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1"), DENY],
  [L("ip neighbour change 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1"), DENY],
  [L("ip n chg 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1"), DENY],
  [L("ip neigh add proxy 192.0.2.9 dev net1"), DENY],
  [L("ip -6 neigh add proxy 2001:db8::9 dev net1"), DENY],
  [L("ip token set ::1/64 dev CURRENT_INTERFACE"), DENY],
  [L("ip token add ::1/64 dev net1"), DENY],
  [L("ip route add local 192.0.2.9 dev net1 table local"), DENY],
  [L("ip route add local 192.0.2.9 dev net1"), DENY],
  [L("ip route replace to local 192.0.2.9 dev net1"), DENY],
  [L("ip route add +2 192.0.2.9 dev net1"), DENY],
  [L("ip route add to +0x2 192.0.2.9 dev net1"), DENY],
  [L("ip route add broadcast 192.0.2.255 dev net1"), DENY],
  [L("ip route add b 192.0.2.255 dev net1"), DENY],
  [L("ip -6 route add anycast 2001:db8::9 dev net1"), DENY],
  [L("ip route add multicast 224.0.0.0/4 dev net1"), DENY],
  [L("ip route add nat 192.0.2.9 via 192.0.2.10"), DENY],
  [L("ip route add 192.0.2.9 dev net1 table local"), DENY],
  [L("ip route add 192.0.2.9 dev net1 table 255"), DENY],
  [L("ip nexthop add id 2 via 192.0.2.1 dev net1"), DENY],
  [L("ip mrule add iif net1 table 100"), DENY],
  // --- -resolve (DNS from the pod netns with the node's resolver and /etc/hosts), every spelling
  [L("ip -r route"), DENY],
  [L("ip -re neigh"), DENY],
  [L("ip -res addr"), DENY],
  [L("ip -resolve route get 192.0.2.1"), DENY],
  [L("ip --resolve link"), DENY],
  [L("ip --r route"), DENY],
  [L("ip -4 -r -j route"), DENY],
  [L("ip -r route add 192.0.3.0/24 dev net1"), DENY],
  [L("ip xfrm state flush"), DENY],
  [L("ip xfrm state deleteall"), DENY],
  [L("ip token set ::1/64 dev net1"), DENY],
  [L("ip ntable change name arp_cache thresh1 10"), DENY],
  [L("ip nexthop add id 1 via 192.0.2.1 dev net1"), DENY],
  [L("ip mptcp endpoint add 192.0.2.5 dev net1"), DENY],
  [L("ip sr hmac set 1 sha1"), DENY],
  [L("ip link xstats type bridge"), DENY],
  [L("ip link afstats"), DENY],
  [L("ip help"), DENY],
  [L("ip route help"), DENY],
  [L("ip s"), DENY],
  [L("ip stats set dev net1 l3_stats on"), DENY],
  [L("ip maddr add 01:00:5e:00:00:01 dev net1"), DENY],
  [L("ip addrlabel add prefix ::/0 label 1"), DENY],
  [L("ip macsec add"), DENY],
  // --- one bad command rejects the whole list
  [L("ip route add 192.0.3.0/24 dev net1", "ip netns exec x sh"), "escape:netns-object"],
  [L("ip route", "ip link set lo down", "ip -b x"), DENY],
  // --- malformed commands
  [L("ip frobnicate"), "parse:unknown-object"],
  [L("ip route frobnicate"), "parse:unknown-verb"],
  [L("ip -x route"), "parse:unknown-option"],
  [L("ip -f ipx route"), "parse:invalid-family"],
  [L("ip sr hmac"), "parse:missing-verb"],
  [L("ip -4"), "parse:no-object"],
  [L("ip -V"), "parse:no-object"],
];

Deno.test(`corpus: ${DEFAULT_CASES.length} annotations under the default policy`, () => {
  const failures: string[] = [];
  for (const [annotation, expected] of DEFAULT_CASES) {
    const got = judge(annotation, defaultPolicy());
    if (got !== expected) {
      failures.push(`${JSON.stringify(annotation).slice(0, 120)}: expected ${expected}, got ${got}`);
    }
  }
  if (failures.length) throw new Error(`${failures.length} mismatches:\n${failures.join("\n")}`);
  equal(DEFAULT_CASES.length >= 200, true);
});

/** [policy, annotation, expected] with configured policies. */
const CUSTOM_CASES: readonly (readonly [Policy, string, string])[] = (() => {
  const scoped = effectivePolicy({
    allow: ["route add|delete to=192.0.2.0/24,198.51.100.0/24 dev=@current", "* show"],
    deny: ["route * table=253-255"],
  }, undefined);
  const everything = effectivePolicy({ allow: ["* *"], deny: [] }, undefined);
  const narrowed = effectivePolicy(undefined, { allow: ["route show"], limits: { maxCommands: 1 } });
  const namespaced = effectivePolicy({ namespaces: ["ops"] }, undefined);
  const optIns = effectivePolicy({ allow: [...DEFAULT_ALLOW, ...Object.values(OPT_IN_RULES)] }, undefined);
  const optIn = (name: string): string =>
    `allowed:node.allow[${DEFAULT_ALLOW.length + Object.keys(OPT_IN_RULES).indexOf(name)}]`;
  const ownDeny = effectivePolicy({ allow: ["* *"], deny: ["route flush"] }, undefined);
  return [
    [optIns, L("ip link set dev CURRENT_INTERFACE address 02:00:00:00:00:01"), optIn("link-address")],
    [optIns, L("ip l s net1 brd ff:ff:ff:ff:ff:fe"), optIn("link-address")],
    [optIns, L("ip link set net1 arp off"), optIn("link-flags")],
    [optIns, L("ip link set net1 promisc on"), optIn("link-flags")],
    [optIns, L("ip link set net1 addrgenmode random"), optIn("addrgenmode")],
    [optIns, L("ip token set ::1/64 dev net1"), optIn("ipv6-token")],
    [optIns, L("ip addr add 192.0.2.10/24 dev CURRENT_INTERFACE"), optIn("addresses")],
    [optIns, L("ip a r 192.0.2.10/24 dev net1"), optIn("addresses")],
    [optIns, L("ip addr add 192.0.2.10/24 dev lo"), DENY],
    [optIns, L("ip n r 192.0.2.9 lladdr 02:00:00:00:00:09 dev net1"), optIn("neighbours")],
    [optIns, L("ip neigh add proxy 192.0.2.9 dev net1"), optIn("proxy-neighbours")],
    [optIns, L("ip route add local 192.0.2.9 dev net1 table local"), optIn("local-routes")],
    [optIns, L("ip -r route"), optIn("resolve")],
    [optIns, L("ip --resolve neigh"), optIn("resolve")],
    [optIns, L("ip -r route add 10/8 dev net1"), DENY],
    [optIns, L("ip link add link net1 name m0 type macvlan"), DENY],
    [optIns, L("ip -d tuntap show"), "escape:reads-host-proc"],
    [ownDeny, L("ip -d tuntap show"), "escape:reads-host-proc"],
    [ownDeny, L("ip tuntap add tap0 mode tap"), "escape:reads-host-proc"],
    [ownDeny, L("ip link set net1 address 02:00:00:00:00:01"), "allowed:node.allow[0]"],
    [ownDeny, L("ip -r route"), DENY],
    [scoped, L("ip route add 192.0.2.128/25 dev CURRENT_INTERFACE"), "allowed:node.allow[0]"],
    [scoped, L("ip route add 203.0.113.0/24 dev net1"), DENY],
    [scoped, L("ip route add 192.0.2.0/24 dev eth0"), DENY],
    [scoped, L("ip route add 192.0.2.0/24 dev net1 table main"), "node.deny[0]"],
    [scoped, L("ip route add 192.0.2.0/24 dev net1 table custom"), "node.deny[0]"],
    [scoped, L("ip route add 012.0.2.0/24 dev net1"), DENY],
    [scoped, L("ip route add default dev net1"), DENY],
    [scoped, L("ip addr"), "allowed:node.allow[1]"],
    [scoped, L("ip netns exec x sh"), "escape:netns-object"],
    [everything, L("ip link add d0 type dummy"), "allowed:node.allow[0]"],
    [everything, L("ip monitor"), "allowed:node.allow[0]"],
    [everything, L("ip netns exec x sh"), "escape:netns-object"],
    [everything, L("ip -b x"), "escape:global-batch"],
    [everything, L("ip link set net1 netns 1"), "escape:link-netns"],
    [everything, L("ip vrf exec x sh"), "escape:exec"],
    [narrowed, L("ip route"), "allowed:chain.allow[0]"],
    [narrowed, L("ip addr"), DENY],
    [narrowed, L("ip route", "ip route"), "limit:max-commands"],
    [namespaced, L("ip route"), "namespace:not-allowed"],
  ];
})();

Deno.test(`corpus: ${CUSTOM_CASES.length} annotations under configured policies`, () => {
  const failures: string[] = [];
  for (const [policy, annotation, expected] of CUSTOM_CASES) {
    const got = judge(annotation, policy);
    if (got !== expected) failures.push(`${annotation.slice(0, 120)}: expected ${expected}, got ${got}`);
  }
  if (failures.length) throw new Error(`${failures.length} mismatches:\n${failures.join("\n")}`);
});
