/**
 * Structure of deployments/admission-policy.yaml, and its annotation regex run with JS RegExp against
 * sample annotations (the pattern only uses constructs RE2 and JS read the same way).
 */
import * as fc from "fast-check";
import { assertProperty } from "./support/property.ts";
import { deepEqual, equal } from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseAnnotation } from "../src/annotation/annotation.ts";

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
const validations = policy.spec.validations as { expression: string; reason: string }[];

function annotationRegex(): RegExp {
  const m = /matches\(r'([^']*)'\)/.exec(validations.map((v) => v.expression).join("\n"));
  if (!m) throw new Error("no matches(r'...') in the validations");
  return new RegExp(m[1]);
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

Deno.test("the annotation regex accepts exactly JSON lists of non-empty strings", () => {
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
    '{"net-a": ["ip route"]}',
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

Deno.test("what the regex accepts, chainsaw reads as the same list", () => {
  const re = annotationRegex();
  for (const a of ['["ip route", "ip addr"]', '[ "ip link set net1 mtu 1400" ]', "[]"]) {
    equal(re.test(a), true);
    deepEqual(parseAnnotation(a, "net-a"), JSON.parse(a).map((s: string) => s.trim()));
  }
});

Deno.test("the regex agrees with JSON.parse on generated values", () => {
  const re = annotationRegex();
  const isListOfNonEmptyStrings = (v: unknown): boolean =>
    Array.isArray(v) && v.every((s) => typeof s === "string" && s.length > 0);
  assertProperty(
    fc.property(fc.array(fc.string({ minLength: 1, unit: "binary" }), { maxLength: 5 }), (list) => {
      equal(re.test(JSON.stringify(list)), true);
      equal(re.test(JSON.stringify(list, null, 2)), true);
    }),
    { numRuns: 500 },
  );
  assertProperty(
    fc.property(fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify([v]))), (text) => {
      if (!re.test(text)) return;
      equal(isListOfNonEmptyStrings(JSON.parse(text)), true, text);
    }),
    { numRuns: 2000 },
  );
});
