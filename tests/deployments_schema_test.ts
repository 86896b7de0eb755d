/**
 * Every object in deployments/ against Kubernetes' own schema, strictly (as `kubeconform -strict` would): an
 * unknown field, a value of the wrong type, a missing required field or an unknown kind is an error.
 * tests/deployments_test.ts checks the same manifests against chainsaw's code.
 *
 * The schema: the API of the Kubernetes version README names (1.30, the admission policy's floor) as the npm
 * package `kubernetes-types` 1.30.0 types it, generated from that release's OpenAPI definitions (a field per
 * property, `?` where not required), with the few fields it loses put back (tests/support/kubernetes_types_fixes.ts
 * says which, measured against the Kubernetes client's models of the same release). Custom resources: their
 * CRDs' schemas as types (tests/support/crd_types.ts: the NetworkAttachmentDefinition, the prometheus-operator's
 * monitors and rules).
 *
 * The checker: TypeScript, through `deno check`. Each object becomes an object literal typed as its kind, and an
 * object literal may name only known properties (the excess property check), at every depth: that is
 * `additionalProperties: false` wherever the API has a fixed set of fields, while maps (labels, annotations,
 * data, resources) stay maps, IntOrString is `number | string` and RawExtension is `{}` (anything, as
 * x-kubernetes-preserve-unknown-fields). One run covers every object and the broken copies below, which prove
 * each kind of error is caught (a checker that passes everything fails them).
 *
 * Not seen: integer vs. float (both `number`), enums and string formats (typed `string`), and what only the API
 * server validates (names, CEL). Stricter than the server: `null` for an optional field and read-only fields
 * (`status`, `metadata.uid`, ...) are errors; the manifests have neither.
 */
import { parseAllDocuments } from "yaml";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DIR = `${ROOT}deployments`;

/** The Kubernetes minor version the schema is of; README must name the same one. */
const KUBERNETES_MINOR = 30;

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

/** Fields kubernetes-types loses, put back. */
const FIXES = new URL("./support/kubernetes_types_fixes.ts", import.meta.url).href;

/**
 * Custom resources: apiVersion → the module of their CRD types (tests/support/crd_types.ts). An apiVersion
 * neither here nor built in fails the check ("no schema"): every object in deployments/ is checked.
 */
const CRD_TYPES: Record<string, string> = {
  "k8s.cni.cncf.io/v1": new URL("./support/crd_types.ts", import.meta.url).href,
  "monitoring.coreos.com/v1": new URL("./support/crd_types.ts", import.meta.url).href,
};

/** YAML files in deployments/ that hold no Kubernetes object, each with what they are. */
const NOT_OBJECTS: Record<string, string> = {
  "monitoring/alerts.yaml": "Prometheus rule file (promtool checks it: tests/monitoring_rules_test.ts)",
  "monitoring/alerts_test.yaml": "promtool rule unit tests",
};

/** One object to check: where it comes from and its content. */
interface Subject {
  /** e.g. `deployments/daemonset.yaml: DaemonSet kube-chainsaw-cni-ds`. */
  label: string;
  doc: Doc;
}

/** An error the checker reports, on the object and field (dotted path, `[i]` for list items) it names. */
interface Finding {
  label: string;
  path: string;
  message: string;
}

function yamlFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) out.push(...yamlFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else if (/\.ya?ml$/.test(e.name)) out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

function loadSubjects(): Subject[] {
  const subjects: Subject[] = [];
  for (const file of yamlFiles(DIR)) {
    if (file in NOT_OBJECTS) continue;
    const docs = parseAllDocuments(Deno.readTextFileSync(`${DIR}/${file}`));
    for (const d of docs) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      const doc = d.toJS() as Doc | null;
      if (doc !== null) {
        subjects.push({ label: `deployments/${file}: ${doc.kind} ${doc.metadata?.name}`, doc });
      }
    }
  }
  return subjects;
}

/**
 * The types module of an apiVersion: kubernetes-types' `<group>/<version>` for the built-in groups (`v1` is
 * core; `rbac.authorization.k8s.io` is `rbac`), else the CRD types; undefined when there is no schema.
 */
function typesModule(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== "string") return undefined;
  if (apiVersion in CRD_TYPES) return CRD_TYPES[apiVersion];
  const m = /^(?:([a-z0-9]+)(?:\.[a-z0-9.]*k8s\.io)?\/)?(v\d+(?:(?:alpha|beta)\d+)?)$/.exec(apiVersion);
  if (!m) return undefined;
  return `kubernetes-types/${m[1] ?? "core"}/${m[2]}`;
}

/** A property name as written in the literal: bare when it can be (TypeScript's messages then name it bare). */
function propertyName(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) && key !== "__proto__" ? key : JSON.stringify(key);
}

/**
 * Writes `value` as a TypeScript literal, one property or list item per line: returns its first line and
 * appends the others to `lines`, with the field path each names (the closing line names the object's own).
 */
function emitLiteral(value: unknown, path: string, lines: string[], paths: string[], indent = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const list = Array.isArray(value);
  const entries = list
    ? value.map((v, i) => ({ head: "", path: `${path}[${i}]`, v }))
    : Object.entries(value).map(([k, v]) => ({
      head: `${propertyName(k)}: `,
      path: path ? `${path}.${k}` : k,
      v,
    }));
  if (entries.length === 0) return list ? "[]" : "{}";
  const inner = `${indent}  `;
  for (const e of entries) {
    const at = lines.push("") - 1;
    paths.push(e.path);
    lines[at] = `${inner}${e.head}${emitLiteral(e.v, e.path, lines, paths, inner)}`;
    lines[lines.length - 1] += ",";
  }
  lines.push(`${indent}${list ? "]" : "}"}`);
  paths.push(path);
  return list ? "[" : "{";
}

/** Checks the subjects in one `deno check` run; returns what it reports, by object and field. */
async function check(subjects: Subject[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const lines: string[] = [];
  /** Per line of the generated module: the object and field it writes. */
  const owners: { label: string; path: string }[] = [];
  const typed = subjects.flatMap((s, i) => {
    if (typeof s.doc.kind !== "string" || !/^[A-Z][A-Za-z0-9]*$/.test(s.doc.kind)) {
      findings.push({ label: s.label, path: "kind", message: `not a kind: ${JSON.stringify(s.doc.kind)}` });
    } else if (typesModule(s.doc.apiVersion) === undefined) {
      findings.push({ label: s.label, path: "apiVersion", message: `no schema for ${s.doc.apiVersion}` });
    } else {
      return [{ ...s, i }];
    }
    return [];
  });
  lines.push(`import ${JSON.stringify(FIXES)};`);
  owners.push({ label: "(the checker)", path: "" });
  for (const { label, doc, i } of typed) {
    lines.push(`import type { ${doc.kind} as T${i} } from ${JSON.stringify(typesModule(doc.apiVersion))};`);
    owners.push({ label, path: "kind" });
  }
  for (const { label, doc, i } of typed) {
    const body: string[] = [];
    const paths: string[] = [];
    lines.push(`export const o${i}: T${i} = ${emitLiteral(doc, "", body, paths)}`);
    owners.push({ label, path: "" });
    lines.push(...body);
    owners.push(...paths.map((path) => ({ label, path })));
    lines[lines.length - 1] += ";";
  }
  const dir = await Deno.makeTempDir({ prefix: "chainsaw-schema-" });
  try {
    const file = `${dir}/manifests.ts`;
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--frozen", "--config", `${ROOT}deno.json`, file],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.success) return findings;
    const fileUrl = new URL(`file://${file}`).href;
    const blocks = text.split(/\n(?=TS\d+ \[ERROR\]: )/).filter((b) =>
      /^TS\d+ \[ERROR\]: /.test(b.trimStart())
    );
    if (blocks.length === 0) throw new Error(`deno check failed without a diagnostic:\n${text}`);
    for (const block of blocks) {
      const message = block.trimStart().split("\n")[0].replace(/^TS\d+ \[ERROR\]: /, "");
      const at = [...block.matchAll(/ at (file:\/\/\S+?):(\d+):(\d+)/g)].find((m) => m[1] === fileUrl);
      const owner = at ? owners[Number(at[2]) - 1] : undefined;
      findings.push({
        label: owner?.label ?? "(the checker)",
        path: owner?.path ?? "",
        message: owner ? message : block.trim(),
      });
    }
    return findings;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function show(findings: Finding[]): string {
  return findings.map((f) => `${f.label}: ${f.path || "(object)"}: ${f.message}`).join("\n");
}

/** A deliberately broken copy of one object and the error the check must report for it. */
interface Breakage {
  /** What is broken, for the object's label. */
  what: string;
  /** The object to copy, by file and kind (and name when the file has several of that kind). */
  file: string;
  kind: string;
  name?: string;
  /** Breaks the copy; returns the path of the field the error must name. */
  brk(doc: Doc): string;
  message: RegExp;
}

function podSpecOf(doc: Doc): { spec: Doc; at: string } {
  return doc.kind === "Pod"
    ? { spec: doc.spec, at: "spec" }
    : { spec: doc.spec.template.spec, at: "spec.template.spec" };
}

function rename(obj: Doc, from: string, to: string): void {
  assert(obj !== undefined && from in obj, `the copy has no ${from}`);
  obj[to] = obj[from];
  delete obj[from];
}

const BREAKAGES: Breakage[] = [
  {
    what: "mountPropagation misspelt in a volumeMount",
    file: "daemonset.yaml",
    kind: "DaemonSet",
    brk(doc) {
      const { spec, at } = podSpecOf(doc);
      const mounts = spec.containers[0].volumeMounts as Doc[];
      const i = mounts.findIndex((m) => "mountPropagation" in m);
      rename(mounts[i], "mountPropagation", "mountPropogation");
      return `${at}.containers[0].volumeMounts[${i}].mountPropogation`;
    },
    message: /'mountPropogation' does not exist in type 'VolumeMount'/,
  },
  {
    what: "readinessGates misspelt in a pod spec",
    file: "example.yaml",
    kind: "Pod",
    name: "chainsawgatedpod",
    brk(doc) {
      rename(doc.spec, "readinessGates", "readinessGate");
      return "spec.readinessGate";
    },
    message: /'readinessGate' does not exist in type 'PodSpec'/,
  },
  {
    what: "a readiness gate in a DaemonSet's pod template, misspelt",
    file: "daemonset_openshift.yaml",
    kind: "DaemonSet",
    brk(doc) {
      doc.spec.template.spec.readinessGate = [{ conditionType: "x" }];
      return "spec.template.spec.readinessGate";
    },
    message: /'readinessGate' does not exist in type 'PodSpec'/,
  },
  {
    what: "a container port as a string",
    file: "daemonset.yaml",
    kind: "DaemonSet",
    brk(doc) {
      const port = doc.spec.template.spec.containers[0].ports[0];
      port.containerPort = String(port.containerPort);
      return "spec.template.spec.containers[0].ports[0].containerPort";
    },
    message: /Type 'string' is not assignable to type 'number'/,
  },
  {
    what: "hostNetwork as a string",
    file: "daemonset.yaml",
    kind: "DaemonSet",
    brk(doc) {
      doc.spec.template.spec.hostNetwork = "true";
      return "spec.template.spec.hostNetwork";
    },
    message: /Type 'string' is not assignable to type 'boolean \| undefined'/,
  },
  {
    what: "a container without its required name",
    file: "example.yaml",
    kind: "Pod",
    name: "chainsawtestpod",
    brk(doc) {
      delete doc.spec.containers[0].name;
      return "spec.containers[0]";
    },
    message: /Property 'name' is missing .* required in type 'Container'/,
  },
  {
    what: "an unknown field at the top",
    file: "policy-configmap.yaml",
    kind: "ConfigMap",
    brk(doc) {
      doc.datas = doc.data;
      return "datas";
    },
    message: /'datas' does not exist in type 'ConfigMap'/,
  },
  {
    what: "a ConfigMap value that is not a string",
    file: "policy-configmap.yaml",
    kind: "ConfigMap",
    brk(doc) {
      doc.data.count = 3;
      return "data.count";
    },
    message: /Type 'number' is not assignable to type 'string'/,
  },
  {
    what: "a misspelt field in an RBAC rule",
    file: "daemonset.yaml",
    kind: "ClusterRole",
    brk(doc) {
      rename(doc.rules[0], "verbs", "verb");
      return "rules[0].verb";
    },
    message: /'verb' does not exist in type 'PolicyRule'/,
  },
  {
    what: "a misspelt field in the admission policy's validations",
    file: "admission-policy.yaml",
    kind: "ValidatingAdmissionPolicy",
    brk(doc) {
      rename(doc.spec.validations[0], "expression", "expresion");
      return "spec.validations[0].expresion";
    },
    message: /'expresion' does not exist in type 'Validation'/,
  },
  {
    what: "a binding's validationActions as a string",
    file: "admission-policy.yaml",
    kind: "ValidatingAdmissionPolicyBinding",
    brk(doc) {
      doc.spec.validationActions = "Deny";
      return "spec.validationActions";
    },
    message: /Type 'string' is not assignable to type 'string\[\]'/,
  },
  {
    what: "an unknown field in the NetworkAttachmentDefinition's spec",
    file: "example.yaml",
    kind: "NetworkAttachmentDefinition",
    brk(doc) {
      rename(doc.spec, "config", "configs");
      return "spec.configs";
    },
    message: /'configs' does not exist in type/,
  },
  {
    what: "the NetworkAttachmentDefinition's config as an object",
    file: "example.yaml",
    kind: "NetworkAttachmentDefinition",
    brk(doc) {
      doc.spec.config = JSON.parse(doc.spec.config);
      return "spec.config";
    },
    message: /is not assignable to type 'string'/,
  },
  {
    what: "a misspelt field in a ServiceMonitor endpoint",
    file: "monitoring/servicemonitor.yaml",
    kind: "ServiceMonitor",
    brk(doc) {
      rename(doc.spec.endpoints[0], "interval", "intervall");
      return "spec.endpoints[0].intervall";
    },
    message: /'intervall' does not exist in type/,
  },
  {
    what: "an apiVersion with no schema",
    file: "example.yaml",
    kind: "NetworkAttachmentDefinition",
    brk(doc) {
      doc.apiVersion = "k8s.cni.cncf.io/v2";
      return "apiVersion";
    },
    message: /no schema for k8s\.cni\.cncf\.io\/v2/,
  },
  {
    what: "no kind",
    file: "policy-configmap.yaml",
    kind: "ConfigMap",
    brk(doc) {
      delete doc.kind;
      return "kind";
    },
    message: /not a kind: undefined/,
  },
  {
    what: "a misspelt kind",
    file: "daemonset.yaml",
    kind: "DaemonSet",
    brk(doc) {
      doc.kind = "Daemonset";
      return "kind";
    },
    message: /has no exported member named 'Daemonset'/,
  },
];

/** A broken copy, or why it could not be made (the object it copies is gone or has changed). */
type BrokenCopy = { subject: Subject; path: string; message: RegExp } | { unbuilt: string };

function breakCopy(b: Breakage, subjects: Subject[]): BrokenCopy {
  const found = subjects.filter((s) =>
    s.label.startsWith(`deployments/${b.file}: `) && s.doc.kind === b.kind &&
    (b.name === undefined || s.doc.metadata?.name === b.name)
  );
  if (found.length !== 1) return { unbuilt: `${b.what}: ${found.length} ${b.kind} in ${b.file}, not one` };
  const doc = structuredClone(found[0].doc);
  try {
    const path = b.brk(doc);
    return { subject: { label: `${found[0].label} [broken: ${b.what}]`, doc }, path, message: b.message };
  } catch (e) {
    return { unbuilt: `${b.what}: ${(e as Error).message}` };
  }
}

interface Run {
  subjects: Subject[];
  broken: BrokenCopy[];
  findings: Finding[];
}

let result: Promise<Run> | undefined;

/** Loads and checks the manifests and their broken copies once for every test below. */
function run(): Promise<Run> {
  result ??= (async () => {
    const subjects = loadSubjects();
    const broken = BREAKAGES.map((b) => breakCopy(b, subjects));
    const copies = broken.flatMap((b) => "subject" in b ? [b.subject] : []);
    return { subjects, broken, findings: await check([...subjects, ...copies]) };
  })();
  return result;
}

Deno.test(`every object in deployments/ is valid against the Kubernetes 1.${KUBERNETES_MINOR} schema, strictly`, async () => {
  const { subjects, findings } = await run();
  const kinds = new Set(subjects.map((s) => s.doc.kind));
  for (
    const k of [
      "DaemonSet",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "Pod",
      "NetworkAttachmentDefinition",
    ]
  ) {
    assert(kinds.has(k), `deployments/ has a ${k} to check`);
  }
  const real = findings.filter((f) => !f.label.includes(" [broken: "));
  assertEquals(show(real), "", "the manifests are valid");
});

Deno.test("the strict check reports each broken copy's error on the field it breaks", async () => {
  const { broken, findings } = await run();
  for (const b of broken) {
    assert("subject" in b, `the broken copy ${"unbuilt" in b ? b.unbuilt : ""}`);
    const got = findings.filter((f) => f.label === b.subject.label);
    assertEquals(got.length, 1, `${b.subject.label}: one error, got:\n${show(got)}`);
    assertEquals(got[0].path, b.path, `${b.subject.label}: the field: ${show(got)}`);
    assertMatch(got[0].message, b.message, `${b.subject.label}: the error: ${got[0].message}`);
  }
});

Deno.test("the YAML files skipped as holding no Kubernetes object exist and hold none", () => {
  for (const file of Object.keys(NOT_OBJECTS)) {
    const docs = parseAllDocuments(Deno.readTextFileSync(`${DIR}/${file}`)).map((d) =>
      d.toJS() as Doc | null
    );
    for (const d of docs) {
      assert(d === null || !("apiVersion" in d || "kind" in d), `${file} holds no object`);
    }
  }
});

Deno.test(`README names Kubernetes 1.${KUBERNETES_MINOR}, the version of the schema`, () => {
  const imports = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).imports as Record<string, string>;
  assertEquals(imports["kubernetes-types"], `npm:kubernetes-types@1.${KUBERNETES_MINOR}.0`);
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const named = [...readme.matchAll(/Kubernetes (?:≥ ?|v)?1\.(\d+)/g)].map((m) => Number(m[1]));
  assert(named.length > 0, "README names a Kubernetes version");
  assertEquals([...new Set(named)], [KUBERNETES_MINOR]);
});
