/**
 * The docs say what the code does, for the lists a reader looks things up in:
 *
 * - every CNI error code of `src/cni/errors.ts` has its entry in docs/errors.md, and docs/errors.md names no
 *   other code;
 * - every chain config key of the schema (`src/wire/chain_conf_schema.ts`) is in README's "Configuration" list
 *   and in docs/design.md's "Chain configuration keys", and those lists name no other key (but the runtime's
 *   `capabilities`);
 * - every Event reason the daemon posts (`CHAINSAW_REASONS`, `src/daemon/events/event_recorder.ts`) is in
 *   docs/reapply.md's Events table and in the DaemonSet manifests' comment, and the table names no other;
 *   likewise the pod condition's reasons (`CONDITION_REASONS`) and reapply.md's condition table;
 * - every repository path written in backticks in README.md and docs/*.md (`src/…`, `tests/…`, `scripts/…`,
 *   `bench/…`, `deployments/…`) exists.
 *
 * The daemon's flags (`src/daemon/options_test.ts`) and metrics (the monitoring tests) are checked where they
 * are defined. Each check is a pure function of the text, shown catching a broken copy below.
 * @module
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ErrorCode } from "../src/cni/errors.ts";
import { ChainConfSchema } from "../src/wire/chain_conf_schema.ts";
import { CHAINSAW_REASONS } from "../src/daemon/events/event_recorder.ts";
import { CONDITION_REASONS } from "../src/daemon/conditions/wanted_condition.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const read = (rel: string) => Deno.readTextFile(`${ROOT}${rel}`);

/** Keys a chain entry may carry that are the runtime's, not chainsaw's (documented beside chainsaw's own). */
const RUNTIME_KEYS = ["capabilities"];

/** The text of the `## heading` section (up to the next `## `), or "" when there is none. */
function section(md: string, heading: string): string {
  const lines = md.split("\n");
  const at = lines.findIndex((l) => l === `## ${heading}`);
  if (at < 0) return "";
  const end = lines.findIndex((l, i) => i > at && /^## /.test(l));
  return lines.slice(at + 1, end < 0 ? undefined : end).join("\n");
}

/** What differs between what the code has and what a doc lists: missing from the doc, and unknown to the code. */
function compare(
  what: string,
  code: readonly (string | number)[],
  doc: readonly (string | number)[],
): string[] {
  const inDoc = new Set(doc.map(String));
  const inCode = new Set(code.map(String));
  return [
    ...[...inCode].filter((c) => !inDoc.has(c)).map((c) => `${what} ${c}: in the code, not in the doc`),
    ...[...inDoc].filter((d) => !inCode.has(d)).map((d) => `${what} ${d}: in the doc, not in the code`),
  ];
}

/** The codes docs/errors.md describes: its list items `- **N**: …`. */
function documentedCodes(md: string): number[] {
  return [...md.matchAll(/^- \*\*(\d+)\*\*:/gm)].map((m) => Number(m[1]));
}

/** The keys a list names at the start of its items: `` - `a`, `b` (…) `` or `` - **`a`, `b`**: ``. */
function listedKeys(text: string): string[] {
  return [...text.matchAll(/^- (?:\*\*)?((?:`\w+`(?:, )?)+)/gm)].flatMap((m) =>
    [...m[1].matchAll(/`(\w+)`/g)].map((k) => k[1])
  );
}

/** The Event reasons of the table (`| … | \`ChainsawX\` | … |` rows) in docs/reapply.md's "Kubernetes Events". */
function tabledReasons(md: string): string[] {
  return section(md, "Kubernetes Events").split("\n").filter((l) => l.startsWith("|"))
    .flatMap((l) => [...l.matchAll(/`(Chainsaw\w+)`/g)].map((m) => m[1]));
}

/** The reasons of the condition table (`| \`True\` | \`Applied\` | … |`) in docs/reapply.md's condition section. */
function tabledConditionReasons(md: string): string[] {
  return section(md, "The pod condition and readiness gate").split("\n")
    .flatMap((l) => /^\| `(?:True|False)` +\| `(\w+)`/.exec(l)?.slice(1) ?? []);
}

/** Repository paths in backticks (`src/…`, `tests/…`, …), with a `#anchor` or `:line` suffix cut off. */
function backtickedPaths(md: string): string[] {
  return [...md.matchAll(/`((?:src|tests|scripts|bench|deployments)\/[^`\s]*)`/g)]
    .map((m) => m[1].replace(/[#:].*$/, ""))
    // built by the test set-up, not in a clean clone; `<feature>`-style placeholders name no file
    .filter((p) => !p.startsWith("tests/support/bin/") && !/[<>*…]/.test(p));
}

async function missingPaths(files: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const file of files) {
    for (const p of backtickedPaths(await read(file))) {
      try {
        await Deno.stat(`${ROOT}${p}`);
      } catch {
        missing.push(`${file}: ${p}`);
      }
    }
  }
  return missing;
}

const CODES = Object.values(ErrorCode);
const KEYS = Object.keys(ChainConfSchema.shape);

Deno.test("docs: every CNI error code is in docs/errors.md, and no other", async () => {
  const doc = documentedCodes(await read("docs/errors.md"));
  assert(doc.length > 10, `the scan finds the list (${doc})`);
  assertEquals(compare("code", CODES, doc), []);
});

Deno.test("docs: every chain config key is in README's and design.md's lists, and no other", async () => {
  assert(KEYS.includes("mode") && KEYS.includes("drift"), `the schema's keys: ${KEYS}`);
  const keys = [...KEYS, ...RUNTIME_KEYS];
  const readme = listedKeys(section(await read("README.md"), "Configuration"));
  const design = listedKeys(section(await read("docs/design.md"), "Chain configuration keys"));
  assertEquals(compare("README key", keys, readme), []);
  assertEquals(compare("design.md key", keys, design), []);
});

Deno.test("docs: every Event reason is in reapply.md's Events table and the DaemonSets' comment", async () => {
  assertEquals(compare("reason", CHAINSAW_REASONS, tabledReasons(await read("docs/reapply.md"))), []);
  for (const manifest of ["deployments/daemonset.yaml", "deployments/daemonset_openshift.yaml"]) {
    const comment = (await read(manifest)).split("\n").filter((l) => l.startsWith("#")).join("\n");
    const absent = CHAINSAW_REASONS.filter((r) => !new RegExp(`\\b${r}\\b`).test(comment));
    assertEquals(absent, [], `${manifest}'s comment lacks these Event reasons`);
  }
});

Deno.test("docs: every pod condition reason is in reapply.md's condition table, and no other", async () => {
  const doc = tabledConditionReasons(await read("docs/reapply.md"));
  assertEquals(compare("condition reason", CONDITION_REASONS, doc), []);
  // a broken copy: a row's reason misspelt
  const broken = (await read("docs/reapply.md")).replace("| `Drifted` ", "| `Drift`   ");
  assertEquals(compare("c", CONDITION_REASONS, tabledConditionReasons(broken)), [
    "c Drifted: in the code, not in the doc",
    "c Drift: in the doc, not in the code",
  ]);
});

Deno.test("docs: every backticked repository path in README.md and docs/*.md exists", async () => {
  const files = ["README.md"];
  for await (const e of Deno.readDir(`${ROOT}docs`)) if (e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  assert(files.length > 5, `README and the docs: ${files}`);
  assertEquals(await missingPaths(files.sort()), []);
});

Deno.test("docs truth: the checks catch a broken doc", async () => {
  // errors.md without code 103, and with a code the code does not have
  const errors = (await read("docs/errors.md")).replace(/^- \*\*103\*\*:/m, "- **104**:");
  assertEquals(compare("code", CODES, documentedCodes(errors)), [
    "code 103: in the code, not in the doc",
    "code 104: in the doc, not in the code",
  ]);
  // README without `drift`, design.md with a misspelt key
  const readme = section((await read("README.md")).replace(/^- `drift` /m, "- drift "), "Configuration");
  assertEquals(compare("k", [...KEYS, ...RUNTIME_KEYS], listedKeys(readme)), [
    "k drift: in the code, not in the doc",
  ]);
  const design = section(
    (await read("docs/design.md")).replace("- **`ipPath`, `nsenterPath`**", "- **`ipPath`, `nsenterPat`**"),
    "Chain configuration keys",
  );
  assertEquals(compare("k", [...KEYS, ...RUNTIME_KEYS], listedKeys(design)), [
    "k nsenterPath: in the code, not in the doc",
    "k nsenterPat: in the doc, not in the code",
  ]);
  // the Events table without ChainsawHealed's row; the reason named in prose only does not count
  const reapply = (await read("docs/reapply.md")).replace(/^\|[^\n]*`ChainsawHealed`[^\n]*\n/m, "");
  assert(reapply.includes("ChainsawHealed"), "still named in prose");
  assertEquals(compare("r", CHAINSAW_REASONS, tabledReasons(reapply)), [
    "r ChainsawHealed: in the code, not in the doc",
  ]);
  // a path that no longer exists, and the ones that do not count
  assertEquals(
    backtickedPaths(
      "`src/daemon/pod_features.ts` `src/daemon/<feature>/start.ts` `tests/support/bin/chainsaw`",
    ),
    ["src/daemon/pod_features.ts"],
  );
  assertEquals(backtickedPaths("`docs/x.md` `src/http/server.ts#L3` `bench/results.md:4`"), [
    "src/http/server.ts",
    "bench/results.md",
  ]);
  const tmp = await Deno.makeTempFile({ dir: ROOT, prefix: ".docs_truth_", suffix: ".md" });
  try {
    await Deno.writeTextFile(tmp, "`src/daemon/policy_sync.ts` and `src/daemon/policy/policy_sync.ts`\n");
    const rel = tmp.slice(ROOT.length);
    assertEquals(await missingPaths([rel]), [`${rel}: src/daemon/policy_sync.ts`]);
  } finally {
    await Deno.remove(tmp);
  }
});
