/**
 * The annotation key alone, so the plugin's common path (a pod without the annotation) can check for it without
 * loading the annotation parser.
 * @module
 */

/** The annotation key chainsaw reads. */
export const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
