/**
 * The schemas of the custom resources deployments/ uses, as TypeScript types for the strict manifest check
 * (tests/deployments_schema_test.ts), written from each CRD's `openAPIV3Schema`: one field here per property
 * there, no index signature where the CRD lists properties (the API server prunes, or with kubectl's default
 * `--validate=strict` rejects, any other field).
 *
 * @module
 */
import type { ObjectMeta } from "kubernetes-types/meta/v1";

/**
 * `network-attachment-definitions.k8s.cni.cncf.io`, version v1: the Network Plumbing Working Group's CRD as
 * Multus ships it (multus-cni `deployments/multus-daemonset-thick.yml`). Its schema: `apiVersion`, `kind`
 * (strings), `metadata` (`type: object`, which the API server validates as ObjectMeta), `spec` (an object with
 * one property, `config`, a string: the CNI configuration as JSON).
 */
export interface NetworkAttachmentDefinition {
  apiVersion?: "k8s.cni.cncf.io/v1";
  kind?: "NetworkAttachmentDefinition";
  metadata?: ObjectMeta;
  spec?: {
    /** The CNI configuration (a JSON text), a network config or a conflist. */
    config?: string;
  };
}

/**
 * The prometheus-operator's `monitoring.coreos.com/v1` resources, as `@kubernetes-models/prometheus-operator`
 * generates them from its CRDs (v0.90.1 or later): closed types like the CRDs' schemas. (Its own `validate()`
 * accepts unknown fields; only its types are used here.)
 */
export type {
  IPodMonitor as PodMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
export type {
  IPrometheusRule as PrometheusRule,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
export type {
  IServiceMonitor as ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
