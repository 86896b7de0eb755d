/**
 * The annotation keys alone, so the plugin's common path (a pod without the annotation) can check for them without
 * loading the annotation parser.
 * @module
 */

/** The annotation key chainsaw reads. */
export const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";

/** Multus's network selection: which NetworkAttachmentDefinitions a pod's extra interfaces come from. */
export const NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks";
