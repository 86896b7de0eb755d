/**
 * The pod annotation `k8s.v1.cni.cncf.io/chainsaw`: what a user writes and how it becomes commands.
 *
 * Accepted forms:
 * - a JSON list of strings: `["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]`
 * - a single command, bare (`ip route`) or as a JSON string (`"ip route"`)
 * - a JSON object whose keys name attachments, each mapped to a command or a list of commands:
 *   `{"net2": ["ip route"], "default/test-chainsaw": "ip addr", "*": []}`. Which key picks an attachment's entry
 *   (interface, NAD, chain name, `"*"`, most specific first) is {@link ./resolve.ts}'s.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { describeZodIssue } from "../text/zod_issue.ts";
import * as z from "zod/mini";

export { ANNOTATION } from "./annotation_key.ts";
import { ANNOTATION } from "./annotation_key.ts";

/** Thrown when the annotation cannot be read as commands; the message says why. */
export class AnnotationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AnnotationError";
  }
}

const CommandList = z.union([z.string(), z.array(z.string())]);

/**
 * A value read: one list for every attachment, or entries by key (object form). Entries keep the user's text
 * (not yet trimmed or checked for empty commands: only the entry an attachment picks is).
 */
export type AnnotationValue =
  | { form: "list"; commands: string[] }
  | { form: "keys"; entries: ReadonlyMap<string, readonly string[]> };

/**
 * Reads the annotation's value without picking anything. An absent or blank value is an empty list.
 *
 * @param value the annotation's value
 * @returns the list, or the object form's entries in the order written
 * @throws {AnnotationError} malformed JSON, a list or entry that is not strings
 */
export function readAnnotation(value: string | undefined): AnnotationValue {
  const text = (value ?? "").trim();
  if (text === "") return { form: "list", commands: [] };
  if (!(text.startsWith("[") || text.startsWith("{") || text.startsWith('"'))) {
    return { form: "list", commands: [text] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new AnnotationError(`annotation ${ANNOTATION} is not valid JSON: ${errorText(e)}`, { cause: e });
  }
  if (text.startsWith("{")) {
    // Own members in the order written; a "__proto__" key is an ordinary key here.
    const entries = new Map<string, readonly string[]>();
    for (const [key, entry] of Object.entries(data as Record<string, unknown>)) {
      const parsed = CommandList.safeParse(entry);
      if (!parsed.success) {
        throw new AnnotationError(
          `annotation ${ANNOTATION} must map each key (interface, network, chain name or "*") to a command ` +
            `or a list of commands: ${describeZodIssue(parsed.error, `key ${JSON.stringify(key)}`)}`,
        );
      }
      entries.set(key, typeof parsed.data === "string" ? [parsed.data] : parsed.data);
    }
    return { form: "keys", entries };
  }
  const parsed = CommandList.safeParse(data);
  if (!parsed.success) {
    throw new AnnotationError(
      `annotation ${ANNOTATION} must be a JSON list of strings: ${describeZodIssue(parsed.error)}`,
    );
  }
  return { form: "list", commands: typeof parsed.data === "string" ? [parsed.data] : parsed.data };
}

/**
 * The commands of a list, trimmed, in order.
 *
 * @param list the list or entry picked
 * @returns the commands
 * @throws {AnnotationError} when one is empty
 */
export function commandsOf(list: readonly string[]): string[] {
  const commands = list.map((c) => c.trim());
  const empty = commands.findIndex((c) => c === "");
  if (empty >= 0) throw new AnnotationError(`annotation ${ANNOTATION}: command ${empty + 1} is empty`);
  return commands;
}

/**
 * Returns the command strings the annotation value asks for on the chain (network) `network`, trimmed, in order:
 * an object form's entry for `network`, else its `"*"`. Kept for library users who only know a chain name; the
 * plugin and the daemon pick with `resolveCommands` (./resolve.ts), which also knows interfaces and NADs.
 * An absent or blank value means no commands. Throws {@link AnnotationError} for malformed JSON, non-string
 * entries or empty commands.
 */
export function parseAnnotation(value: string | undefined, network: string): string[] {
  const read = readAnnotation(value);
  if (read.form === "list") return commandsOf(read.commands);
  const picked = read.entries.get(network) ?? read.entries.get("*");
  return picked === undefined ? [] : commandsOf(picked);
}
