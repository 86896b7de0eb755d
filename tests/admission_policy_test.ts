/**
 * Structure of deployments/admission-policy.yaml, and its annotation regexes (the list form's and the object
 * form's) run with JS RegExp against sample annotations (the patterns only use constructs RE2 and JS read the
 * same way).
 */
import * as fc from "fast-check";
import { assertProperty } from "./support/property.ts";
import { deepEqual, equal } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseAnnotation, readAnnotation } from "../src/annotation/annotation.ts";

interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const text = await Deno.readTextFile(new URL("../deployments/admission-policy.yaml", import.meta.url));
const docs = parseAllDocuments(text).map((d) => d.toJS() as Manifest);
const policy = docs.find((d) => d.kind === "ValidatingAdmissionPolicy")!;
const binding = docs.find((d) => d.kind === "ValidatingAdmissionPolicyBinding")!;
const variables = policy.spec.variables as { name: string; expression: string }[];
const validations = policy.spec.validations as { expression: string; reason: string; message?: string }[];

/** The validations' `matches(r'...')` patterns: the list form's, then the object form's. */
function annotationRegexes(): RegExp[] {
  const all = [...validations.map((v) => v.expression).join("\n").matchAll(/matches\(r'([^']*)'\)/g)];
  if (all.length !== 2) {
    throw new Error(`expected two matches(r'...') in the validations, found ${all.length}`);
  }
  return all.map((m) => new RegExp(m[1]));
}

/** What the policy accepts: either pattern (the CEL expression ORs them). */
function annotationRegex(): { test(text: string): boolean } {
  const res = annotationRegexes();
  return { test: (text) => res.some((re) => re.test(text)) };
}

Deno.test("two manifests: the policy and its binding, admissionregistration.k8s.io/v1", () => {
  deepEqual(docs.map((d) => [d.apiVersion, d.kind]), [
    ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"],
    ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"],
  ]);
  equal(binding.spec.policyName, policy.metadata.name);
  deepEqual(binding.spec.validationActions, ["Deny"]);
  equal(policy.spec.failurePolicy, "Fail");
});

Deno.test("pods and every workload with a pod template are matched, on create and update", () => {
  const rules = (policy.spec.matchConstraints as { resourceRules: ResourceRule[] }).resourceRules;
  const covered = new Set(rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups.join()}/${res}`)));
  for (
    const r of [
      "/pods",
      "apps/deployments",
      "apps/statefulsets",
      "apps/daemonsets",
      "apps/replicasets",
      "batch/jobs",
      "batch/cronjobs",
    ]
  ) {
    equal(covered.has(r), true, r);
  }
  for (const r of rules) deepEqual([...r.operations].sort(), ["CREATE", "UPDATE"]);
});

Deno.test("the grant label and the annotation key are the ones chainsaw uses", () => {
  const all = JSON.stringify(policy.spec);
  equal(
    variables.find((v) => v.name === "namespaceEnabled")!.expression.includes(
      "namespaceObject.metadata.labels['chainsaw.cni.cncf.io/enabled'] == 'true'",
    ),
    true,
  );
  equal(all.includes("'k8s.v1.cni.cncf.io/chainsaw' in variables.annotations"), true);
  equal(all.includes("object.spec.jobTemplate.spec.template.metadata.annotations"), true);
  equal(all.includes("object.spec.template.metadata.annotations"), true);
  deepEqual(validations.map((v) => v.reason), ["Forbidden", "Invalid"]);
  equal(text.includes("kubectl label namespace NAME chainsaw.cni.cncf.io/enabled=true"), true);
});

Deno.test("the list form: exactly JSON lists of non-empty strings", () => {
  const re = annotationRegex();
  const good = [
    '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]',
    '["ip route"," ip addr"]',
    "[]",
    ' [ "ip addr" ] ',
    '[\n  "ip route",\n  "ip addr"\n]',
    '["ip route add 10/8 dev \\"net1\\""]',
    '["back\\\\slash", "tab\\there", "\\u00e9", "sl\\/ash"]',
    '["ip netns exec x /bin/sh"]', // well-formed: refusing it is the node policy's job
  ];
  for (const a of good) {
    equal(re.test(a), true, a);
    equal(Array.isArray(JSON.parse(a)), true, a);
  }
  const bad = [
    "ip route",
    '"ip route"',
    '[""]',
    "[1]",
    '["ip route", 2]',
    "[null]",
    '[["ip route"]]',
    '["ip route",]',
    '["ip route"',
    '["a" "b"]',
    '["bad \\x escape"]',
    '["raw\ttab"]',
    '["raw\nnewline"]',
    "['single']",
    "",
    '["ip route"] trailing',
  ];
  for (const a of bad) equal(re.test(a), false, a);
});

Deno.test("the object form: non-empty string keys to a non-empty string or a list of them", () => {
  const re = annotationRegex();
  const good = [
    '{"net1": ["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"], "default/test-chainsaw": "ip route"}',
    '{"*": []}',
    "{}",
    ' { "net2" : [ "ip addr" , "ip route" ] , "test-chainsaw-chain":"ip link" } ',
    '{\n  "net1": [\n    "ip route"\n  ]\n}',
    '{"n\\u00e9t": "ip route add 10/8 dev \\"net1\\""}',
    '{"__proto__": "ip route"}',
  ];
  for (const a of good) {
    equal(re.test(a), true, a);
    equal(readAnnotation(a).form, "keys", a);
  }
  const bad = [
    '{"": "ip route"}', // an empty key names nothing
    '{"net1": ""}',
    '{"net1": [""]}',
    '{"net1": 1}',
    '{"net1": null}',
    '{"net1": {"x": "ip route"}}',
    '{"net1": [["ip route"]]}',
    '{"net1": ["ip route",]}',
    '{"net1": "ip route",}',
    '{net1: "ip route"}',
    "{'net1': 'ip route'}",
    '{"net1" "ip route"}',
    '{"net1": "ip route"',
    '{"net1": "raw\ttab"}',
    '{"raw\nkey": "ip route"}',
    '{"net1": "ip route"} trailing',
    '"net1": "ip route"}',
    '[{"net1": "ip route"}]',
  ];
  for (const a of bad) equal(re.test(a), false, a);
});

Deno.test("the refusal's message shows both forms", () => {
  const message = validations.find((v) => v.reason === "Invalid")!.message!;
  for (const part of ["JSON list of non-empty strings", "JSON object", '"*"', "16384"]) {
    equal(message.includes(part), true, part);
  }
  const examples = [...message.matchAll(/e\.g\. (\[[^\]]*\]|\{.*\})/g)].map((m) => m[1]);
  equal(examples.length, 2, message);
  for (const e of examples) equal(annotationRegex().test(e), true, e);
});

Deno.test("what the regex accepts, chainsaw reads as the same list or object", () => {
  const re = annotationRegex();
  for (const a of ['["ip route", "ip addr"]', '[ "ip link set net1 mtu 1400" ]', "[]"]) {
    equal(re.test(a), true);
    deepEqual(parseAnnotation(a, "net-a"), JSON.parse(a).map((s: string) => s.trim()));
  }
  const o = '{"net1": ["ip route", "ip addr"], "default/test-chainsaw": "ip link", "*": []}';
  equal(re.test(o), true);
  const read = readAnnotation(o);
  deepEqual(read.form === "keys" && Object.fromEntries(read.entries), {
    net1: ["ip route", "ip addr"],
    "default/test-chainsaw": ["ip link"],
    "*": [],
  });
});

Deno.test("the regex agrees with JSON.parse on generated values", () => {
  const re = annotationRegex();
  const isListOfNonEmptyStrings = (v: unknown): boolean =>
    Array.isArray(v) && v.every((s) => typeof s === "string" && s.length > 0);
  const isAcceptedForm = (v: unknown): boolean =>
    isListOfNonEmptyStrings(v) ||
    (typeof v === "object" && v !== null && !Array.isArray(v) &&
      Object.entries(v).every(([k, e]) =>
        k.length > 0 && (isListOfNonEmptyStrings(e) || (typeof e === "string" && e.length > 0))
      ));
  const entry = fc.oneof(
    fc.string({ minLength: 1, unit: "binary" }),
    fc.array(fc.string({ minLength: 1, unit: "binary" }), { maxLength: 3 }),
  );
  assertProperty(
    fc.property(fc.array(fc.string({ minLength: 1, unit: "binary" }), { maxLength: 5 }), (list) => {
      equal(re.test(JSON.stringify(list)), true);
      equal(re.test(JSON.stringify(list, null, 2)), true);
    }),
    { numRuns: 500 },
  );
  assertProperty(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, unit: "binary" }), entry, { maxKeys: 4 }),
      (object) => {
        equal(re.test(JSON.stringify(object)), true);
        equal(re.test(JSON.stringify(object, null, 2)), true);
      },
    ),
    { numRuns: 500 },
  );
  assertProperty(
    fc.property(
      fc.oneof(
        fc.json(),
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify([v])),
        fc.tuple(fc.string(), fc.jsonValue()).map(([k, v]) => JSON.stringify({ [k]: v })),
      ),
      (text) => {
        if (!re.test(text)) return;
        equal(isAcceptedForm(JSON.parse(text)), true, text);
      },
    ),
    { numRuns: 2000 },
  );
});
