/**
 * Property-based tests of the command policy (fast-check).
 *
 * 1. Whatever the policy (default, allow-everything, random rule sets), no command it accepts contains an
 *    escape construct. The oracle below is written independently of src/policy/escape.ts: it walks the raw
 *    words with explicit lists of iproute2 6.1 spellings, and inspects the normalised command.
 * 2. A chain policy only narrows: whatever the chain says, it never allows a command the node ceiling denies,
 *    and never raises a limit.
 * 3. Built-in denies (commands that read the host's /proc) hold whatever a policy's own `deny` list says, and
 *    `-resolve` (any spelling) is accepted only by a policy whose allow rules name it.
 *
 * Seeded (tests/support/property.ts): `CHAINSAW_PROPERTY_SEED=N` re-runs a failure. The hostile generators are
 * rarely accepted, so each run also checks a command built to be accepted (its guard holds by construction).
 */
import * as fc from "fast-check";
import { equal } from "node:assert/strict";
import { defaultPolicy } from "../src/policy/default_policy.ts";
import { type EvalContext, evaluateCommand, evaluateList } from "../src/policy/evaluate.ts";
import { effectivePolicy } from "../src/policy/load.ts";
import { normalize } from "../src/policy/objects.ts";
import type { Policy } from "../src/policy/rules.ts";
import { prepareCommand } from "../src/annotation/prepare.ts";
import { assertProperty, assertReached } from "./support/property.ts";

const ctx: EvalContext = { ifname: "net1", podInterfaces: ["eth0", "net1"] };

// ---- the oracle --------------------------------------------------------------------------------------

/** Every spelling of a global option iproute2 6.1 accepts, by what it does. */
const NETNS_OPT = /^--?n(e(t(ns?)?)?)?$/;
const BATCH_OPT = /^--?b(a(t(ch?)?)?)?$/;
const FORCE_OPT = /^--?fo(r(ce?)?)?$/;
const ALL_OPT = /^--?a(ll?)?$/;
/** Options that consume the next word: -loops (also a bare `-`), -family, -rcvbuf, -netns, -batch. */
const TAKES_ARG =
  /^(-|--?(l(o(o(ps?)?)?)?|f(a(m(i(ly?)?)?)?)?|rc(v(b(uf?)?)?)?|n(e(t(ns?)?)?)?|b(a(t(ch?)?)?)?))$/;
const NETNS_OBJECT = new Set(["net", "netn", "netns"]);
const PROGRAM = new Set(["xdp", "xdpgeneric", "xdpdrv", "xdpoffload", "bpf"]);
const SLASH_OK =
  /^([0-9.]+\/[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/[0-9]+|(0x[0-9a-fA-F]+|[0-9]+)(\/(0x[0-9a-fA-F]+|[0-9]+))+)$/;

/** Escape constructs in `argv` (words after `ip`), judged independently of the policy code. */
function escapeConstructs(argv: readonly string[]): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i].startsWith("-")) {
    const w = argv[i];
    if (w === "--") {
      i++;
      break;
    }
    if (NETNS_OPT.test(w)) found.push(`global ${w}`);
    if (BATCH_OPT.test(w)) found.push(`global ${w}`);
    if (FORCE_OPT.test(w)) found.push(`global ${w}`);
    if (ALL_OPT.test(w)) found.push(`global ${w}`);
    i += TAKES_ARG.test(w) ? 2 : 1;
  }
  if (NETNS_OBJECT.has(argv[i])) found.push(`object ${argv[i]}`);
  for (const w of argv) {
    if (/[^\x21-\x7e]/.test(w)) found.push(`non-ascii ${w}`);
    if (/^(\/|~|\.)/.test(w) || (w.includes("/") && !SLASH_OK.test(w))) found.push(`path ${w}`);
  }
  for (const w of argv.slice(i + 1)) {
    if (w === "netns" || w === "netn" || (w.startsWith("link-") && "link-netnsid".startsWith(w))) {
      found.push(`ns ${w}`);
    }
    if (w === "exec") found.push("exec");
    if (PROGRAM.has(w)) found.push(`program ${w}`);
  }
  const n = normalize(argv);
  if (n.kind === "command") {
    if (n.object === "netns") found.push("netns object");
    if (["exec", "restore", "showdump"].includes(n.verb)) found.push(`verb ${n.verb}`);
    const monitor = n.object === "monitor" || (n.object === "xfrm" && n.subobject === "monitor");
    // `dev NAME` takes the next word as a device name, whatever it looks like (ip/ipmonitor.c).
    for (const w of monitor ? n.args.filter((_, j) => n.args[j - 1] !== "dev") : []) {
      if ("file".startsWith(w)) found.push(`monitor file ${w}`);
      if (w.length >= (n.object === "xfrm" ? 1 : 2) && "all-nsid".startsWith(w) && w !== "all") {
        found.push("all-nsid");
      }
    }
  }
  return found;
}

/** Spellings of `-resolve` (prefixes from `-r`, one or two dashes). */
const RESOLVE_OPT = /^--?r(e(s(o(l(ve?)?)?)?)?)?$/;

/** Whether `argv` reads the host's /proc: any `tuntap` (`tunt`…, `ta`, `tap`), `vrf identify|pids`. */
function readsHostProc(argv: readonly string[]): boolean {
  let i = 0;
  while (i < argv.length && argv[i].startsWith("-")) {
    if (argv[i] === "--") {
      i++;
      break;
    }
    i += TAKES_ARG.test(argv[i]) ? 2 : 1;
  }
  const [object, verb = ""] = argv.slice(i);
  if (["tunt", "tunta", "tuntap", "ta", "tap"].includes(object)) return true;
  return ["v", "vr", "vrf"].includes(object) && verb !== "" &&
    ("identify".startsWith(verb) || "pids".startsWith(verb));
}

/** Whether `argv` uses the global option -resolve in any spelling. */
function usesResolve(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length && argv[i].startsWith("-") && argv[i] !== "--";) {
    if (RESOLVE_OPT.test(argv[i])) return true;
    i += TAKES_ARG.test(argv[i]) ? 2 : 1;
  }
  return false;
}

// ---- generators ---------------------------------------------------------------------------------------

const prefixesOf = (
  words: string[],
): string[] => [...new Set(words.flatMap((w) => [...w].map((_, i) => w.slice(0, i + 1))))];

const GLOBALS = [
  "-4",
  "-6",
  "-s",
  "-d",
  "-j",
  "-p",
  "-br",
  "-o",
  "-c",
  "-color=never",
  "-N",
  "-t",
  "-ts",
  "-h",
  "-iec",
  "-echo",
  "-r",
  "-re",
  "--resolve",
  "-l 3",
  "-f inet",
  "-rc 1000",
  "-n x",
  "-ne x",
  "--netns x",
  "-netns /proc/1/ns/net",
  "-b x",
  "-ba -",
  "--batch f",
  "-force",
  "-fo",
  "-a",
  "-al",
  "--all",
  "--",
  "- 1",
  "-l -n",
  "-x",
];
const OBJECTS = [
  ...prefixesOf([
    "address",
    "route",
    "rule",
    "neighbor",
    "link",
    "netns",
    "netconf",
    "monitor",
    "xfrm",
    "vrf",
    "tuntap",
  ]),
  "ta",
  "tap",
  "mroute",
  "mrule",
  "nexthop",
  "mptcp",
  "tcp_metrics",
  "stats",
  "sr",
  "ip",
  "Route",
  "n\u0435tns",
  "-n",
];
const VERBS = [
  ...prefixesOf([
    "show",
    "list",
    "add",
    "delete",
    "change",
    "replace",
    "set",
    "flush",
    "restore",
    "showdump",
    "exec",
  ]),
  "lst",
  "get",
  "chg",
  "save",
  "help",
  "monitor",
  "state",
  "policy",
  "endpoint",
  "limits",
  "bucket",
  "identify",
  "pids",
  "attach",
  "list-id",
  "xstats",
  "property",
];
const ARGS = [
  "dev",
  "net1",
  "eth0",
  "lo",
  "CURRENT_INTERFACE",
  "netns",
  "netn",
  "NETNS",
  "1",
  "link-netns",
  "link-n",
  "link-netnsid",
  "link-",
  "exec",
  "/bin/sh",
  "sh",
  "/etc/passwd",
  "../x",
  "~root",
  ".",
  "10/8",
  "192.0.2.0/24",
  "2001:db8::/32",
  "0x1/0xff",
  "xdp",
  "xdpgeneric",
  "obj",
  "bpf",
  "encap",
  "file",
  "f",
  "fi",
  "all-nsid",
  "al",
  "all",
  "a",
  "mtu",
  "1400",
  "up",
  "down",
  "address",
  "02:00:00:00:00:01",
  "table",
  "100",
  "main",
  "via",
  "192.0.2.1",
  "type",
  "veth",
  "peer",
  "name",
  "-n",
  "-b",
  "--",
  "restore",
  "if2",
  "nexthop",
  "to",
  "unicast",
  "\u00a0x",
  "\uff4eetns",
  "label",
  "link",
];

/** Writes `word` so the tokenizer reads it back unchanged: bare, quoted, or with backslashes. */
function quoted(word: string, style: number): string {
  if (word === "" || style === 1) return `'${word}'`;
  if (style === 2) return `"${word.replace(/["\\]/g, "\\$&")}"`;
  if (style === 3) return [...word].map((c) => `\\${c}`).join("");
  if (style === 4 && word.length > 1) return `${word[0]}'${word.slice(1)}'`;
  return /^[^\s'"\\]+$/.test(word) ? word : `'${word}'`;
}

const word = (pool: string[]) =>
  fc.tuple(fc.constantFrom(...pool), fc.nat({ max: 6 })).map(([w, s]) => quoted(w, s));

const command = fc.tuple(
  fc.constantFrom("", "ip "),
  fc.array(fc.constantFrom(...GLOBALS), { maxLength: 3 }),
  word(OBJECTS),
  fc.option(word(VERBS), { nil: undefined }),
  fc.array(word(ARGS), { maxLength: 6 }),
).map(([ip, globals, object, verb, args]) =>
  `${ip}${[...globals, object, ...(verb ? [verb] : []), ...args].join(" ")}`
);

/** The verbs each ordinary object takes in iproute2 6.1, by object, and the spellings of the object. */
const ORDINARY: Record<string, { spellings: string[]; verbs: string[] }> = {
  address: {
    spellings: ["address", "addr", "a"],
    verbs: ["show", "list", "add", "del", "change", "replace", "flush"],
  },
  route: {
    spellings: ["route", "ro", "r"],
    verbs: ["show", "list", "get", "add", "delete", "change", "replace"],
  },
  rule: { spellings: ["rule", "ru"], verbs: ["show", "list", "add", "del", "delete", "flush"] },
  neighbor: {
    spellings: ["neighbor", "neigh"],
    verbs: ["show", "get", "add", "del", "change", "replace", "flush"],
  },
  link: { spellings: ["link", "li", "l"], verbs: ["show", "list", "add", "del", "delete", "set", "change"] },
  netconf: { spellings: ["netconf"], verbs: ["show", "list"] },
};

/**
 * Commands the allow-everything policy accepts by construction: an ordinary object with a verb it takes, harmless
 * globals (`-l -n` included: -loops eats the `-n`), arguments among the near misses of {@linkcode ARGS} (`10/8`,
 * `f`, `al`, `all`, `link`, …) in every quoting; never an escape construct, a path, -resolve or a BPF object.
 */
const ordinaryCommand = fc.tuple(
  fc.constantFrom("", "ip "),
  fc.array(
    fc.constantFrom(
      "-4",
      "-6",
      "-s",
      "-d",
      "-j",
      "-p",
      "-o",
      "-br",
      "-c",
      "-color=never",
      "-t",
      "-ts",
      "-l 3",
      "-l -n",
    ),
    { maxLength: 3 },
  ),
  fc.constantFrom(...Object.values(ORDINARY)).chain((o) => fc.tuple(word(o.spellings), word(o.verbs))),
  fc.array(
    word([
      "dev",
      "net1",
      "eth0",
      "lo",
      "CURRENT_INTERFACE",
      "1",
      "10/8",
      "192.0.2.0/24",
      "2001:db8::/32",
      "0x1/0xff",
      "mtu",
      "1400",
      "up",
      "table",
      "100",
      "via",
      "192.0.2.1",
      "f",
      "fi",
      "al",
      "all",
      "a",
      "name",
      "link",
    ]),
    { maxLength: 6 },
  ),
).map(([ip, globals, [object, verb], args]) => `${ip}${[...globals, object, verb, ...args].join(" ")}`);

/** Commands aimed at the built-in denies and -resolve (the general generator rarely builds them). */
const hostAndResolve = fc.tuple(
  fc.array(fc.constantFrom("-r", "-re", "-res", "--resolve", "--r", "-4", "-d", "-j", "-rc 1"), {
    maxLength: 2,
  }),
  fc.constantFrom("tuntap", "tunt", "tunta", "ta", "tap", "vrf", "vr", "v", "route", "link", "addr", "neigh"),
  fc.option(fc.constantFrom("show", "list", "add", "del", "identify", "i", "pids", "p", "pi", "help"), {
    nil: undefined,
  }),
  fc.array(fc.constantFrom("red", "tap0", "mode", "tap", "1", "dev", "net1"), { maxLength: 3 }),
).map(([globals, object, verb, args]) => [...globals, object, ...(verb ? [verb] : []), ...args].join(" "));

const RULE_POOL = [
  "* show|get",
  "* *",
  "route *",
  "route add|delete dev=@pod",
  "route add to=192.0.2.0/24 dev?=@current",
  "link set dev=@pod mtu|up|down",
  "link *",
  "address add dev=@pod",
  "neighbor *",
  "monitor *",
  "xfrm *",
  "vrf *",
  "rule add iif?=@pod",
  "* * dev=*",
  "route * table=100-200",
  "tuntap show",
  "* show|get -resolve",
];

const ruleSubset = fc.subarray(RULE_POOL);
const limits = fc.record({
  maxCommands: fc.integer({ min: 1, max: 40 }),
  commandTimeoutMs: fc.integer({ min: 1, max: 20_000 }),
}, { requiredKeys: [] });

const policyDoc = fc.record({
  allow: fc.option(ruleSubset, { nil: undefined }),
  deny: fc.option(ruleSubset, { nil: undefined }),
  namespaces: fc.option(fc.subarray(["lab", "ops", "dev"]), { nil: undefined }),
  limits: fc.option(limits, { nil: undefined }),
}).map((doc) => Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)));

// ---- properties ---------------------------------------------------------------------------------------

Deno.test("the oracle agrees with the corpus' classics", () => {
  for (
    const line of [
      "netns exec x sh",
      "-n x link",
      "-b f",
      "-fo link",
      "-a link",
      "link set x netns 1",
      "vrf exec x sh",
    ]
  ) {
    equal(escapeConstructs(line.split(" ")).length > 0, true, line);
  }
  for (const line of ["route add 10/8 dev net1", "-l -n link", "monitor address", "link set net1 mtu 1400"]) {
    equal(escapeConstructs(line.split(" ")).join(","), "", line);
  }
});

Deno.test("no accepted command contains an escape construct after normalisation", () => {
  const everything = effectivePolicy({ allow: ["* *"], deny: [] }, undefined);
  const policies = fc.oneof(
    fc.constant<Policy>(defaultPolicy()),
    fc.constant<Policy>(everything),
    policyDoc.map((doc) => effectivePolicy({ ...doc, allow: doc.allow ?? ["* *"] }, undefined)),
  );
  const runs = 3000;
  let accepted = 0;
  const noEscape = (prepared: readonly { source: string; argv: readonly string[] }[]) => {
    for (const p of prepared) {
      accepted++;
      const escapes = escapeConstructs(p.argv);
      if (escapes.length) {
        throw new Error(`accepted ${JSON.stringify(p.source)} (argv ${JSON.stringify(p.argv)}): ${escapes}`);
      }
    }
  };
  assertProperty(
    fc.property(
      fc.array(command, { minLength: 1, maxLength: 3 }),
      policies,
      ordinaryCommand,
      (commands, policy, ordinary) => {
        const v = evaluateList(commands, policy, { ...ctx, namespace: "lab" });
        noEscape(v.prepared);
        if (!v.allowed) equal(v.rejected.length + v.prepared.length <= commands.length, true);
        // Built to be accepted: the oracle also judges commands the policy does accept, every run.
        const o = evaluateList([ordinary], everything, { ...ctx, namespace: "lab" });
        if (!o.allowed) throw new Error(`${JSON.stringify(ordinary)} refused: ${JSON.stringify(o.rejected)}`);
        noEscape(o.prepared);
      },
    ),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "accepted commands");
});

Deno.test("a chain policy never allows more than the node ceiling", () => {
  assertProperty(
    fc.property(
      fc.option(policyDoc, { nil: undefined }),
      policyDoc,
      fc.array(command, { minLength: 1, maxLength: 4 }),
      fc.constantFrom("lab", "ops", undefined),
      (nodeDoc, chainDoc, commands, namespace) => {
        const ceiling = effectivePolicy(nodeDoc, undefined);
        const narrowed = effectivePolicy(nodeDoc, chainDoc);
        for (const key of Object.keys(ceiling.limits) as (keyof Policy["limits"])[]) {
          equal(narrowed.limits[key] <= ceiling.limits[key], true, key);
        }
        if (ceiling.namespaces) {
          equal(narrowed.namespaces!.every((ns) => ceiling.namespaces!.includes(ns)), true);
        }
        const c = { ...ctx, namespace };
        for (const source of commands) {
          let argv: string[];
          try {
            argv = prepareCommand(source, ctx.ifname).argv;
          } catch {
            continue;
          }
          if (evaluateCommand(argv, narrowed, c).allowed) {
            equal(
              evaluateCommand(argv, ceiling, c).allowed,
              true,
              `${source} allowed by the chain, not the node`,
            );
          }
        }
        const list = evaluateList(commands, narrowed, c);
        if (list.allowed) equal(evaluateList(commands, ceiling, c).allowed, true);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("built-in denies and -resolve: no policy's deny list drops them, only a naming rule grants -resolve", () => {
  const allowOf = (doc: unknown): string[] | undefined => (doc as { allow?: string[] } | undefined)?.allow;
  const names = (doc: unknown): boolean => allowOf(doc)?.some((r) => r.includes("-resolve")) ?? false;
  const runs = 5000;
  let accepted = 0;
  let resolveGranted = 0;
  let hostDenied = 0;
  /** A node policy naming -resolve, and a chain policy absent or naming it too: -resolve is granted. */
  const granting = { allow: ["* * -resolve"] };
  assertProperty(
    fc.property(
      fc.oneof(
        fc.constant(undefined),
        fc.tuple(policyDoc, fc.constantFrom([], ["* *"], ["* * -resolve"])).map((
          [{ namespaces: _, ...doc }, extra],
        ) => ({ ...doc, allow: [...((doc.allow as string[] | undefined) ?? []), ...extra] })),
      ),
      fc.option(policyDoc.map(({ namespaces: _, ...doc }) => doc), { nil: undefined }),
      fc.oneof(command, hostAndResolve),
      fc.constantFrom("-r", "-re", "-res", "-reso", "-resol", "-resolv", "-resolve", "--r", "--resolve"),
      ordinaryCommand,
      fc.option(fc.constant(granting), { nil: undefined }),
      hostAndResolve.filter((c) => readsHostProc(c.split(" "))),
      (nodeDoc, chainDoc, source, resolve, ordinary, grantingChain, hostCommand) => {
        const judge = (source: string, nodeDoc: unknown, chainDoc: unknown): boolean => {
          let argv: string[];
          try {
            argv = prepareCommand(source, ctx.ifname).argv;
          } catch {
            return false;
          }
          const policy = effectivePolicy(nodeDoc, chainDoc);
          if (!evaluateCommand(argv, policy, { ...ctx, namespace: "lab" }).allowed) return false;
          accepted++;
          if (readsHostProc(argv)) {
            throw new Error(`accepted ${JSON.stringify(source)}: reads the host's /proc`);
          }
          const granted = names(nodeDoc) && (allowOf(chainDoc) === undefined || names(chainDoc));
          if (usesResolve(argv) && !granted) {
            throw new Error(`accepted ${JSON.stringify(source)} without a rule naming -resolve`);
          }
          return true;
        };
        judge(source, nodeDoc, chainDoc);
        // Built to reach both sides every run: -resolve where the policies name it is accepted; a command reading
        // the host's /proc is refused even where every command and -resolve are allowed.
        const withResolve = `${resolve} ${ordinary.replace(/^ip /, "")}`;
        equal(judge(withResolve, granting, grantingChain), true, `${JSON.stringify(withResolve)} refused`);
        resolveGranted++;
        equal(judge(hostCommand, granting, grantingChain), false, `${JSON.stringify(hostCommand)} accepted`);
        hostDenied++;
      },
    ),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "accepted commands");
  assertReached(resolveGranted, runs, "-resolve granted by a naming rule");
  assertReached(hostDenied, runs, "a host /proc reader refused under an allow-everything policy");
});
