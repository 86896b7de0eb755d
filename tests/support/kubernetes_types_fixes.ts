/**
 * Fields the npm package `kubernetes-types` 1.30.0 drops from the Kubernetes 1.30 API, put back (declaration
 * merging) for the strict manifest check (tests/deployments_schema_test.ts).
 *
 * Measured: its 613 interfaces, field by field, against the models of `@kubernetes/client-node` 0.22.0 (the
 * Kubernetes project's client, generated from the same 1.30 OpenAPI definitions). It has no field they lack.
 * It lacks:
 * - the 10 fields below, of 5 types, lost by its generator (the descriptions of `resources` hold `*` `/`, which
 *   would end a doc comment). A manifest must be able to use them: an admission policy's resourceRules name
 *   their resources.
 * - the read-only fields (`status`, `metadata.uid`, `resourceVersion`, `creationTimestamp`, `generation`,
 *   `deletionTimestamp`, `deletionGracePeriodSeconds`): a manifest has no business setting them, so the check
 *   rejects them. Not restored.
 * - the `x-kubernetes-*` fields of a CRD's JSONSchemaProps (no CRD is shipped here). Not restored.
 *
 * @module
 */
import type {} from "kubernetes-types/admissionregistration/v1";
import type {} from "kubernetes-types/admissionregistration/v1beta1";
import type {} from "kubernetes-types/admissionregistration/v1alpha1";
import type {} from "kubernetes-types/authorization/v1";

/** The two fields a rule of an admission webhook or policy loses. */
interface RuleResources {
  /** The resources the rule applies to: `pods`, `pods/log`, `*`, `pods/*`, `*` `/scale`, ... */
  resources?: Array<string>;
  /** `Cluster`, `Namespaced` or `*` (the default). */
  scope?: string;
}

declare module "kubernetes-types/admissionregistration/v1" {
  interface RuleWithOperations extends RuleResources {}
  interface NamedRuleWithOperations extends RuleResources {}
}

declare module "kubernetes-types/admissionregistration/v1beta1" {
  interface NamedRuleWithOperations extends RuleResources {}
}

declare module "kubernetes-types/admissionregistration/v1alpha1" {
  interface NamedRuleWithOperations extends RuleResources {}
}

declare module "kubernetes-types/authorization/v1" {
  interface ResourceRule {
    resources?: Array<string>;
    verbs: Array<string>;
  }
}
