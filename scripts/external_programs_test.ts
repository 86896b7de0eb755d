/**
 * Every external program the tests, the demo, the bench and the set-up step run comes from a Debian package the
 * set-up step installs ({@linkcode DEBIAN_PACKAGES}), from Debian's minbase (what `debootstrap --variant=minbase
 * bookworm` and the `debian:12` image have), or from the README's prerequisites (`nodejs npm ca-certificates`).
 *
 * The programs are found statically, by parsing every source file (`Deno.lint.runPlugin` gives the TypeScript
 * AST): each `new Deno.Command(…)`, each call of a function that takes an argv (tests/support/netns.ts `run`,
 * `Netns.exec`, …), every `sh -c` script and the program after `nsenter`. A spawn the scanner cannot read (a
 * program held in a variable, `Deno.run`, `node:child_process`, Go's `exec.Command`) fails the test unless it is
 * listed in {@linkcode DYNAMIC} with what it runs (a new helper that takes an argv goes in {@linkcode WRAPPERS},
 * its body in DYNAMIC with `programs: []`); so a new kind of spawn cannot slip past it.
 *
 * README's list of what the first run installs must be {@linkcode DEBIAN_PACKAGES} (every Markdown file of the
 * repository that has that list is compared).
 *
 * @module
 */
import { assert, assertEquals } from "../tests/support/assert.ts";
import { DEBIAN_PACKAGES } from "./debian_packages.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

// ---- what provides each program -------------------------------------------------------------------------

/**
 * Debian's minbase for bookworm (`debootstrap --variant=minbase bookworm`, `dpkg-query -W` in it, 2026-12):
 * Priority required plus apt. The `debian:12` image has the same set.
 */
const MINBASE: ReadonlySet<string> = new Set(
  ("adduser apt base-files base-passwd bash bsdutils coreutils dash debconf debian-archive-keyring debianutils " +
    "diffutils dpkg e2fsprogs findutils gcc-12-base gpgv grep gzip hostname init-system-helpers libacl1 " +
    "libapt-pkg6.0 libattr1 libaudit-common libaudit1 libblkid1 libbz2-1.0 libc-bin libc6 libcap-ng0 libcap2 " +
    "libcom-err2 libcrypt1 libdb5.3 libdebconfclient0 libext2fs2 libffi8 libgcc-s1 libgcrypt20 libgmp10 " +
    "libgnutls30 libgpg-error0 libhogweed6 libidn2-0 liblz4-1 liblzma5 libmd0 libmount1 libnettle8 libp11-kit0 " +
    "libpam-modules libpam-modules-bin libpam-runtime libpam0g libpcre2-8-0 libseccomp2 libselinux1 " +
    "libsemanage-common libsemanage2 libsepol2 libsmartcols1 libss2 libstdc++6 libsystemd0 libtasn1-6 libtinfo6 " +
    "libudev1 libunistring2 libuuid1 libxxhash0 libzstd1 login logsave mawk mount ncurses-base ncurses-bin " +
    "passwd perl-base sed sysvinit-utils tar tzdata usr-is-merged util-linux util-linux-extra zlib1g").split(
      " ",
    ),
);

/** What the README asks for before its two commands. */
const PREREQUISITES: ReadonlySet<string> = new Set(["nodejs", "npm", "ca-certificates"]);

/**
 * The package of each program, with the paths it ships as dpkg knows them (`dpkg -S PATH` on Debian 12;
 * /bin and /usr/bin, /sbin and /usr/sbin are one directory on a merged-/usr system).
 */
const PROGRAMS: Readonly<Record<string, { package: string; install?: string; paths: string[] }>> = {
  ip: { package: "iproute2", paths: ["/bin/ip", "/sbin/ip"] },
  nsenter: { package: "util-linux", paths: ["/usr/bin/nsenter"] },
  prlimit: { package: "util-linux", paths: ["/usr/bin/prlimit"] },
  mount: { package: "mount", paths: ["/bin/mount"] },
  umount: { package: "mount", paths: ["/bin/umount"] },
  tar: { package: "tar", paths: ["/bin/tar"] },
  stdbuf: { package: "coreutils", paths: ["/usr/bin/stdbuf"] },
  tee: { package: "coreutils", paths: ["/usr/bin/tee"] },
  sleep: { package: "coreutils", paths: ["/bin/sleep"] },
  true: { package: "coreutils", paths: ["/bin/true"] },
  id: { package: "coreutils", paths: ["/usr/bin/id"] },
  uname: { package: "coreutils", paths: ["/bin/uname"] },
  nproc: { package: "coreutils", paths: ["/usr/bin/nproc"] },
  // dpkg -S /bin/sh says "diversion by dash": dash makes the /bin/sh link.
  sh: { package: "dash", paths: ["/bin/sh"] },
  "dpkg-query": { package: "dpkg", paths: ["/usr/bin/dpkg-query"] },
  "apt-get": { package: "apt", paths: ["/usr/bin/apt-get"] },
  go: { package: "golang-go", paths: ["/usr/bin/go"] },
  containerd: { package: "containerd", paths: ["/usr/bin/containerd"] },
  "containerd-shim-runc-v2": { package: "containerd", paths: ["/usr/bin/containerd-shim-runc-v2"] },
  ctr: { package: "containerd", paths: ["/usr/bin/ctr"] },
  runc: { package: "runc", paths: ["/usr/sbin/runc"] },
  node: { package: "nodejs", paths: ["/usr/bin/node"] },
  // /usr/bin/python3 is python3-minimal's; the json module the scripts import needs python3's stdlib.
  python3: { package: "python3-minimal", install: "python3", paths: ["/usr/bin/python3"] },
  prometheus: { package: "prometheus", paths: ["/usr/bin/prometheus"] },
  promtool: { package: "prometheus", paths: ["/usr/bin/promtool"] },
  bridge: { package: "containernetworking-plugins", paths: ["/usr/lib/cni/bridge"] },
  "host-local": { package: "containernetworking-plugins", paths: ["/usr/lib/cni/host-local"] },
  // procps is not on a minimal Debian: a test must not run these (Deno.kill, /proc/sys writes instead).
  kill: { package: "procps", paths: ["/bin/kill"] },
  sysctl: { package: "procps", paths: ["/sbin/sysctl"] },
};

/** The key of {@linkcode PROGRAMS} for a program as spawned (a bare name looked up on PATH, or a path). */
function programKey(program: string): string | undefined {
  const merged = (p: string) => p.replace(/\/+/g, "/").replace(/^\/usr\/(s?bin)\//, "/$1/");
  if (!program.includes("/")) return program in PROGRAMS ? program : undefined;
  return Object.keys(PROGRAMS).find((k) => PROGRAMS[k].paths.some((p) => merged(p) === merged(program)));
}

/** Where a package comes from, or undefined when nothing installs it. */
function provider(pkg: string): string | undefined {
  if (DEBIAN_PACKAGES.includes(pkg)) return "the set-up step";
  if (MINBASE.has(pkg)) return "minbase";
  if (PREREQUISITES.has(pkg)) return "the README's prerequisites";
  return undefined;
}

// ---- spawns the scanner cannot read by itself --------------------------------------------------------------

/** Built by the set-up step (scripts/test_setup.ts) or by a test itself: not a Debian program. */
const BUILT = /^(\$\{REPO_ROOT\}\/tests\/support\/bin\/|<deno>$|<script>$|deno$)/;

/**
 * Spawn sites whose program is not written at the site, by file and the site's source text (the program
 * expression, or the argv argument of a wrapper call): what they run, and why. `programs: []` marks a wrapper's
 * own body: the argv comes from its callers, which are scanned.
 */
const DYNAMIC: ReadonlyArray<{ file: string; code: string; programs: string[]; why: string }> = [
  { file: "tests/support/netns.ts", code: "cmd", programs: [], why: "run(): its callers' argv[0]" },
  { file: "tests/support/netns.ts", code: "argv", programs: [], why: "mustRun(): its callers' argv" },
  {
    file: "tests/support/netns.ts",
    code: "[NSENTER, `--net=${path}`, ...argv]",
    programs: [],
    why: "Netns.exec(): its callers' argv (every `.exec([…])` call is scanned)",
  },
  { file: "tests/support/plugin.ts", code: "argv", programs: [], why: "must(): its callers' argv" },
  {
    file: "scripts/debian_packages.ts",
    code: "argv[0]",
    programs: [],
    why: "realRunner(): its callers' argv",
  },
  {
    file: "tests/runtime_containerd_test.ts",
    code: "[NSENTER, `--net=${netns}`, ...argv]",
    programs: [],
    why: "inNetns(): its callers' argv",
  },
  {
    file: "tests/daemon_harness.ts",
    code: "cmd",
    programs: ["${REPO_ROOT}/tests/support/bin/chainsaw", "<deno>"],
    why: "spawnChainsaw(): ensureChainsaw()'s argv, the bundle or deno running cli.ts",
  },
  {
    file: "tests/daemon_flood_test.ts",
    code: "cmd",
    programs: ["${REPO_ROOT}/tests/support/bin/chainsaw", "<deno>"],
    why: "ensureChainsaw()'s argv, the bundle or deno running cli.ts",
  },
  {
    file: "bench/daemon_bench.ts",
    code: "s.bundle",
    programs: ["${REPO_ROOT}/tests/support/bin/chainsaw"],
    why: "the bundle under test",
  },
  {
    file: "bench/daemon_bench.ts",
    code: '[bundle, "daemon", "--help"]',
    programs: ["${REPO_ROOT}/tests/support/bin/chainsaw"],
    why: "the bundle under test",
  },
  {
    file: "scripts/build_test.ts",
    code: "file",
    programs: ["sh", "true", "<deno>"],
    why:
      "a launcher the test writes: scripts/build.ts launcherHeader, `#!/bin/sh` running //bin/true and deno",
  },
  {
    file: "src/exec/_ip_process.ts",
    code: "o.nsenterPath",
    programs: ["/usr/bin/nsenter", "/usr/sbin/ip"],
    why:
      "chainsaw's own ip processes (commands, snapshot dumps, batches): nsenter and ip at their configured " +
      "paths (defaults /usr/bin, /usr/sbin)",
  },
  { file: "bench/bench.ts", code: "argv", programs: [], why: "commandOutput(): its callers' argv" },
  { file: "bench/phases/drift.ts", code: "argv", programs: [], why: "must(): its callers' argv" },
  {
    file: "bench/bench.ts",
    code: '[nodePath, "--version"]',
    programs: ["node"],
    why: "the node `command -v node` found (the bench's baseline)",
  },
  {
    file: "scripts/build.ts",
    code: '`#!/bin/sh\\n//bin/true; ${find}; ${v8}; exec "$d" run $v ${flags} "$0" "$@"\\n`',
    programs: ["/bin/sh", "/bin/true", "<deno>"],
    why: "the bundle's launcher: sh, then the deno it finds ($d)",
  },
  {
    file: "bench/phases/build.ts",
    code: "`#!${nodePath}\\n${nodeJs}`",
    programs: ["node"],
    why: "the Node pass-through anchor: the node `command -v node` found",
  },
  {
    file: "tests/support/cnidriver/main.go",
    code: "exec.CommandContext(ctx, pluginPath)",
    programs: ["bridge", "host-local", "${REPO_ROOT}/tests/support/bin/chainsaw"],
    why: "libcni's plugin exec: the reference plugins the conflists name, the chainsaw bundle, test plugins",
  },
  {
    file: "tests/support/cri/containerd.ts",
    code: '"/usr/bin/containerd"',
    programs: ["/usr/bin/containerd", "containerd-shim-runc-v2", "runc"],
    why: "what containerd itself runs for a sandbox (its shim, which runs runc)",
  },
];

/** Wrappers: functions whose argument `argv` (by index) is a command line, program first. By defining file. */
const WRAPPERS: ReadonlyArray<{ file: string; name: string; argv: number }> = [
  { file: "tests/support/netns.ts", name: "run", argv: 0 },
  { file: "tests/support/netns.ts", name: "mustRun", argv: 0 },
  { file: "tests/support/plugin.ts", name: "must", argv: 0 },
  { file: "scripts/debian_packages.ts", name: "run", argv: 0 },
  { file: "scripts/debian_packages.ts", name: "realRunner", argv: 0 },
  { file: "tests/runtime_containerd_test.ts", name: "inNetns", argv: 1 },
  { file: "bench/bench.ts", name: "commandOutput", argv: 0 },
  { file: "bench/phases/drift.ts", name: "must", argv: 0 },
];

/** Programs that run another program given in their arguments. */
const SHELLS = new Set(["sh", "bash", "dash"]);
/** Shell keywords that come before a command. */
const KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "while", "until", "do", "done", "!", "{", "}"]);
/** Shell builtins (dash): commands that run no program. */
const BUILTINS = new Set(
  "cd echo printf test [ set : true false exit return shift export read trap wait kill ulimit umask".split(
    " ",
  ),
);

// ---- the scanner ----------------------------------------------------------------------------------------------

/** A node of the AST `Deno.lint.runPlugin` hands out, read loosely. */
interface N {
  type: string;
  range: [number, number];
  parent?: N;
  [key: string]: unknown;
}
const child = (n: N, key: string): N => n[key] as N;
const children = (n: N, key: string): N[] => (n[key] as N[] | undefined) ?? [];

/** One external program and where it is spawned. */
export interface Use {
  program: string;
  at: string;
}

interface Scope {
  file: string;
  text: string;
  /** `const NAME = …` anywhere in the file (undefined when the name is bound twice). */
  consts: Map<string, N | undefined>;
  /** Imported local name → [module file, imported name]. */
  imports: Map<string, [string, string]>;
  /** Names the file declares (functions, consts, lets). */
  declared: Set<string>;
  /** Every `const NAME = […]` and `for (const NAME of [[…], …])` of the file, by name. */
  arrays: Map<string, Array<{ block: N; argvs: N[][] }>>;
}

/** What a scan found: the programs, the spawns it could not read, the DYNAMIC entries it used. */
interface Scan {
  uses: Use[];
  problems: string[];
  matchedDynamic: Set<number>;
}

const scopes = new Map<string, Scope>();
let current: Scan = { uses: [], problems: [], matchedDynamic: new Set() };

function resolveModule(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const url = new URL(spec, `file://${ROOT}/${from}`);
  return url.pathname.slice(ROOT.length + 1);
}

function lineOf(scope: Scope, n: N): number {
  return scope.text.slice(0, n.range[0]).split("\n").length;
}

function src(scope: Scope, n: N): string {
  return scope.text.slice(n.range[0], n.range[1]);
}

/** Parses a file and records its bindings; `visit` sees every node type the scanner asks for. */
function parse(file: string, visit?: (scope: Scope, n: N) => void, text?: string): Scope {
  text ??= Deno.readTextFileSync(`${ROOT}/${file}`);
  const scope: Scope = {
    file,
    text,
    consts: new Map(),
    imports: new Map(),
    declared: new Set(),
    arrays: new Map(),
  };
  const nodes: N[] = [];
  const collect = (n: unknown) => nodes.push(n as N);
  const plugin: Deno.lint.Plugin = {
    name: "spawns",
    rules: {
      all: {
        create: () => ({
          NewExpression: collect,
          CallExpression: collect,
          MemberExpression: collect,
          ImportDeclaration: collect,
          ExportNamedDeclaration: collect,
          VariableDeclarator: collect,
          FunctionDeclaration: collect,
          Literal: collect,
          TemplateLiteral: collect,
        }),
      },
    },
  };
  Deno.lint.runPlugin(plugin, `${ROOT}/${file}`, text);
  for (const n of nodes) {
    if (n.type === "ImportDeclaration" || (n.type === "ExportNamedDeclaration" && n.source)) {
      const mod = resolveModule(file, String(child(n, "source").value));
      for (const s of children(n, "specifiers")) {
        if (mod === undefined) continue;
        if (s.type === "ImportSpecifier") {
          scope.imports.set(String(child(s, "local").name), [mod, String(child(s, "imported").name)]);
        } else if (s.type === "ExportSpecifier") {
          scope.imports.set(String(child(s, "exported").name), [mod, String(child(s, "local").name)]);
        }
      }
    } else if (n.type === "VariableDeclarator" && child(n, "id").type === "Identifier") {
      const name = String(child(n, "id").name);
      scope.declared.add(name);
      if (n.parent && n.parent.kind === "const") {
        scope.consts.set(name, scope.consts.has(name) ? undefined : child(n, "init"));
        const init = n.init as N | null;
        const loop = n.parent.parent;
        const argvs = init?.type === "ArrayExpression"
          ? [children(init, "elements")]
          : loop?.type === "ForOfStatement" && child(loop, "right").type === "ArrayExpression"
          ? children(child(loop, "right"), "elements").map((e) => argvOf(e) ?? [UNREAD])
          : undefined;
        const block = loop?.type === "ForOfStatement" ? loop : n.parent.parent;
        if (argvs && block) scope.arrays.set(name, [...(scope.arrays.get(name) ?? []), { block, argvs }]);
      }
    } else if (n.type === "FunctionDeclaration" && n.id) {
      scope.declared.add(String(child(n, "id").name));
    }
  }
  scopes.set(file, scope);
  if (visit) { for (const n of nodes) visit(scope, n); }
  return scope;
}

function scopeOf(file: string): Scope | undefined {
  if (scopes.has(file)) return scopes.get(file);
  try {
    return parse(file);
  } catch {
    return undefined;
  }
}

/** A string's value: literal parts, known constants, `<deno>` for Deno.execPath(); unknown parts as `${name}`. */
function value(scope: Scope, n: N | undefined, depth = 0): { text: string; known: boolean } {
  const unknown = (label: string) => ({ text: `\${${label.replace(/\s+/g, "")}}`, known: false });
  if (!n || depth > 8) return unknown("?");
  switch (n.type) {
    case "Literal":
      return typeof n.value === "string" ? { text: n.value, known: true } : unknown(String(n.value));
    case "TemplateLiteral": {
      const quasis = children(n, "quasis");
      const exprs = children(n, "expressions");
      let text = "";
      let known = true;
      quasis.forEach((q, i) => {
        text += String(q.cooked ?? child(q, "value")?.cooked ?? "");
        if (i < exprs.length) {
          const v = value(scope, exprs[i], depth + 1);
          text += v.text;
          known &&= v.known;
        }
      });
      return { text, known };
    }
    case "Identifier": {
      const name = String(n.name);
      if (scope.consts.has(name)) {
        const init = scope.consts.get(name);
        if (init && ["Literal", "TemplateLiteral", "Identifier"].includes(init.type)) {
          return value(scope, init, depth + 1);
        }
        return unknown(name);
      }
      const imported = scope.imports.get(name);
      if (imported) {
        const other = scopeOf(imported[0]);
        if (other) return value(other, { type: "Identifier", name: imported[1], range: [0, 0] }, depth + 1);
      }
      return unknown(name);
    }
    case "CallExpression":
      return src(scope, n) === "Deno.execPath()" ? { text: "<deno>", known: true } : unknown(src(scope, n));
    default:
      return unknown(src(scope, n));
  }
}

/** Stands for arguments the scanner cannot see. */
const UNREAD: N = { type: "SpreadElement", range: [0, 0] };

/** The elements of an argv given as an array expression, or undefined when it is not one. */
function argvOf(n: N | undefined): N[] | undefined {
  return n?.type === "ArrayExpression" ? children(n, "elements") : undefined;
}

/** Records the programs of a command line; undefined when a program position cannot be read. */
function programsOf(scope: Scope, argv: N[], at: string): string | undefined {
  let i = 0;
  for (let guard = 0; guard < 8; guard++) {
    const head = argv[i];
    if (!head || head.type === "SpreadElement") return `program at argv[${i}] is not written there`;
    const program = value(scope, head);
    if (!program.known && !BUILT.test(program.text)) return `program ${program.text} cannot be read`;
    current.uses.push({ program: program.text, at });
    const base = program.text.replace(/^.*\//, "");
    const rest = argv.slice(i + 1);
    if (base === "nsenter") {
      // nsenter [options] [--] PROGRAM …: options are `--x=…` or flags (none of ours takes a separate value).
      let j = 0;
      for (; j < rest.length; j++) {
        if (rest[j].type === "SpreadElement") return "the program after nsenter is not written there";
        const w = value(scope, rest[j]).text;
        if (w === "--") {
          j++;
          break;
        }
        if (!w.startsWith("-")) break;
        if (/^(-t|--target|-S|--setuid|-G|--setgid|-r|-w)$/.test(w)) return `nsenter ${w}: teach the scanner`;
      }
      if (j >= rest.length) return "nsenter without a program";
      i += 1 + j;
      continue;
    }
    if (SHELLS.has(base) && rest.length > 0 && value(scope, rest[0]).text === "-c") {
      if (!rest[1] || rest[1].type === "SpreadElement") return "a shell script that is not written there";
      // "$0" is the word after the script, "$1" the next, …
      return scriptPrograms(value(scope, rest[1]).text, at, (i) => {
        const arg = rest[2 + i];
        if (!arg || arg.type === "SpreadElement") return undefined;
        const v = value(scope, arg);
        return v.known || BUILT.test(v.text) ? v.text : undefined;
      });
    }
    return undefined;
  }
  return "launchers nested too deep";
}

/**
 * Records the programs a shell script runs (the first word of each simple command, after keywords, assignments,
 * `exec` and `command`); `positional(i)` gives `$i`. Unknown parts (`${x}`) may stand in assignments and
 * arguments, never as a command.
 *
 * @returns why a command cannot be read, or undefined
 */
function scriptPrograms(
  script: string,
  at: string,
  positional: (i: number) => string | undefined,
): string | undefined {
  for (const command of script.split(/;|&&|\|\||\||\n/)) {
    const words = command.trim().split(/\s+/).filter((w) => w !== "");
    let k = 0;
    while (k < words.length && (KEYWORDS.has(words[k]) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k]))) k++;
    if (words[k] === "exec") k++;
    if (words[k] === "command") k += words[k + 1] === "-v" ? 2 : 1; // `command -v NAME` needs NAME too
    const w = words[k];
    if (w === undefined || BUILTINS.has(w)) continue;
    const n = /^"?\$(\d)"?$/.exec(w);
    if (n) {
      const program = positional(Number(n[1]));
      if (program === undefined) return `${w} of the script cannot be read`;
      current.uses.push({ program, at });
    } else if (/[$`(]/.test(w)) return `script command ${w} cannot be read`;
    else current.uses.push({ program: w, at });
  }
  return undefined;
}

function dynamic(scope: Scope, n: N, at: string): boolean {
  const code = src(scope, n);
  const k = DYNAMIC.findIndex((d) => d.file === scope.file && d.code === code);
  if (k < 0) return false;
  current.matchedDynamic.add(k);
  for (const program of DYNAMIC[k].programs) current.uses.push({ program, at });
  return true;
}

/** Which wrapper a call's callee is, from the file's own declarations or its imports. */
function wrapperOf(scope: Scope, callee: N): { argv: number } | undefined {
  if (callee.type !== "Identifier") return undefined;
  const name = String(callee.name);
  const imported = scope.imports.get(name);
  const [file, declared] = imported ?? [scope.file, name];
  if (!imported && !scope.declared.has(name)) return undefined;
  return WRAPPERS.find((w) => w.file === file && w.name === declared);
}

function isRegex(scope: Scope, n: N): boolean {
  if (n.type === "Literal" && n.regex) return true;
  if (n.type === "NewExpression" && src(scope, child(n, "callee")) === "RegExp") return true;
  if (n.type === "Identifier" && scope.consts.has(String(n.name))) {
    const init = scope.consts.get(String(n.name));
    return init !== undefined && isRegex(scope, init);
  }
  return false;
}

function visitSite(scope: Scope, n: N): void {
  const at = `${scope.file}:${lineOf(scope, n)}`;
  const fail = (why: string): void =>
    void current.problems.push(`${at}: ${why}: ${src(scope, n).slice(0, 160)}`);
  const read = (argvNode: N | undefined, argv: N[] | undefined): void => {
    if (argvNode?.type === "Identifier") {
      // A const array (or a for-of over arrays) declared in a block around the call: its literal argv(s).
      const around = (scope.arrays.get(String(argvNode.name)) ?? [])
        .filter((d) => d.block.range[0] <= n.range[0] && n.range[1] <= d.block.range[1])
        .sort((a, b) => b.block.range[0] - a.block.range[0])[0];
      if (around) {
        for (const argv of around.argvs) {
          const why = programsOf(scope, argv, at);
          if (why !== undefined) {
            fail(`${why} (list it in DYNAMIC; a new wrapper of an argv also in WRAPPERS)`);
          }
        }
        return;
      }
    }
    if (argvNode && dynamic(scope, argvNode, at)) return;
    if (!argv) {
      fail("an argv the scanner cannot read (list it in DYNAMIC; a new wrapper of an argv also in WRAPPERS)");
      return;
    }
    const why = programsOf(scope, argv, at);
    if (why !== undefined) fail(`${why} (list it in DYNAMIC; a new wrapper of an argv also in WRAPPERS)`);
  };
  if (n.type === "NewExpression" && src(scope, child(n, "callee")) === "Deno.Command") {
    const [program, options] = children(n, "arguments");
    if (dynamic(scope, program, at)) return;
    const args = options?.type === "ObjectExpression"
      ? children(options, "properties").find((p) =>
        p.type === "Property" && src(scope, child(p, "key")) === "args"
      )
      : undefined;
    // Arguments not written as an array only matter after a launcher (nsenter, sh -c), which then fails.
    const rest = args ? argvOf(child(args, "value")) ?? [UNREAD] : [];
    read(undefined, [program, ...rest]);
    return;
  }
  if (n.type === "MemberExpression") {
    const code = src(scope, n);
    if (code === "Deno.run" || code === "Deno.spawn" || code === "Deno.spawnChild") {
      fail("unrecognised spawn");
    } else if (code === "Deno.Command" && n.parent?.type !== "NewExpression") {
      fail("Deno.Command used indirectly");
    }
    return;
  }
  if ((n.type === "Literal" && typeof n.value === "string") || n.type === "TemplateLiteral") {
    // A script a test writes and runs: its interpreter, and for a shell script the programs it runs.
    const text = value(scope, n).text;
    if (text.startsWith("#!") && dynamic(scope, n, at)) return;
    const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(text);
    if (!shebang) return;
    const interpreter = shebang[1].endsWith("/env") && shebang[2] ? shebang[2] : shebang[1];
    current.uses.push({ program: interpreter, at });
    if (SHELLS.has(interpreter.replace(/^.*\//, ""))) {
      const why = scriptPrograms(text.slice(text.indexOf("\n") + 1), at, () => "<script>");
      if (why !== undefined) fail(why);
    }
    return;
  }
  if (n.type === "ImportDeclaration") {
    if (/^(node:)?child_process$/.test(String(child(n, "source").value))) {
      fail("child_process: unrecognised spawn");
    }
    return;
  }
  if (n.type !== "CallExpression") return;
  const callee = child(n, "callee");
  const args = children(n, "arguments");
  const wrapper = wrapperOf(scope, callee);
  if (wrapper) return read(args[wrapper.argv], argvOf(args[wrapper.argv]));
  if (callee.type === "MemberExpression" && src(scope, child(callee, "property")) === "exec") {
    // Netns.exec(argv) runs argv inside the namespace (nsenter); RegExp#exec is the only other `exec`.
    if (!isRegex(scope, child(callee, "object")) && args.length === 1) {
      current.uses.push({ program: "/usr/bin/nsenter", at });
      return read(args[0], argvOf(args[0]));
    }
    if (!isRegex(scope, child(callee, "object"))) {
      fail("an `.exec(…)` call that is neither RegExp#exec nor Netns.exec([…])");
    }
  }
}

/** Every `.ts` and `.go` source file of the repository (not the built binaries, not the Deno cache). */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
      const path = dir === "." ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory) {
        if (![".git", ".tools", "dist", "node_modules", "tests/support/bin"].includes(path)) walk(path);
      } else if (/\.(ts|go)$/.test(e.name) && !/\.d\.ts$/.test(e.name)) out.push(path);
    }
  };
  walk(".");
  return out.sort();
}

const GO_SPAWN = /\b(exec\.Command(Context)?\([^)]*\)|syscall\.Exec\(|os\.StartProcess\()/g;

function scanGo(file: string): void {
  const text = Deno.readTextFileSync(`${ROOT}/${file}`);
  for (const m of text.matchAll(GO_SPAWN)) {
    const at = `${file}:${text.slice(0, m.index).split("\n").length}`;
    const k = DYNAMIC.findIndex((d) => d.file === file && d.code === m[0]);
    if (k < 0) {
      current.problems.push(
        `${at}: unrecognised spawn (list it in DYNAMIC; a new wrapper of an argv also in WRAPPERS): ${m[0]}`,
      );
    } else {
      current.matchedDynamic.add(k);
      for (const program of DYNAMIC[k].programs) current.uses.push({ program, at });
    }
  }
}

/** Scans `files` (repository paths; `texts` stands in for a file's content). */
function scan(files: string[], texts: Record<string, string> = {}): Scan {
  current = { uses: [], problems: [], matchedDynamic: new Set() };
  for (const file of files) {
    if (file.endsWith(".go")) scanGo(file);
    else parse(file, visitSite, texts[file]);
  }
  return current;
}

let repository: Scan | undefined;
/** The whole repository, scanned once. */
function scanAll(): Scan {
  repository ??= scan(sources());
  return repository;
}

// ---- the tests ------------------------------------------------------------------------------------------------

Deno.test("every spawn in the sources is read: no unrecognised spawn form, no stale DYNAMIC entry", () => {
  const { problems, uses, matchedDynamic } = scanAll();
  assertEquals(problems, []);
  const stale = DYNAMIC.filter((_, k) => !matchedDynamic.has(k)).map((d) => `${d.file}: ${d.code}`);
  assertEquals(stale, [], "DYNAMIC entries that match no spawn any more");
  assert(uses.length > 50, `only ${uses.length} program uses found: the scanner is broken`);
});

Deno.test("every external program the tests, the demo, the bench and the set-up run is installed", () => {
  const { uses } = scanAll();
  const missing: string[] = [];
  const byProgram = new Map<string, string[]>();
  for (const u of uses) byProgram.set(u.program, [...(byProgram.get(u.program) ?? []), u.at]);
  for (const [program, at] of byProgram) {
    if (BUILT.test(program)) continue;
    const key = programKey(program);
    const where = `${at[0]}${at.length > 1 ? ` and ${at.length - 1} more` : ""}`;
    if (key === undefined) {
      missing.push(`${program} (${where}): no package known; add it to PROGRAMS (dpkg -S) and the set-up`);
      continue;
    }
    const pkg = PROGRAMS[key].install ?? PROGRAMS[key].package;
    if (!provider(pkg)) {
      missing.push(`${program} (${where}): package ${pkg} is not installed by the set-up step`);
    }
  }
  assertEquals(missing, []);
});

Deno.test("the scanner finds what it must: nsenter's program, sh -c scripts, wrappers, Netns.exec", () => {
  const { uses } = scanAll();
  const programs = new Set(uses.map((u) => u.program));
  // netns_snapshot_test: nsenter … -- /usr/bin/tee; netns.ts: nsenter … /usr/bin/sleep; debian_packages.ts:
  // dpkg-query, apt-get and id through its runner; cri/containerd.ts: umount through run(); bench.ts: node in sh -c.
  for (
    const p of [
      "/usr/bin/tee",
      "/usr/bin/sleep",
      "dpkg-query",
      "apt-get",
      "id",
      "go",
      "/usr/bin/umount",
      "node",
    ]
  ) {
    assert(programs.has(p), `${p} not found`);
  }
  assert(
    uses.some((u) => u.program === "/usr/sbin/ip" && u.at.startsWith("tests/explain_test.ts")),
    "ns.exec",
  );
});

Deno.test("the scanner refuses what it cannot read", () => {
  const file = "scripts/probe.ts";
  const lines = [
    'import { run } from "../tests/support/netns.ts";',
    "const p = Deno.args[0];",
    "new Deno.Command(p);",
    "await run([p]);",
    'await run(["/bin/sh", "-c", `${p} x`]);',
    'await run(["/usr/bin/nsenter", "--net=/x", ...Deno.args]);',
    "const C = Deno.Command;",
    "Deno.run({ cmd: [p] });",
    "const r = { exec: (a: string) => a };",
    "r.exec(p);",
    'import { spawn } from "node:child_process";',
    "const script = `#!/bin/sh\\nexec ${p} --x\\n`;",
  ];
  const { problems, uses } = scan([file], { [file]: lines.join("\n") });
  const lineNumbers = problems.map((p) => Number(/^scripts\/probe\.ts:(\d+):/.exec(p)?.[1]));
  assertEquals(lineNumbers, [3, 4, 5, 6, 7, 8, 10, 11, 12], problems.join("\n"));
  assertEquals(uses.map((u) => u.program), ["/bin/sh", "/usr/bin/nsenter", "/usr/bin/nsenter", "/bin/sh"]);
});

Deno.test("PROGRAMS agrees with dpkg on this machine (each installed package ships the listed paths)", async () => {
  const paths = Object.values(PROGRAMS).flatMap((p) => p.paths);
  let out: Deno.CommandOutput;
  try {
    // One call; a path no installed package ships is only an error line (exit 1).
    out = await new Deno.Command("dpkg-query", { args: ["-S", ...paths], stdout: "piped", stderr: "null" })
      .output();
  } catch {
    return; // not a dpkg system
  }
  const owners = new Map<string, string[]>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^(?:diversion by )?(\S+?)(?::\S+)?(?: from)?: (\/\S+)$/.exec(line);
    if (m) owners.set(m[2], [...(owners.get(m[2]) ?? []), m[1]]);
  }
  const wrong: string[] = [];
  for (const [name, { package: pkg, paths }] of Object.entries(PROGRAMS)) {
    for (const path of paths) {
      const found = owners.get(path);
      if (found && !found.includes(pkg)) {
        wrong.push(`${name}: ${path} is ${found.join(", ")}'s, not ${pkg}'s`);
      }
    }
  }
  assertEquals(wrong, []);
  assert(owners.size >= 10, `dpkg-query -S answered for only ${owners.size} paths`);
});

/** The package names of every "The first run installs" list in README.md and docs/*.md. */
function documentedLists(): Map<string, string[]> {
  const files = ["README.md", ...[...Deno.readDirSync(`${ROOT}/docs`)].map((e) => `docs/${e.name}`)]
    .filter((f) => f.endsWith(".md"));
  const lists = new Map<string, string[]>();
  for (const file of files) {
    const text = Deno.readTextFileSync(`${ROOT}/${file}`);
    const at = text.search(/The first run installs/);
    if (at < 0) continue;
    const after = text.slice(at).split("\n");
    const start = after.findIndex((l) => l.startsWith("- "));
    const bullets: string[] = [];
    for (const line of after.slice(start)) {
      if (line.startsWith("- ")) bullets.push(line);
      else if (line.startsWith("  ") && bullets.length) bullets[bullets.length - 1] += line;
      else break;
    }
    // A bullet names packages in backticks before its explanation in parentheses.
    lists.set(file, bullets.flatMap((b) => [...b.split("(")[0].matchAll(/`([^`]+)`/g)].map((m) => m[1])));
  }
  return lists;
}

Deno.test("the documented list of what the first run installs is the set-up step's package list", () => {
  const lists = documentedLists();
  assert(lists.size > 0, "no README.md or docs/*.md has 'The first run installs' followed by its list");
  for (const [file, packages] of lists) {
    assertEquals([...packages].sort(), [...DEBIAN_PACKAGES].sort(), file);
  }
});
