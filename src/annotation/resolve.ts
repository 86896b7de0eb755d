/**
 * Which commands of the chainsaw annotation an attachment gets: the one resolution ADD (in the plugin and in the
 * daemon), `chainsaw explain`, live re-apply and the declarative apply all use, so they cannot disagree.
 *
 * A list (or a single command) is for every attachment. An object's keys name attachments, and for each
 * attachment the first of these that is a key wins:
 * 1. the pod-side interface name (`net2`, `eth0`);
 * 2. the NetworkAttachmentDefinition it came from: `namespace/name`, then `name` alone when the NAD is in the
 *    pod's namespace (see ./network_selection.ts for how an attachment's NAD is found);
 * 3. the chain config's `name`;
 * 4. `"*"`.
 *
 * A key that names none of the pod's attachments does nothing; {@link unmatchedKeys} finds such keys so that a
 * typo is reported, never silently ignored.
 *
 * @example
 * ```ts
 * import { resolveCommands } from "./resolve.ts";
 * const value = '{"net2": "ip route add 192.0.4.0/24 dev net2", "test-chainsaw": "ip route add 192.0.3.0/24 dev net1"}';
 * const net1 = { ifname: "net1", network: "test-chainsaw-chain", nad: "default/test-chainsaw", podNamespace: "default" };
 * resolveCommands(value, net1); // { commands: ["ip route add 192.0.3.0/24 dev net1"], key: "test-chainsaw" }
 * resolveCommands(value, { ...net1, ifname: "net2" }).key; // "net2"
 * ```
 * @module
 */
import { type AnnotationValue, commandsOf, readAnnotation } from "./annotation.ts";

/** Who an attachment is, for picking its entry of an object-form annotation. */
export interface AttachmentName {
  /** The pod-side interface (`CNI_IFNAME`), e.g. `net1`. */
  ifname: string;
  /** The chain config's `name` (the network name on stdin), e.g. `test-chainsaw-chain`. */
  network: string;
  /** The NAD (`namespace/name`) Multus set the attachment up for; absent when it is not from a selection. */
  nad?: string;
  /** The pod's namespace: a bare NAD key `name` means `podNamespace/name`. */
  podNamespace: string;
}

/** What an attachment gets. */
export interface Resolution {
  /** The commands, trimmed, in order; empty: nothing for this attachment. */
  commands: string[];
  /** The object-form key that picked them; absent for a list, or when no key names the attachment. */
  key?: string;
}

/**
 * The keys that name `a`, most specific first (the order of precedence).
 *
 * @param a the attachment
 * @returns its interface, its NAD (`ns/name`, and `name` in the pod's namespace), its chain name, `"*"`
 */
export function keysOf(a: AttachmentName): string[] {
  const keys = [a.ifname];
  if (a.nad !== undefined) {
    keys.push(a.nad);
    const slash = a.nad.indexOf("/");
    if (a.nad.slice(0, slash) === a.podNamespace) keys.push(a.nad.slice(slash + 1));
  }
  keys.push(a.network, "*");
  return keys;
}

function pick(value: AnnotationValue, a: AttachmentName): Resolution {
  if (value.form === "list") return { commands: commandsOf(value.commands) };
  for (const key of keysOf(a)) {
    const entry = value.entries.get(key);
    if (entry !== undefined) return { commands: commandsOf(entry), key };
  }
  return { commands: [] };
}

/**
 * The commands `value` asks for on the attachment `a`.
 *
 * @param value the chainsaw annotation's value (undefined or blank: nothing)
 * @param a the attachment
 * @returns the commands and the key that picked them
 * @throws {import("./annotation.ts").AnnotationError} a malformed value, or an empty command in the entry picked
 */
export function resolveCommands(value: string | undefined, a: AttachmentName): Resolution {
  return pick(readAnnotation(value), a);
}

/**
 * The keys of an object-form value that name none of `attachments` (`"*"` names every attachment), in the order
 * written; empty for the other forms.
 *
 * @param value the chainsaw annotation's value
 * @param attachments all of the pod's attachments (interface, NAD, chain name)
 * @returns the keys that do nothing
 * @throws {import("./annotation.ts").AnnotationError} a malformed value
 */
export function unmatchedKeys(value: string | undefined, attachments: readonly AttachmentName[]): string[] {
  const read = readAnnotation(value);
  if (read.form === "list") return [];
  const named = new Set(attachments.flatMap(keysOf));
  return [...read.entries.keys()].filter((k) => k !== "*" && !named.has(k));
}

/**
 * The warnings of an object-form value's keys that name none of `attachments` (what reports, Events and explain
 * say): {@link unmatchedKeyWarning} of each of {@link unmatchedKeys}.
 *
 * @param value the chainsaw annotation's value
 * @param attachments all of the pod's attachments
 * @returns one sentence per key that does nothing; empty for the other forms
 * @throws {import("./annotation.ts").AnnotationError} a malformed value
 */
export function unmatchedKeyWarnings(
  value: string | undefined,
  attachments: readonly AttachmentName[],
): string[] {
  return unmatchedKeys(value, attachments).map((k) => unmatchedKeyWarning(k, attachments));
}

/**
 * An attachment as reports and Events name it: `network default/test-chainsaw (chain test-chainsaw-chain) on
 * net1` when it came from a NAD, else `network test-chainsaw-chain on net1`.
 *
 * @param a the attachment
 * @returns the phrase (unescaped: the caller neutralises it for its output)
 */
export function describeAttachment(a: Pick<AttachmentName, "ifname" | "network" | "nad">): string {
  return a.nad === undefined
    ? `network ${a.network} on ${a.ifname}`
    : `network ${a.nad} (chain ${a.network}) on ${a.ifname}`;
}

/**
 * The warning for a key that names no attachment: the key and every attachment the pod has.
 *
 * @param key the key
 * @param attachments the pod's attachments
 * @returns e.g. `key "net3" of the chainsaw annotation matches none of the pod's attachments: net1 (network
 *   default/test-chainsaw, chain test-chainsaw-chain); it does nothing`
 */
export function unmatchedKeyWarning(key: string, attachments: readonly AttachmentName[]): string {
  const list = attachments.map((a) =>
    a.nad === undefined
      ? `${a.ifname} (chain ${a.network})`
      : `${a.ifname} (network ${a.nad}, chain ${a.network})`
  );
  return `key ${JSON.stringify(key)} of the chainsaw annotation matches none of the pod's attachments: ${
    list.join(", ") || "none"
  }; it does nothing`;
}
