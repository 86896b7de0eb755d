/**
 * The pod annotation `k8s.v1.cni.cncf.io/chainsaw`: what a user writes and how it becomes commands.
 *
 * Accepted forms:
 * - a JSON list of strings: `["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]`
 * - a single command, bare (`ip route`) or as a JSON string (`"ip route"`)
 * - a JSON object keyed by network name (the chain's `name`), `"*"` for every other network:
 *   `{"net-a": ["ip route"], "*": "ip addr"}`
 * @module
 */
import { describeZodIssue } from "../text/zod_issue.ts";
import * as z from "zod/mini";

export { ANNOTATION } from "./annotation_key.ts";
import { ANNOTATION } from "./annotation_key.ts";

/** Thrown when the annotation cannot be read as commands; the message says why. */
export class AnnotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnnotationError";
  }
}

const CommandList = z.union([z.string(), z.array(z.string())]);
const ByNetwork = z.record(z.string(), CommandList);

/**
 * Returns the command strings the annotation value asks for on the network `network`, trimmed, in order.
 * An absent or blank value means no commands. Throws {@link AnnotationError} for malformed JSON, non-string
 * entries or empty commands.
 */
export function parseAnnotation(value: string | undefined, network: string): string[] {
  const text = (value ?? "").trim();
  if (text === "") return [];
  let list: string | string[];
  if (text.startsWith("[") || text.startsWith("{") || text.startsWith('"')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new AnnotationError(`annotation ${ANNOTATION} is not valid JSON: ${(e as Error).message}`);
    }
    if (text.startsWith("{")) {
      const byNet = ByNetwork.safeParse(data);
      if (!byNet.success) {
        throw new AnnotationError(
          `annotation ${ANNOTATION} must map network names to a command or a list of commands: ${
            describeZodIssue(byNet.error)
          }`,
        );
      }
      const picked = Object.hasOwn(byNet.data, network) ? byNet.data[network] : byNet.data["*"];
      if (picked === undefined) return [];
      list = picked;
    } else {
      const parsed = CommandList.safeParse(data);
      if (!parsed.success) {
        throw new AnnotationError(
          `annotation ${ANNOTATION} must be a JSON list of strings: ${describeZodIssue(parsed.error)}`,
        );
      }
      list = parsed.data;
    }
  } else {
    list = text;
  }
  const commands = (typeof list === "string" ? [list] : list).map((c) => c.trim());
  const empty = commands.findIndex((c) => c === "");
  if (empty >= 0) throw new AnnotationError(`annotation ${ANNOTATION}: command ${empty + 1} is empty`);
  return commands;
}
