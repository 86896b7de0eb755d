/**
 * The pod's Multus network selection, `k8s.v1.cni.cncf.io/networks`, read the way Multus (v4.0.2, thin and
 * thick) reads it, so chainsaw knows which NetworkAttachmentDefinition (NAD) an attachment came from: chainsaw's
 * stdin names only the NAD's CNI config (`name: test-chainsaw-chain`), never the NAD (`default/test-chainsaw`).
 *
 * The selection is one of:
 * - a comma list of `name`, `namespace/name`, `name@ifname` or `namespace/name@ifname` (each part a DNS-1123
 *   label: lower-case alphanumerics and `-`, starting and ending alphanumerically; blanks around parts ignored);
 * - a JSON list of objects with `name`, optional `namespace` and `interface` (the pre-3.2 `interfaceRequest` when
 *   `interface` is empty); other members (`ips`, `mac`, `cni-args`, …) do not matter here. Multus reads it with
 *   Go's `encoding/json`: member names match case-insensitively, and a value is JSON as soon as it contains any
 *   of `[`, `{` or `"`.
 *
 * An element without a namespace is in the pod's namespace. Its interface is the one it names, otherwise
 * `net<i>` where `i` is its 1-based position in the selection: Multus names a delegate by its index in the list
 * of delegates, whose index 0 is the cluster network (the pod's `eth0`), and elements that name their interface
 * still take their index. So `a@x, b` gives `x` and `net2`, never `net1`. (A Multus configured with
 * `defaultNetworks` puts those before the selection and shifts the numbering; chainsaw does not see that
 * configuration and assumes none.)
 *
 * @example
 * ```ts
 * import { nadOfInterface, parseNetworkSelection } from "./network_selection.ts";
 * parseNetworkSelection("test-chainsaw, other/test-chainsaw@sw0", "default");
 * // [{ namespace: "default", name: "test-chainsaw", interface: "net1", explicit: false },
 * //  { namespace: "other", name: "test-chainsaw", interface: "sw0", explicit: true }]
 * nadOfInterface("test-chainsaw, test-chainsaw", "default", "net2"); // "default/test-chainsaw"
 * ```
 * @module
 */
import { errorText } from "../text/error_text.ts";

export { NETWORKS_ANNOTATION } from "./annotation_key.ts";

/** One element of the selection, with the interface Multus gives it. */
export interface SelectedNetwork {
  /** The NAD's namespace (the pod's when the element names none). */
  namespace: string;
  /** The NAD's name. */
  name: string;
  /** The pod-side interface Multus creates for it (`CNI_IFNAME` of its delegate's ADD). */
  interface: string;
  /** True when the element names its interface; false for `net<i>`. */
  explicit: boolean;
}

/** Thrown for a selection Multus itself refuses (the pod never gets its attachments); the message says why. */
export class SelectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SelectionError";
  }
}

/** What Multus checks each part of a comma-list element against (DNS-1123 label). */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses one comma-list element: `[namespace/]name[@ifname]`. */
function parseListElement(item: string): { namespace: string; name: string; ifname: string } {
  const slash = item.split("/");
  if (slash.length > 2) throw new SelectionError(`element "${item}": more than one "/"`);
  const namespace = slash.length === 2 ? slash[0].trim() : "";
  const at = slash[slash.length - 1].split("@");
  if (at.length > 2) throw new SelectionError(`element "${item}": more than one "@"`);
  const name = at[0].trim();
  const ifname = at.length === 2 ? at[1].trim() : "";
  for (const part of [namespace, name, ifname]) {
    if (part !== "" && !LABEL.test(part)) {
      throw new SelectionError(
        `element "${item}": "${part}" is not a DNS-1123 label (lower-case alphanumerics and "-", starting and ` +
          "ending alphanumerically)",
      );
    }
  }
  if (name === "") throw new SelectionError(`element "${item}" names no network`);
  return { namespace, name, ifname };
}

/** The members of a JSON element Multus reads here, as Go's encoding/json finds them (case-insensitively). */
const JSON_MEMBERS = ["name", "namespace", "interface", "interfacerequest"] as const;

/** Reads one JSON element the way Go unmarshals it into Multus's NetworkSelectionElement (the members used). */
function readJsonElement(
  element: unknown,
  index: number,
): { namespace: string; name: string; ifname: string } {
  if (typeof element !== "object" || element === null || Array.isArray(element)) {
    throw new SelectionError(`element ${index + 1} is not an object`);
  }
  const found: Record<(typeof JSON_MEMBERS)[number], string> = {
    name: "",
    namespace: "",
    interface: "",
    interfacerequest: "",
  };
  // Go's encoding/json: a member matches a field by exact or case-insensitive name; the last one written wins;
  // null leaves the field as it is; any other non-string is an error for a string field.
  for (const [key, value] of Object.entries(element)) {
    const member = JSON_MEMBERS.find((m) => m === key.toLowerCase());
    if (member === undefined || value === null) continue;
    if (typeof value !== "string") {
      throw new SelectionError(`element ${index + 1}: "${key}" is not a string`);
    }
    found[member] = value;
  }
  if (found.name === "") throw new SelectionError(`element ${index + 1} names no network`);
  return { namespace: found.namespace, name: found.name, ifname: found.interface || found.interfacerequest };
}

/**
 * Reads the selection as Multus does and names each element's interface.
 *
 * @param value the `k8s.v1.cni.cncf.io/networks` annotation's value ("" or blank-free empty: no selection)
 * @param podNamespace the pod's namespace (elements without one are there)
 * @returns the elements in order, each with its NAD and interface
 * @throws {SelectionError} what Multus refuses: bad JSON, not a list, a bad comma-list element, no name
 * @example
 * ```ts
 * import { parseNetworkSelection } from "./network_selection.ts";
 * parseNetworkSelection('[{"name":"a","interface":"sw0"},{"name":"a"}]', "ns").map((e) => e.interface);
 * // ["sw0", "net2"]
 * ```
 */
export function parseNetworkSelection(value: string, podNamespace: string): SelectedNetwork[] {
  if (value === "") return [];
  let elements: { namespace: string; name: string; ifname: string }[];
  if (/[[{"]/.test(value)) {
    let data: unknown;
    try {
      data = JSON.parse(value);
    } catch (e) {
      throw new SelectionError(`not valid JSON: ${errorText(e)}`, { cause: e });
    }
    if (!Array.isArray(data)) throw new SelectionError("JSON but not a list");
    elements = data.map(readJsonElement);
  } else {
    elements = value.split(",").map((item) => parseListElement(item.trim()));
  }
  return elements.map((e, i) => ({
    namespace: e.namespace || podNamespace,
    name: e.name,
    interface: e.ifname || `net${i + 1}`,
    explicit: e.ifname !== "",
  }));
}

/** The selection as {@link parseNetworkSelection} reads it; undefined when Multus would refuse it. */
function selectionOrNone(value: string, podNamespace: string): SelectedNetwork[] | undefined {
  try {
    return parseNetworkSelection(value, podNamespace);
  } catch (e) {
    if (e instanceof SelectionError) return undefined;
    throw e;
  }
}

/**
 * The NAD (`namespace/name`) Multus set up the pod interface `ifname` for, read from the pod's selection.
 *
 * @param value the `k8s.v1.cni.cncf.io/networks` value (undefined: the pod has none)
 * @param podNamespace the pod's namespace
 * @param ifname the attachment's pod-side interface (`CNI_IFNAME`)
 * @returns the NAD, or undefined when the pod has no selection, Multus would refuse it, or no element gives
 *   `ifname` (the cluster network's `eth0`, a chain outside Multus)
 */
export function nadOfInterface(
  value: string | undefined,
  podNamespace: string,
  ifname: string,
): string | undefined {
  const selection = value === undefined ? undefined : selectionOrNone(value, podNamespace);
  if (selection === undefined) return undefined;
  // Two elements giving the same interface make Multus fail the pod ("already exists") at the second: the first
  // is the one set up.
  const element = selection.find((e) => e.interface === ifname);
  return element && `${element.namespace}/${element.name}`;
}

/**
 * Whether the attachment on `ifname` is the pod's last to be set up: the pod has no selection (its one network),
 * or `ifname` is the interface of the selection's last element (Multus sets the elements up in order and stops at
 * the first failure). Only then can a key that names none of the attachments set up so far be reported.
 *
 * @param value the `k8s.v1.cni.cncf.io/networks` value (undefined: the pod has none)
 * @param podNamespace the pod's namespace
 * @param ifname the attachment's pod-side interface
 * @returns true when no further attachment follows
 */
export function isLastAttachment(value: string | undefined, podNamespace: string, ifname: string): boolean {
  // No selection, or one Multus refuses (it sets up none of it): this attachment is the only one.
  const selection = value === undefined ? undefined : selectionOrNone(value, podNamespace);
  return selection === undefined || selection.length === 0 || selection.at(-1)!.interface === ifname;
}
