/**
 * The pod the daemon tests drive: default/p1 with a fixed UID, on the test's node, carrying chainsaw's annotation.
 *
 * @module
 */
import { ANNOTATION } from "./chain_fixture.ts";
import { makePod, type Pod } from "./fake_apiserver.ts";

/**
 * Pod default/p1 (UID uid-1) on `node`, with chainsaw's annotation set to `annotation`, or without it when
 * `annotation` is undefined (a deleted annotation).
 *
 * @param node the pod's spec.nodeName (the daemon's node)
 * @param annotation the annotation's value, or undefined for none
 * @example
 * ```ts ignore
 * api.setPod(annotatedPod("node-decl", JSON.stringify(["ip route"])));
 * ```
 */
export function annotatedPod(node: string, annotation: string | undefined): Pod {
  return makePod({
    namespace: "default",
    name: "p1",
    uid: "uid-1",
    nodeName: node,
    annotations: annotation === undefined ? {} : { [ANNOTATION]: annotation },
  });
}
