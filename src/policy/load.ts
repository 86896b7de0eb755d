/**
 * Where the policy comes from and how the sources combine. The node file (`/etc/cni/chainsaw/policy.json`,
 * else `policy.yaml`/`policy.yml`, written by the DaemonSet from a ConfigMap) is the ceiling; without it the
 * default policy is. The chain config's `policy` key (editable by whoever edits the
 * NetworkAttachmentDefinition) can only narrow it.
 *
 * The YAML parser is imported only when a YAML file is actually read: the JSON path loads nothing extra.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { NODE_POLICY_DIR } from "../host_paths.ts";
import { defaultPolicy } from "./default_policy.ts";
import {
  compileRules,
  DEFAULT_LIMITS,
  type Limits,
  parsePolicyDocument,
  type Policy,
  PolicyError,
} from "./rules.ts";

/** Directory of the node policy file. */
export { NODE_POLICY_DIR };

/** How errors in the chain's policy are attributed. */
export const CHAIN_POLICY_SOURCE = 'chain config key "policy"';

const NODE_POLICY_FILES = ["policy.json", "policy.yaml", "policy.yml"] as const;

/** Names used in error messages for the two sources. */
export interface PolicySources {
  /** The node file's path (default "node policy"). */
  readonly node?: string;
  /** The chain's key (default {@link CHAIN_POLICY_SOURCE}). */
  readonly chain?: string;
}

function minLimits(a: Limits, b: Partial<Limits> | undefined): Limits {
  return {
    maxCommands: Math.min(a.maxCommands, b?.maxCommands ?? Infinity),
    maxAnnotationBytes: Math.min(a.maxAnnotationBytes, b?.maxAnnotationBytes ?? Infinity),
    maxOutputBytes: Math.min(a.maxOutputBytes, b?.maxOutputBytes ?? Infinity),
    commandTimeoutMs: Math.min(a.commandTimeoutMs, b?.commandTimeoutMs ?? Infinity),
    listTimeoutMs: Math.min(a.listTimeoutMs, b?.listTimeoutMs ?? Infinity),
  };
}

function ceilingPolicy(nodeDoc: unknown, source: string): Policy {
  const doc = parsePolicyDocument(nodeDoc, source);
  const fallback = defaultPolicy();
  return {
    allow: doc.allow ? compileRules(doc.allow, "node", "allow", source) : fallback.allow,
    deny: doc.deny ? compileRules(doc.deny, "node", "deny", source) : fallback.deny,
    namespaces: doc.namespaces,
    namespaceLabels: doc.namespaceLabels ? [doc.namespaceLabels] : undefined,
    limits: { ...DEFAULT_LIMITS, ...doc.limits },
  };
}

/**
 * The effective policy. `nodeDoc` (the node file's content) is the ceiling; absent, the default policy is.
 * In the node document an absent `allow` or `deny` keeps the default's list; present, it replaces it.
 * `chainDoc` (the value of the chain config's `policy` key) narrows: a command must pass both documents'
 * rules (deny from either wins; an absent `allow` adds no allow list), limits are the minimum of both,
 * namespaces the intersection, namespace labels all required. Throws {@link PolicyError} naming the source.
 */
export function effectivePolicy(
  nodeDoc: unknown | undefined,
  chainDoc: unknown | undefined,
  sources: PolicySources = {},
): Policy {
  const ceiling = nodeDoc === undefined
    ? defaultPolicy()
    : ceilingPolicy(nodeDoc, sources.node ?? "node policy");
  if (chainDoc === undefined) return ceiling;
  const source = sources.chain ?? CHAIN_POLICY_SOURCE;
  const chain = parsePolicyDocument(chainDoc, source);
  const narrow = {
    allow: chain.allow ? compileRules(chain.allow, "chain", "allow", source) : undefined,
    deny: chain.deny ? compileRules(chain.deny, "chain", "deny", source) : [],
  };
  let namespaces = ceiling.namespaces;
  if (chain.namespaces) {
    namespaces = namespaces ? namespaces.filter((ns) => chain.namespaces!.includes(ns)) : chain.namespaces;
  }
  const labels = [
    ...(ceiling.namespaceLabels ?? []),
    ...(chain.namespaceLabels ? [chain.namespaceLabels] : []),
  ];
  return {
    allow: ceiling.allow,
    deny: ceiling.deny,
    narrow: [...(ceiling.narrow ?? []), narrow],
    namespaces,
    namespaceLabels: labels.length ? labels : undefined,
    limits: minLimits(ceiling.limits, chain.limits),
  };
}

async function parsePolicyText(file: string, text: string): Promise<unknown> {
  if (/\.ya?ml$/i.test(file)) {
    const { parse } = await import("yaml"); // only a YAML file pays for the parser
    try {
      return parse(text);
    } catch (e) {
      throw new PolicyError(`${file}: invalid YAML: ${errorText(e)}`, { cause: e });
    }
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`${file}: invalid JSON: ${errorText(e)}`, { cause: e });
  }
}

/**
 * Reads and parses one policy file: YAML for `.yaml`/`.yml` (the yaml module is imported only then),
 * JSON otherwise. Throws {@link PolicyError} naming the file on read or syntax errors.
 */
export async function readPolicyFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new PolicyError(`${file}: cannot read: ${errorText(e)}`, { cause: e });
  }
  return await parsePolicyText(file, text);
}

/** The first node policy file of `dir` and its parsed (not yet validated) content; one read per candidate. */
async function locateNodePolicy(dir: string): Promise<{ file: string; doc: unknown } | undefined> {
  for (const name of NODE_POLICY_FILES) {
    const file = `${dir}/${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw new PolicyError(`${file}: cannot read: ${errorText(e)}`, { cause: e });
    }
    return { file, doc: await parsePolicyText(file, text) };
  }
  return undefined;
}

/** The node policy found in `dir`: its path and parsed, validated content; undefined when there is none. */
export async function findNodePolicy(
  dir: string = NODE_POLICY_DIR,
): Promise<{ file: string; doc: unknown } | undefined> {
  const found = await locateNodePolicy(dir);
  if (found) effectivePolicy(found.doc, undefined, { node: found.file }); // validate now, so errors name the file
  return found;
}

/**
 * Reads the node policy document from `dir` (`policy.json`, else `policy.yaml`, else `policy.yml`), validated
 * (schema and every rule); undefined when there is none. Throws {@link PolicyError} naming the file.
 */
export async function readNodePolicy(dir: string = NODE_POLICY_DIR): Promise<unknown | undefined> {
  return (await findNodePolicy(dir))?.doc;
}

/** The effective policy for a chain whose config carries `chainDoc` under `policy`, with the node file of `dir`. */
export async function loadPolicy(
  chainDoc: unknown | undefined,
  dir: string = NODE_POLICY_DIR,
): Promise<Policy> {
  const node = await locateNodePolicy(dir); // compiled (and so validated) once, below
  return effectivePolicy(node?.doc, chainDoc, { node: node?.file });
}
