import { deepEqual as assertEquals } from "node:assert/strict";
import {
  canonicalRouteType,
  matches,
  normalize,
  type Normalized,
  objectNames,
  resolveGlobal,
  resolveObject,
  resolveVerb,
} from "./objects.ts";

/** Asserts that `actual` has every key of `expected` with an equal value. */
function assertObjectMatch(actual: object, expected: Record<string, unknown>): void {
  const picked = Object.fromEntries(
    Object.keys(expected).map((k) => [k, (actual as Record<string, unknown>)[k]]),
  );
  assertEquals(picked, expected);
}

function cmd(line: string): Normalized {
  const n = normalize(line.split(" ").filter((w) => w !== ""));
  if (n.kind !== "command") throw new Error(`${line}: ${n.message}`);
  return n;
}

function kv(line: string): Record<string, string[]> {
  return Object.fromEntries(cmd(line).kv);
}

Deno.test("matches is iproute2's prefix test: non-empty prefix, never longer than the entry", () => {
  assertEquals(matches("ro", "route"), true);
  assertEquals(matches("route", "route"), true);
  assertEquals(matches("routes", "route"), false);
  assertEquals(matches("", "route"), false);
  assertEquals(matches("Ro", "route"), false);
});

Deno.test("the object table is ip.c's, in its order", () => {
  assertEquals(
    objectNames().join(" "),
    [
      "address addrlabel maddress route rule neighbor ntable link l2tp fou ila macsec tunnel tuntap token",
      "tcpmetrics monitor xfrm mroute mrule netns netconf vrf sr nexthop mptcp ioam help stats",
    ].join(" "),
  );
});

Deno.test("object abbreviations resolve to the first entry of ip.c's table (checked against ip 6.1)", () => {
  const expected: Record<string, string | undefined> = {
    a: "address",
    addr: "address",
    addrl: "addrlabel",
    m: "maddress",
    ma: "maddress",
    mo: "monitor",
    mr: "mroute",
    mru: "mrule",
    r: "route",
    ro: "route",
    rou: "route",
    ru: "rule",
    n: "neighbor",
    ne: "neighbor",
    neigh: "neighbor",
    neighbour: "neighbor",
    nt: "ntable",
    ntbl: "ntable",
    l: "link",
    l2: "l2tp",
    f: "fou",
    i: "ila",
    io: "ioam",
    mac: "macsec",
    t: "tunnel",
    tunl: "tunnel",
    tunt: "tuntap",
    ta: "tuntap",
    to: "token",
    tc: "tcpmetrics",
    tcp_metrics: "tcpmetrics",
    x: "xfrm",
    net: "netns",
    netn: "netns",
    netc: "netconf",
    v: "vrf",
    s: "sr",
    st: "stats",
    nex: "nexthop",
    mp: "mptcp",
    h: "help",
    "": undefined,
    amt: undefined,
    Route: undefined,
    routes: undefined,
    ip: undefined,
  };
  for (const [word, object] of Object.entries(expected)) assertEquals(resolveObject(word), object, word);
});

Deno.test("global options: every spelling ip.c accepts, in its order", () => {
  const cases: [string, string[]][] = [
    ["-n x link", ["-netns"]],
    ["-ne x link", ["-netns"]],
    ["--netns x link", ["-netns"]],
    ["-N link", ["-Numeric"]],
    ["-b x link", ["-batch"]],
    ["-br link", ["-brief"]],
    ["-f inet link", ["-family"]],
    ["-fo link", ["-force"]],
    ["-a link", ["-all"]],
    ["-al link", ["-all"]],
    ["-h link", ["-human"]],
    ["-human-r link", ["-human"]],
    ["-r link", ["-resolve"]],
    ["-rc 100 link", ["-rcvbuf"]],
    ["-l 3 link", ["-loops"]],
    ["- 3 link", ["-loops"]],
    ["-t link", ["-timestamp"]],
    ["-ts link", ["-tshort"]],
    ["-s -st -statistics link", ["-stats", "-stats", "-stats"]],
    ["-c link", ["-color"]],
    ["-col=never link", ["-color"]],
    ["--json -p -d -o -iec -echo -4 -6 -0 -M -B link", [
      "-json",
      "-pretty",
      "-details",
      "-oneline",
      "-iec",
      "-echo",
      "-4",
      "-6",
      "-0",
      "-M",
      "-B",
    ]],
  ];
  for (const [line, globals] of cases) assertEquals(cmd(line).globals, globals, line);
  assertObjectMatch(normalize(["-c=bad", "link"]), { kind: "error", code: "unknown-option" });
  assertObjectMatch(normalize(["-e", "link"]), { kind: "error", code: "unknown-option" });
  assertObjectMatch(normalize(["-NETNS", "x", "link"]), { kind: "error", code: "unknown-option" });
  assertObjectMatch(normalize(["-f", "ipx", "link"]), { kind: "error", code: "invalid-family" });
  assertObjectMatch(normalize(["-n"]), { kind: "error", code: "missing-argument", globals: ["-netns"] });
  assertObjectMatch(normalize(["-4"]), { kind: "error", code: "no-object" });
});

Deno.test("options stop at the object or at --; the family is recorded", () => {
  assertObjectMatch(cmd("-- link"), { object: "link", globals: [] });
  assertObjectMatch(normalize(["--", "-n", "x", "link"]), {
    kind: "error",
    code: "unknown-object",
    word: "-n",
  });
  assertObjectMatch(cmd("link show -n x"), { object: "link", verb: "show", globals: [] });
  assertEquals(cmd("-6 route").family, "inet6");
  assertEquals(cmd("-family inet route").family, "inet");
  assertEquals(cmd("-l 3 route").globalValues.get("-loops"), "3");
});

Deno.test("verbs follow each object's own order", () => {
  const cases: [string, string, string][] = [
    ["route", "", "show"],
    ["route s", "", "show"],
    ["route l", "", "show"],
    ["route li", "", "show"],
    ["route lst", "", "show"],
    ["route sa", "", "save"],
    ["route res", "", "restore"],
    ["route r 10/8 dev x", "", "replace"],
    ["r d 10/8", "", "delete"],
    ["r a 10/8 dev x", "", "add"],
    ["route c 10/8 dev x", "", "change"],
    ["route chg 10/8 dev x", "", "change"],
    ["route g 1.1.1.1", "", "get"],
    ["route t 10/8 dev x", "", "test"],
    ["route showd", "", "showdump"],
    ["link", "", "show"],
    ["link s eth0 up", "", "set"],
    ["link sh", "", "show"],
    ["link c eth0 up", "", "set"],
    ["link change eth0 up", "", "set"],
    ["link d eth0", "", "delete"],
    ["link p", "", "property"],
    ["addr", "", "show"],
    ["a s", "", "show"],
    ["a showd", "", "showdump"],
    ["rule r", "", "restore"],
    ["rule s", "", "show"],
    ["neigh r 1.2.3.4 dev x", "", "replace"],
    ["ntable chg", "", "change"],
    ["token add", "", "set"],
    ["tcpmetrics remove", "", "delete"],
    ["xfrm sa", "state", "show"],
    ["xfrm state delall", "state", "deleteall"],
    ["xfrm policy", "policy", "show"],
    ["xfrm monitor", "monitor", "monitor"],
    ["mptcp limits monitor", "limits", "monitor"],
    ["mptcp endpoint", "endpoint", "show"],
    ["sr hm show", "hmac", "show"],
    ["sr h", "", "help"],
    ["nexthop b", "bucket", "show"],
    ["ioam namespace show", "namespace", "show"],
    ["ioam namespace del 1", "namespace", "delete"],
    ["monitor link", "", "monitor"],
    ["vrf e x sh", "", "exec"],
    ["net list-i", "", "list-id"],
    ["fou", "", "help"],
    ["stats", "", "show"],
    ["help", "", "help"],
  ];
  for (const [line, sub, verb] of cases) {
    const n = cmd(line);
    assertEquals([n.subobject ?? "", n.verb], [sub, verb], line);
  }
  assertObjectMatch(normalize(["route", "bogus"]), { kind: "error", code: "unknown-verb", object: "route" });
  assertObjectMatch(normalize(["stats", "sh"]), { kind: "error", code: "unknown-verb" });
  assertObjectMatch(normalize(["ioam", "namespace"]), { kind: "error", code: "missing-verb" });
  assertObjectMatch(normalize(["rule", "replace"]), { kind: "error", code: "unknown-verb" });
  assertEquals(resolveVerb("route", undefined, "del"), "delete");
  assertEquals(resolveVerb("xfrm", undefined, "state"), undefined);
});

Deno.test("route keywords: destination, types, via family, lock, nexthops, prefixes of keywords", () => {
  assertEquals(kv("route add 10.0.0.0/8 dev net1"), { to: ["10.0.0.0/8"], dev: ["net1"] });
  assertEquals(kv("route add to unicast 10/8 oif net1"), { to: ["10/8"], type: ["unicast"], dev: ["net1"] });
  assertEquals(kv("route add blackhole 10/8"), { type: ["blackhole"], to: ["10/8"] });
  assertEquals(kv("route add a 10/8 dev x"), { type: ["anycast"], to: ["10/8"], dev: ["x"] });
  assertEquals(kv("route add to +0x2 10/8 dev x"), { to: ["10/8"], type: ["local"], dev: ["x"] });
  assertEquals(kv("route add default via inet6 fe80::1 dev x"), {
    to: ["default"],
    via: ["fe80::1"],
    dev: ["x"],
  });
  assertEquals(kv("route add 10/8 dev x t 100 m 5 mtu lock 1400"), {
    to: ["10/8"],
    dev: ["x"],
    table: ["100"],
    metric: ["5"],
    mtu: ["1400"],
  });
  assertEquals(kv("route add 10/8 nexthop via 1.1.1.1 dev a weight 1 nexthop via 2.2.2.2 dev b"), {
    to: ["10/8"],
    nexthop: [],
    via: ["1.1.1.1", "2.2.2.2"],
    dev: ["a", "b"],
    weight: ["1"],
  });
  assertEquals(kv("route show table all"), { table: ["all"] });
  assertEquals(kv("route show to match 10/8"), { to: ["10/8"] });
});

Deno.test("a value hidden behind another keyword is still recorded (second pass)", () => {
  // iproute2 reads `encap ip dst ... dev y`; the second pass records every keyword's possible value.
  assertEquals(kv("route add 10/8 label dev y").dev, ["y"]);
});

Deno.test("link, address, neighbour and rule keywords", () => {
  assertEquals(kv("link set net1 mtu 1400 up"), { dev: ["net1"], mtu: ["1400"], up: [] });
  assertEquals(kv("link set dev net1 addr 02:00:00:00:00:01 t 100"), {
    dev: ["net1"],
    address: ["02:00:00:00:00:01"],
    txqueuelen: ["100"],
  });
  assertEquals(kv("link set net1 n").nomaster, []);
  assertEquals(kv("link set net1 link- x")["link-netns"], ["x"]);
  assertEquals(kv("link show net1"), { dev: ["net1"] });
  assertEquals(kv("addr add 192.0.2.1/24 dev net1 noprefixroute"), {
    local: ["192.0.2.1/24"],
    dev: ["net1"],
    noprefixroute: [],
  });
  assertEquals(kv("neigh add 192.0.2.9 lladdr 02:00:00:00:00:01 dev net1 nud permanent"), {
    to: ["192.0.2.9"],
    lladdr: ["02:00:00:00:00:01"],
    dev: ["net1"],
    nud: ["permanent"],
  });
  assertEquals(kv("rule add from 10/8 lookup 100 dev net1"), {
    from: ["10/8"],
    table: ["100"],
    iif: ["net1"],
  });
  assertEquals(kv("rule add from 10/8 t 5").tun_id, ["5"]);
  assertEquals(kv("monitor f x"), { file: ["x"] });
  assertEquals(kv("xfrm monitor a"), { "all-nsid": [] });
});

Deno.test("empty words are refused", () => {
  assertObjectMatch(normalize(["route", ""]), { kind: "error", code: "empty-word" });
  assertObjectMatch(normalize([]), { kind: "error", code: "no-object" });
});

Deno.test("route types are read like rtnl_rtntype_a2n: prefixes and strtoul numbers", () => {
  const cases: [string, string][] = [
    ["local", "local"],
    ["u", "unreachable"],
    ["uni", "unicast"],
    ["brd", "broadcast"],
    ["b", "broadcast"],
    ["+2", "local"],
    ["+0x2", "local"],
    ["+02", "local"],
    ["+010", "prohibit"],
    ["+1", "unicast"],
    ["+0", "+0"],
    ["+99", "+99"],
    ["loc", "loc"], // local is matched exactly (strcmp)
  ];
  for (const [word, canon] of cases) assertEquals(canonicalRouteType(word), canon, word);
  assertEquals(kv("route add +2 192.0.2.5 dev x"), { type: ["local"], to: ["192.0.2.5"], dev: ["x"] });
});

Deno.test("resolveGlobal reads a global option like ip.c", () => {
  for (const w of ["-r", "-re", "-res", "-resolve", "--resolve", "--r"]) {
    assertEquals(resolveGlobal(w), "-resolve", w);
  }
  assertEquals(resolveGlobal("-rc"), "-rcvbuf");
  assertEquals(resolveGlobal("-n"), "-netns");
  assertEquals(resolveGlobal("-c=never"), "-color");
  assertEquals(resolveGlobal("-x"), undefined);
  assertEquals(resolveGlobal("--"), undefined);
  assertEquals(resolveGlobal("r"), undefined);
});
