import { equal } from "node:assert/strict";
import { checkEscapes, checkRawEscapes, ESCAPE_RULES, isPathLike } from "./escape.ts";
import { normalize } from "./objects.ts";

function escapeOf(line: string, timeoutMs = 10_000): string | undefined {
  const argv = line.split(" ");
  const n = normalize(argv);
  if (n.kind !== "command") throw new Error(`${line}: ${n.message}`);
  return checkEscapes(n, argv, { timeoutMs })?.rule;
}

Deno.test("every escape rule fires on its construct", () => {
  const cases: [string, string][] = [
    ["-n x link", "escape:global-netns"],
    ["--netn x route", "escape:global-netns"],
    ["-b x link", "escape:global-batch"],
    ["-batch x route", "escape:global-batch"],
    ["-fo link", "escape:global-force"],
    ["--force route", "escape:global-force"],
    ["-a link", "escape:global-all"],
    ["-all route", "escape:global-all"],
    ["net exec x sh", "escape:netns-object"],
    ["netns list", "escape:netns-object"],
    ["vrf exec x sh", "escape:exec"],
    ["route add 10/8 exec", "escape:exec"],
    ["route restore", "escape:reads-stdin"],
    ["a showd", "escape:reads-stdin"],
    ["rule r", "escape:reads-stdin"],
    ["monitor file x", "escape:reads-file"],
    ["xfrm monitor f x", "escape:reads-file"],
    ["tuntap", "escape:reads-host-proc"],
    ["-d tuntap show", "escape:reads-host-proc"],
    ["tap add tap0 mode tap", "escape:reads-host-proc"],
    ["vrf identify 1", "escape:reads-host-proc"],
    ["vrf p red", "escape:reads-host-proc"],
    ["link set eth0 netns 1", "escape:link-netns"],
    ["link set eth0 netn 1", "escape:link-netns"],
    ["link set eth0 link-netnsid 0", "escape:link-netns"],
    ["link set eth0 link- x", "escape:link-netns"],
    ["link add v0 type veth peer name v1 netns 1", "escape:link-netns"],
    ["monitor all-nsid", "escape:all-nsid"],
    ["monitor al", "escape:all-nsid"],
    ["xfrm monitor a", "escape:all-nsid"],
    ["link set eth0 xdp off", "escape:loads-program"],
    ["link set eth0 xdpgeneric obj p.o", "escape:loads-program"],
    ["route add 10/8 encap bpf in obj x dev eth0", "escape:loads-program"],
    ["route show dev ﬁ", "escape:non-ascii"],
    ["route add 10/8 dev ../../etc", "escape:file-path"],
  ];
  const seen = new Set<string>();
  for (const [line, rule] of cases) {
    equal(escapeOf(line), rule, line);
    seen.add(rule);
  }
  equal(escapeOf("monitor", Infinity), "escape:monitor-unbounded");
  equal(escapeOf("monitor", 1000), undefined);
  seen.add("escape:monitor-unbounded");
  equal([...ESCAPE_RULES].filter((r) => !seen.has(r)).join(","), "");
});

Deno.test("ordinary commands pass the escape list", () => {
  for (
    const line of [
      "route add 192.0.3.0/24 dev net1",
      "route",
      "-6 route add 2001:db8::/32 via fe80::1 dev net1",
      "rule add fwmark 0x1/0xff table 100",
      "route add 10/8 realms 1/2 dev net1",
      "-M route add 100 as 200/300 via inet 10.0.0.1 dev net1",
      "link set net1 up",
      "-j -p -d addr show",
      "netconf",
      "nexthop",
      "monitor link",
      "vrf show",
    ]
  ) equal(escapeOf(line), undefined, line);
});

Deno.test("path detection", () => {
  for (const p of ["/bin/sh", "./x", "../x", "~root", "~", ".", "..", "a/b", "10.0.0.0/8/..", "x/", "/"]) {
    equal(isPathLike(p), true, p);
  }
  for (
    const v of [
      "10.0.0.0/8",
      "10/8",
      "2001:db8::/32",
      "::/0",
      "0x1/0xff",
      "1/2",
      "100/200/300",
      "net1",
      "a.b",
    ]
  ) {
    equal(isPathLike(v), false, v);
  }
  equal(checkRawEscapes(["route", "add", "\u00a0"])?.rule, "escape:non-ascii");
  equal(checkRawEscapes(["route", "add", "10/8"]), undefined);
});
