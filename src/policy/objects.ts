/**
 * iproute2's command grammar, as far as the policy needs it, and {@link normalize}, which reads an `ip`
 * argument vector the way iproute2 6.1 (`ip/ip.c` and the per-object `do_*` functions) does.
 *
 * iproute2 looks words up in ordered tables: `matches(word, entry)` accepts any non-empty prefix of an entry,
 * `strcmp` only the whole entry, and the first entry that accepts the word wins. That is why `ip r` is
 * `ip route` (route comes before rule), `ip s` is `ip sr`, `ip net` is `ip netns`, `ip link s` is `ip link set`
 * and `ip -f` is `-family` while `ip -fo` is `-force`. The tables below copy iproute2's order exactly.
 *
 * Tables are written as small spec strings and parsed on first use, so importing this module builds nothing.
 * Spec entry syntax: `[=]word[>canonical][:arity]` where `=` means exact match (strcmp; default is prefix,
 * matches()), `>canonical` names the canonical form and `arity` is how many words follow the keyword:
 * `1`, `2`, `L` (an optional `lock` then one), `F` (an optional address family then one), `T` (an optional
 * `to`, then one), `D` (a destination: an optional route type then one), `S` (a selector: an optional
 * root/match/exact then one), `N` (switches to the nexthop keyword table).
 * @module
 */

/** How many words follow a keyword (see the module documentation). */
type Arity = 0 | 1 | 2 | "L" | "F" | "T" | "D" | "S" | "N";

/** One entry of an iproute2 lookup table. */
interface Entry {
  readonly word: string;
  readonly canon: string;
  readonly exact: boolean;
  readonly arity: Arity;
}

/** A command after iproute2-style normalisation. */
export interface Normalized {
  readonly kind: "command";
  /** Canonical global options, in order (`-netns`, `-batch`, `-4`, `-color`, ...). */
  readonly globals: string[];
  /** Values of the global options that take one (`-netns` → name, `-family` → family, ...). */
  readonly globalValues: Map<string, string>;
  /** Canonical object (`route`, `address`, `neighbor`, `link`, ...). */
  readonly object: string;
  /** Canonical sub-object for objects that have them (`xfrm state`, `mptcp endpoint`, `nexthop bucket`, `sr hmac`). */
  readonly subobject?: string;
  /** Canonical verb (`show` for list/lst/show, `delete`, ...); the object's default when the command has none. */
  readonly verb: string;
  /** The words after the verb, unchanged. */
  readonly args: string[];
  /**
   * Canonical keyword → the values iproute2 could read for it. Flags map to an empty list. The bare word that
   * iproute2 reads without a keyword (route destination, link device, address) is filed under its keyword
   * (`to`, `dev`, `local`). Values are collected conservatively: every place iproute2 could take as a value of
   * the keyword is recorded, so a constraint on a keyword cannot be dodged by an unusual word order.
   */
  readonly kv: Map<string, string[]>;
  /** The address family the global options select, when they select one. */
  readonly family?: string;
}

/** Why an argument vector could not be normalised. */
export interface NormalizeError {
  readonly kind: "error";
  /** Stable code: `no-object`, `unknown-object`, `unknown-option`, `missing-argument`, `unknown-verb`, `missing-verb`, `empty-word`, `invalid-family`. */
  readonly code: string;
  /** The offending word, when there is one. */
  readonly word?: string;
  readonly message: string;
  /** Global options read before the error (so escape checks still see `-netns` in `ip -netns`). */
  readonly globals: string[];
  /** The object, when the error came after it. */
  readonly object?: string;
}

/** What {@link normalize} returns. */
export type NormalizeResult = Normalized | NormalizeError;

/** iproute2's `matches(word, full)`: true when `word` is a non-empty prefix of `full`. */
export function matches(word: string, full: string): boolean {
  return word.length > 0 && full.startsWith(word);
}

const tableCache = new Map<string, readonly Entry[]>();

function parseTable(spec: string): readonly Entry[] {
  const cached = tableCache.get(spec);
  if (cached) return cached;
  const entries = spec.trim().split(/\s+/).map((token): Entry => {
    let rest = token;
    const exact = rest.startsWith("=");
    if (exact) rest = rest.slice(1);
    let arity: Arity = 0;
    const colon = rest.lastIndexOf(":");
    if (colon > 0) {
      const a = rest.slice(colon + 1);
      arity = (a === "1" ? 1 : a === "2" ? 2 : a) as Arity;
      rest = rest.slice(0, colon);
    }
    const [word, canon] = rest.split(">");
    return { word, canon: canon ?? word, exact, arity };
  });
  tableCache.set(spec, entries);
  return entries;
}

function lookup(spec: string, word: string): Entry | undefined {
  for (const e of parseTable(spec)) {
    if (e.exact ? word === e.word : matches(word, e.word)) return e;
  }
  return undefined;
}

/** iproute2 6.1's object table (`cmds[]` in ip/ip.c), in order. Note `tunl` and `stats` after `help`. */
const OBJECTS =
  "address addrlabel maddress route rule neighbor neighbour>neighbor ntable ntbl>ntable link l2tp fou " +
  "ila macsec tunnel tunl>tunnel tuntap tap>tuntap token tcpmetrics tcp_metrics>tcpmetrics monitor xfrm mroute " +
  "mrule netns netconf vrf sr nexthop mptcp ioam help stats";

/**
 * Global options in ip/ip.c's order. `-color` is handled separately (matches_color: `-c[olor][=WHEN]`, between
 * `-rcvbuf` and `-help`). A leading `--` is folded to `-` before lookup; a bare `--` ends the options.
 */
const GLOBALS_BEFORE_COLOR =
  "-loops:1 -family:1 =-4 =-6 =-0 =-M =-B -human -human-readable>-human -iec -stats " +
  "-statistics>-stats -details -resolve -oneline -timestamp -tshort -Version -force -batch:1 -brief -json -pretty " +
  "-rcvbuf:1";
const GLOBALS_AFTER_COLOR = "-help -netns:1 -Numeric -all =-echo";

/** Address families `-family` and `via` accept (lib/utils.c read_family, strcmp). */
const FAMILIES = new Set(["inet", "inet6", "link", "mpls", "bridge"]);
const FAMILY_OF_SHORT: Readonly<Record<string, string>> = {
  "-4": "inet",
  "-6": "inet6",
  "-0": "link",
  "-M": "mpls",
  "-B": "bridge",
};

/** Per-object verbs: the verb table (undefined: the object takes no verb), the verb without words, sub-objects. */
interface ObjectSpec {
  readonly verbs?: string;
  /** Verb when no word follows; undefined means iproute2 requires one. */
  readonly none?: string;
  readonly subs?: Readonly<Record<string, ObjectSpec>>;
}

const LIST = "list>show show lst>show";
const SHOW_ONLY: ObjectSpec = { verbs: `${LIST} help`, none: "show" };
const RULE: ObjectSpec = { verbs: `${LIST} save restore add delete flush help`, none: "show" };

/** Verb tables per object, in the order of each object's `do_*` function in iproute2 6.1. */
const OBJECT_SPECS: Readonly<Record<string, ObjectSpec>> = {
  address: {
    verbs: "add change =chg>change replace delete list>show show lst>show flush save showdump restore help",
    none: "show",
  },
  addrlabel: { verbs: `${LIST} add delete flush help`, none: "show" },
  maddress: { verbs: "add delete list>show show lst>show help", none: "show" },
  route: {
    verbs:
      "add change =chg>change replace prepend append test delete list>show show lst>show get flush save restore " +
      "showdump help",
    none: "show",
  },
  rule: RULE,
  mrule: RULE,
  neighbor: {
    verbs: "add change =chg>change replace delete get show lst>show list>show flush help",
    none: "show",
  },
  ntable: { verbs: "change chg>change show lst>show list>show help", none: "show" },
  link: {
    verbs: "add set change>set replace delete show lst>show list>show xstats afstats property help",
    none: "show",
  },
  l2tp: { verbs: "help add delete show lst>show list>show", none: "help" },
  fou: { verbs: "help add delete show", none: "help" },
  ila: { verbs: "help add delete list>show", none: "help" },
  macsec: { verbs: "help show add set delete offload", none: "help" },
  tunnel: { verbs: "add change delete show lst>show list>show prl 6rd help", none: "show" },
  tuntap: { verbs: "add delete show lst>show list>show help", none: "show" },
  token: { verbs: "list>show lst>show show set add>set delete get help", none: "show" },
  tcpmetrics: { verbs: "list>show lst>show show delete remove>delete flush help", none: "show" },
  monitor: { none: "monitor" },
  xfrm: {
    verbs: "state sa>state policy monitor help",
    none: "help",
    subs: {
      state: {
        verbs:
          "add update allocspi delete deleteall delall>deleteall list>show show lst>show get flush count help",
        none: "show",
      },
      policy: {
        verbs:
          "add update delete deleteall delall>deleteall list>show show lst>show get flush count set setdefault " +
          "getdefault help",
        none: "show",
      },
      monitor: { none: "monitor" },
    },
  },
  mroute: SHOW_ONLY,
  netns: {
    verbs: "list>show show lst>show list-id help add set delete identify pids exec monitor attach",
    none: "show",
  },
  netconf: { verbs: "show lst>show list>show help", none: "show" },
  vrf: { verbs: "identify pids exec show lst>show list>show help", none: "show" },
  sr: {
    verbs: "help hmac tunsrc",
    none: "help",
    subs: { hmac: { verbs: "show set" }, tunsrc: { verbs: "show set" } },
  },
  nexthop: {
    verbs: "add replace delete list>show show lst>show get flush bucket help",
    none: "show",
    subs: { bucket: { verbs: `${LIST} get help`, none: "show" } },
  },
  mptcp: {
    verbs: "help endpoint limits monitor",
    none: "help",
    subs: {
      endpoint: { verbs: "add change delete show flush", none: "show" },
      limits: { verbs: "set show monitor", none: "show" },
      monitor: { none: "monitor" },
    },
  },
  ioam: {
    verbs: "=help =namespace =schema",
    none: "help",
    subs: {
      namespace: { verbs: "=show =add =del>delete =set" },
      schema: { verbs: "=show =add =del>delete" },
    },
  },
  help: { none: "help" },
  stats: { verbs: "=help =show =set", none: "show" },
};

/** Keyword tables for the words after the verb, and which keyword a bare word belongs to. */
interface ArgSpec {
  readonly keywords: string;
  /** Keyword a bare (non-keyword) word is filed under. */
  readonly positional: string;
  /** Whether a bare word may be a route type (`unicast`, `blackhole`, ...) that precedes the destination. */
  readonly routeTypes?: boolean;
}

/** Route types (ip/rtm_map.c rtnl_rtntype_a2n), in order; a bare route word that is one of these is a type. */
const ROUTE_TYPES =
  "=local =nat broadcast =brd>broadcast anycast multicast prohibit unreachable blackhole xresolve " +
  "unicast =throw";

const ROUTE_MODIFY: ArgSpec = {
  keywords: "=src:1 =as:T =via:F =from:1 =tos:1 dsfield>tos:1 =expires:1 metric:1 priority>metric:1 " +
    "=preference>metric:1 =scope:1 =mtu:L =hoplimit:L =advmss:L reordering:L =rtt:L =rto_min:1 window:L cwnd:L " +
    "initcwnd:L initrwnd:L features:1 quickack:1 congctl:L rttvar:L ssthresh:L realms:1 =onlink =nexthop:N " +
    "=nhid:1 protocol:1 table:1 vrf:1 =dev:1 =oif>dev:1 pref:1 =encap:1 =ttl-propagate:1 fastopen_no_cookie:1 " +
    "=to:D",
  positional: "to",
  routeTypes: true,
};
/** Keywords of one hop after `nexthop` (ip/iproute.c parse_one_nh). */
const ROUTE_NEXTHOP = "=via:F =dev:1 =weight:1 =onlink realms:1 =encap:1 =as:T =nexthop:N";
const ROUTE_LIST: ArgSpec = {
  keywords:
    "table:1 vrf:1 cached cloned>cached =tos:1 dsfield>tos:1 protocol:1 scope:1 type:1 =dev:1 =oif>dev:1 " +
    "=iif:1 =mark:1 metric:1 priority>metric:1 =preference>metric:1 =via:F =src:1 realms:1 from:S to:S",
  positional: "to",
};
const ROUTE_GET: ArgSpec = {
  keywords:
    "=tos:1 dsfield>tos:1 from:1 iif:1 mark:1 oif>dev:1 =dev:1 notify connected vrf:1 uid:1 fibmatch " +
    "=as:T sport:1 dport:1 ipproto:1 =to:1",
  positional: "to",
};
const ADDRESS_MODIFY: ArgSpec = {
  keywords:
    "=peer:1 =remote>peer:1 broadcast:1 =brd>broadcast:1 =anycast:1 =scope:1 =dev:1 =label:1 metric:1 " +
    "priority>metric:1 preference>metric:1 valid_lft:1 preferred_lft:1 =secondary =temporary =nodad =optimistic " +
    "=dadfailed =home =deprecated =tentative =permanent =mngtmpaddr =noprefixroute =autojoin =stable-privacy " +
    "=local:1",
  positional: "local",
};
/** `ip address show` and `ip link show` (ipaddr_list_flush_or_save): a bare word is the device. */
const ADDRESS_LIST: ArgSpec = {
  keywords: "=to:1 =scope:1 =up =label:1 =group:1 =master:1 =vrf:1 =nomaster =type:1 =dev:1",
  positional: "dev",
};
/** ip/iplink.c iplink_parse, in order; a bare word (or `dev X`) is the device. */
const LINK_MODIFY: ArgSpec = {
  keywords: "=up =down =name:1 =index:1 link:1 address:1 broadcast:1 =brd>broadcast:1 txqueuelen:1 " +
    "=qlen>txqueuelen:1 txqlen>txqueuelen:1 =mtu:1 =xdpgeneric:1 =xdpdrv:1 =xdpoffload:1 =xdp:1 =netns:1 " +
    "=multicast:1 =allmulticast:1 =promisc:1 =trailers:1 =arp:1 =carrier:1 =vf:1 master:1 =vrf:1 nomaster " +
    "dynamic:1 type:1 alias:1 =group:1 =mode:1 =state:1 numtxqueues:1 numrxqueues:1 addrgenmode:1 " +
    "link-netns:1 link-netnsid:1 =protodown:1 =protodown_reason:2 =gso_max_size:1 =gso_max_segs:1 " +
    "=gro_max_size:1 =parentdev:1 =dev:1",
  positional: "dev",
};
const NEIGH_MODIFY: ArgSpec = {
  keywords: "lladdr:1 =nud:1 proxy:1 =router =use =managed extern_learn =dev:1 protocol:1 =to:1",
  positional: "to",
};
const NEIGH_LIST: ArgSpec = {
  keywords: "=dev:1 =master:1 =vrf:1 =nomaster =unused =nud:1 =proxy protocol:1 =to:1",
  positional: "to",
};
const RULE_ARGS: ArgSpec = {
  keywords:
    "=not =from:1 =to:1 preference>priority:1 order>priority:1 priority:1 =tos:1 dsfield>tos:1 =fwmark:1 " +
    "realms:1 protocol:1 tun_id:1 table:1 =lookup>table:1 suppress_prefixlength:1 " +
    "=sup_pl>suppress_prefixlength:1 suppress_ifgroup:1 =sup_group>suppress_ifgroup:1 =dev>iif:1 =iif:1 =oif:1 " +
    "=l3mdev =uidrange:1 =nat:1 map-to>nat:1 =ipproto:1 =sport:1 =dport:1 =type:1 goto:1 nop",
  positional: "type",
};
/** ip/ipmonitor.c: `file` (prefix!) reads a file, `all-nsid` listens to every peer namespace. */
const MONITOR_ARGS: ArgSpec = {
  keywords:
    "file:1 label link address route mroute prefix neigh netconf rule nsid nexthop =stats =all all-nsid " +
    "=dev:1",
  positional: "arg",
};
/** ip/xfrm_monitor.c: note `a` is `all-nsid` here (it comes before `acquire`). */
const XFRM_MONITOR_ARGS: ArgSpec = {
  keywords: "file:1 =nokeys =all all-nsid acquire expire SA aevent policy report",
  positional: "arg",
};
const GENERIC_ARGS: ArgSpec = { keywords: "=dev:1", positional: "arg" };

const MODIFY_VERBS = new Set(["add", "change", "replace", "prepend", "append", "test", "delete", "set"]);

/** Chooses the keyword table iproute2 uses for `object [subobject] verb`. */
function argSpecFor(object: string, subobject: string | undefined, verb: string): ArgSpec {
  switch (object) {
    case "route":
      return MODIFY_VERBS.has(verb) ? ROUTE_MODIFY : verb === "get" ? ROUTE_GET : ROUTE_LIST;
    case "address":
      return MODIFY_VERBS.has(verb) ? ADDRESS_MODIFY : ADDRESS_LIST;
    case "link":
      return MODIFY_VERBS.has(verb) ? LINK_MODIFY : verb === "show" ? ADDRESS_LIST : GENERIC_ARGS;
    case "neighbor":
      return MODIFY_VERBS.has(verb) || verb === "get" ? NEIGH_MODIFY : NEIGH_LIST;
    case "rule":
    case "mrule":
      return RULE_ARGS;
    case "monitor":
      return MONITOR_ARGS;
    case "xfrm":
      return subobject === "monitor" ? XFRM_MONITOR_ARGS : GENERIC_ARGS;
    default:
      return GENERIC_ARGS;
  }
}

/** Canonical object names, in iproute2's table order (without aliases). */
export function objectNames(): string[] {
  return [...new Set(parseTable(OBJECTS).map((e) => e.canon))];
}

/** The canonical object `word` names under iproute2's prefix rules (`r` → `route`), or undefined. */
export function resolveObject(word: string): string | undefined {
  return lookup(OBJECTS, word)?.canon;
}

/** The sub-object names of `object` (`xfrm` → state, policy, monitor), empty when it has none. */
export function subobjectNames(object: string): string[] {
  return Object.keys(OBJECT_SPECS[object]?.subs ?? {});
}

/** The canonical sub-object `word` names under `object` (`xfrm sa` → `state`), or undefined. */
export function resolveSubobject(object: string, word: string): string | undefined {
  const spec = OBJECT_SPECS[object];
  if (!spec?.verbs || !spec.subs) return undefined;
  const canon = lookup(spec.verbs, word)?.canon;
  return canon !== undefined && canon in spec.subs ? canon : undefined;
}

/** The canonical verb `word` names for `object` (and `subobject`), or undefined when iproute2 rejects it. */
export function resolveVerb(object: string, subobject: string | undefined, word: string): string | undefined {
  const spec = specOf(object, subobject);
  if (!spec?.verbs) return undefined;
  const canon = lookup(spec.verbs, word)?.canon;
  if (canon === undefined || (subobject === undefined && spec.subs && canon in spec.subs)) return undefined;
  return canon;
}

/** Every canonical verb of `object` (all objects when undefined), including the verb used without words. */
export function verbNames(object?: string, subobject?: string): string[] {
  const out = new Set<string>();
  const add = (spec: ObjectSpec): void => {
    if (spec.none) out.add(spec.none);
    if (spec.verbs) {
      for (const e of parseTable(spec.verbs)) if (!spec.subs || !(e.canon in spec.subs)) out.add(e.canon);
    }
    for (const sub of Object.values(spec.subs ?? {})) add(sub);
  };
  if (object === undefined) Object.values(OBJECT_SPECS).forEach(add);
  else {
    const spec = specOf(object, subobject);
    if (spec) add(spec);
  }
  return [...out];
}

/** Every canonical keyword any verb of `object` knows, plus the keyword bare words are filed under. */
export function keywordNames(object: string): string[] {
  const specs = new Set<ArgSpec>();
  for (const verb of verbNames(object)) {
    const subs = subobjectNames(object);
    if (subs.length === 0) specs.add(argSpecFor(object, undefined, verb));
    for (const s of subs) specs.add(argSpecFor(object, s, verb));
  }
  const out = new Set<string>(["type"]);
  for (const s of specs) {
    out.add(s.positional);
    for (const e of parseTable(s.keywords)) out.add(e.canon);
  }
  if (object === "route") { for (const e of parseTable(ROUTE_NEXTHOP)) out.add(e.canon); }
  return [...out];
}

function specOf(object: string, subobject: string | undefined): ObjectSpec | undefined {
  const spec = OBJECT_SPECS[object];
  return subobject === undefined ? spec : spec?.subs?.[subobject];
}

/**
 * The canonical global option `word` names, read like ip/ip.c (`--r` is `-r`, a prefix of `-resolve`), or
 * undefined when ip does not know it. Used by policy rules that name a global option.
 * @param word an option as written, e.g. `-r`, `--resolve`, `-c=never`
 * @example
 * ```ts
 * resolveGlobal("-re"); // "-resolve"
 * ```
 */
export function resolveGlobal(word: string): string | undefined {
  if (!word.startsWith("-") || word === "--") return undefined;
  return lookupGlobal(word[1] === "-" ? word.slice(1) : word)?.canon;
}

function lookupGlobal(opt: string): { canon: string; arity: number } | undefined {
  const before = lookup(GLOBALS_BEFORE_COLOR, opt);
  if (before) return { canon: before.canon, arity: before.arity === 1 ? 1 : 0 };
  const eq = opt.indexOf("=");
  const name = eq < 0 ? opt : opt.slice(0, eq);
  const when = eq < 0 ? "" : opt.slice(eq + 1);
  if (matches(name, "-color") && ["", "always", "auto", "never"].includes(when)) {
    return { canon: "-color", arity: 0 };
  }
  const after = lookup(GLOBALS_AFTER_COLOR, opt);
  return after ? { canon: after.canon, arity: after.arity === 1 ? 1 : 0 } : undefined;
}

function fail(
  code: string,
  message: string,
  globals: string[],
  word?: string,
  object?: string,
): NormalizeError {
  return { kind: "error", code, message, globals, word, object };
}

/**
 * Reads `argv` (the words after `ip`) as iproute2 6.1 would: global options (only before the object, `--`
 * ends them, `--opt` is `-opt`), the object, its verb (and sub-object), then the keywords. Returns the
 * canonical form, or a {@link NormalizeError} for anything iproute2 would reject before running.
 */
export function normalize(argv: readonly string[]): NormalizeResult {
  const globals: string[] = [];
  const globalValues = new Map<string, string>();
  let family: string | undefined;
  let i = 0;
  for (const w of argv) {
    if (w === "") return fail("empty-word", "empty words are not allowed", globals, w);
  }
  while (i < argv.length) {
    const w = argv[i];
    if (w === "--") {
      i++;
      break;
    }
    if (!w.startsWith("-")) break;
    const opt = w[1] === "-" ? w.slice(1) : w;
    const g = lookupGlobal(opt);
    if (!g) return fail("unknown-option", `option "${w}" is unknown to ip`, globals, w);
    globals.push(g.canon);
    if (g.arity === 1) {
      const value = argv[i + 1];
      if (value === undefined) return fail("missing-argument", `option "${w}" needs an argument`, globals, w);
      globalValues.set(g.canon, value);
      if (g.canon === "-family") {
        if (!FAMILIES.has(value)) {
          return fail("invalid-family", `"${value}" is not an address family`, globals, value);
        }
        family = value;
      }
      i += 2;
    } else {
      family = FAMILY_OF_SHORT[g.canon] ?? family;
      i++;
    }
  }
  const objectWord = argv[i];
  if (objectWord === undefined) return fail("no-object", "no ip object given", globals);
  const object = resolveObject(objectWord);
  if (!object) return fail("unknown-object", `object "${objectWord}" is unknown to ip`, globals, objectWord);
  let rest = argv.slice(i + 1);
  let spec: ObjectSpec = OBJECT_SPECS[object];
  let subobject: string | undefined;
  let verb: string | undefined;
  for (;;) {
    if (!spec.verbs) {
      verb = spec.none!;
      break;
    }
    if (rest.length === 0) {
      if (spec.none === undefined) {
        return fail(
          "missing-verb",
          `ip ${object} ${subobject ?? ""} needs a command`,
          globals,
          undefined,
          object,
        );
      }
      verb = spec.none;
      break;
    }
    const entry = lookup(spec.verbs, rest[0]);
    if (!entry) {
      const where = subobject ? `${object} ${subobject}` : object;
      return fail("unknown-verb", `command "${rest[0]}" is unknown to ip ${where}`, globals, rest[0], object);
    }
    rest = rest.slice(1);
    const sub = subobject === undefined ? spec.subs?.[entry.canon] : undefined;
    if (sub) {
      subobject = entry.canon;
      spec = sub;
      continue;
    }
    verb = entry.canon;
    break;
  }
  const args = [...rest];
  const kv = parseArgs(argSpecFor(object, subobject, verb), object === "route", args);
  return { kind: "command", globals, globalValues, object, subobject, verb, args, kv, family };
}

/** The words a keyword at `i` takes, per its arity; `[]` when it takes none or the command ends. */
function valuesAt(e: Entry, args: readonly string[], i: number): { values: string[]; next: number } {
  const next = args[i + 1];
  switch (e.arity) {
    case 0:
    case "N":
      return { values: [], next: i + 1 };
    case 2:
      return { values: args.slice(i + 1, i + 3), next: i + 3 };
    case "L":
      return next === "lock" ? take(args, i + 2) : take(args, i + 1);
    case "F":
      return next !== undefined && FAMILIES.has(next) ? take(args, i + 2) : take(args, i + 1);
    case "T":
      return next === "to" ? take(args, i + 2) : take(args, i + 1);
    case "S":
      return next !== undefined && ["root", "match", "exact"].some((s) => matches(next, s))
        ? take(args, i + 2)
        : take(args, i + 1);
    case "D":
      return next !== undefined && isRouteType(next) ? take(args, i + 2) : take(args, i + 1);
    default:
      return take(args, i + 1);
  }
}

function take(args: readonly string[], at: number): { values: string[]; next: number } {
  return { values: args[at] === undefined ? [] : [args[at]], next: at + 1 };
}

/** Whether `word` reads as a route type where ip/iproute.c allows one (not starting with a digit). */
function isRouteType(word: string): boolean {
  if (/^[0-9]/.test(word)) return false;
  return lookup(ROUTE_TYPES, word) !== undefined || /^\+?[0-9]/.test(word);
}

/** Kernel route types by number (`RTN_*`, include/uapi/linux/rtnetlink.h). */
const RTN_NAMES = [
  "unspec",
  "unicast",
  "local",
  "broadcast",
  "anycast",
  "multicast",
  "blackhole",
  "unreachable",
  "prohibit",
  "throw",
  "nat",
  "xresolve",
];

/**
 * The canonical name of the route type `word` (ip/rtm_map.c rtnl_rtntype_a2n): a prefix of a name
 * (`u` is `unreachable`, `uni` is `unicast`), or a number as strtoul(…, 0) reads it (`+2` and `+0x2` are
 * `local`). A word that is no type (or a number beyond the kernel's types) is returned unchanged.
 */
export function canonicalRouteType(word: string): string {
  const named = lookup(ROUTE_TYPES, word);
  if (named) return named.canon;
  const m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(word);
  if (!m) return word;
  const digits = m[1];
  const n = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith("0")
    ? parseInt(digits, 8)
    : Number(digits);
  return n >= 1 && n < RTN_NAMES.length ? RTN_NAMES[n] : word;
}

function addValue(kv: Map<string, string[]>, key: string, value?: string): void {
  const list = kv.get(key) ?? [];
  if (value !== undefined && !list.includes(value)) list.push(value);
  kv.set(key, list);
}

/**
 * Files the words after the verb under canonical keywords: first in order, as iproute2 reads them; then a
 * second pass records, for every word that is a keyword, the words it would take, wherever it stands, so
 * a value hidden behind a mis-modelled keyword is still checked.
 */
function parseArgs(spec: ArgSpec, isRoute: boolean, args: readonly string[]): Map<string, string[]> {
  const kv = new Map<string, string[]>();
  let table = spec.keywords;
  let i = 0;
  while (i < args.length) {
    const w = args[i];
    const e = lookup(table, w);
    if (e) {
      if (e.arity === "N") table = ROUTE_NEXTHOP;
      const { values, next } = valuesAt(e, args, i);
      if (e.arity === "D" && args[i + 1] !== undefined && isRouteType(args[i + 1])) {
        addValue(kv, "type", canonicalRouteType(args[i + 1]));
      }
      addValue(kv, e.canon);
      for (const v of values) addValue(kv, e.canon, v);
      i = next;
    } else if (spec.routeTypes && isRouteType(w)) {
      addValue(kv, "type", canonicalRouteType(w));
      if (args[i + 1] !== undefined) addValue(kv, spec.positional, args[i + 1]);
      i += 2;
    } else {
      addValue(kv, spec.positional, w);
      i++;
    }
  }
  const tables = isRoute ? [spec.keywords, ROUTE_NEXTHOP] : [spec.keywords];
  for (let j = 0; j < args.length; j++) {
    for (const t of tables) {
      const e = lookup(t, args[j]);
      if (e && e.arity !== 0 && e.arity !== "N") {
        for (const v of valuesAt(e, args, j).values) addValue(kv, e.canon, v);
      }
    }
  }
  return kv;
}
