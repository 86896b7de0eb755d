/**
 * CNI CHECK on the daemon socket (`POST /v1/check`): the plugin asks whether what chainsaw's annotation set in
 * one attachment (its effect, declarative mode) still holds. The daemon looks the attachment up by container and
 * interface, observes its netns itself (the plugin takes no snapshot) and answers with a verdict:
 *
 * | verdict   | meaning                                                              | the plugin's CHECK        |
 * | --------- | -------------------------------------------------------------------- | ------------------------- |
 * | `holds`   | every object chainsaw owns there is as chainsaw set it               | passes                    |
 * | `unowned` | chainsaw owns nothing there (no attachment known, no effect, imperative mode) | passes           |
 * | `drifted` | at least one object differs; `differences` names them, first first  | fails with code 103       |
 * | `unknown` | the daemon could not observe (the netns is gone, `ip` failed)        | passes (it does not guess) |
 *
 * The plugin imports this module on its CHECK path, so it loads no zod: the schemas are in `check_schema.ts`,
 * loaded by the daemon to read a request, and by the plugin only for an answer {@link plainCheckAnswer} does not
 * accept.
 * @module
 */

/** What the plugin's CHECK asks. */
export interface CheckRequest {
  /** `CNI_CONTAINERID`. */
  containerId: string;
  /** `CNI_IFNAME`. */
  ifname: string;
  /** The chain config's `name`: an attachment of another network under the same container and interface is not this one. */
  network: string;
}

/** The daemon's verdicts; see the module documentation. */
export const CHECK_VERDICTS = ["holds", "unowned", "drifted", "unknown"] as const;

/** One of {@link CHECK_VERDICTS}. */
export type CheckVerdict = (typeof CHECK_VERDICTS)[number];

/** The answer. */
export interface CheckAnswer {
  verdict: CheckVerdict;
  /** How many objects chainsaw owns in the attachment (0 when `unowned`). */
  owned: number;
  /**
   * For `drifted`: one line per differing object, first differences first, at most {@link MAX_CHECK_DIFFERENCES}
   * (e.g. `route v4 main 192.0.3.0/24: gone (chainsaw set: …)`); for `unknown`, the one reason.
   */
  differences: string[];
  /** For `drifted`: how many objects differ in all (may exceed `differences.length`). */
  total?: number;
}

/** At most this many difference lines are sent. */
export const MAX_CHECK_DIFFERENCES = 8;

/** Longest difference line sent (a longer one is cut with `…`). */
export const MAX_CHECK_LINE = 512;

/**
 * How long the plugin's CHECK waits for the daemon's answer once connected (the daemon bounds its own
 * observation well inside it). No answer in time: CHECK passes (the plugin does not guess).
 */
export const CHECK_ANSWER_WAIT_MS = 5000;

const VERDICTS: ReadonlySet<unknown> = new Set(CHECK_VERDICTS);

/**
 * The plain check of an answer: the answer as `CheckAnswerSchema` decodes it when it is plainly valid,
 * undefined when the schema must decide (never a different answer than `CheckAnswerSchema`'s).
 *
 * @param v the parsed JSON body
 * @returns the answer, or undefined
 * @example
 * ```ts
 * plainCheckAnswer({ verdict: "holds", owned: 2, differences: [] }); // the same answer
 * plainCheckAnswer({ verdict: "maybe" }); // undefined: the schema decides (and refuses it)
 * ```
 */
export function plainCheckAnswer(v: unknown): CheckAnswer | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (!VERDICTS.has(o.verdict) || !Number.isSafeInteger(o.owned) || (o.owned as number) < 0) return undefined;
  const d = o.differences;
  if (!Array.isArray(d) || d.length > MAX_CHECK_DIFFERENCES) return undefined;
  if (!d.every((l) => typeof l === "string" && l.length <= MAX_CHECK_LINE)) return undefined;
  const out: CheckAnswer = {
    verdict: o.verdict as CheckVerdict,
    owned: o.owned as number,
    differences: [...d],
  };
  if (o.total !== undefined) {
    if (!Number.isSafeInteger(o.total) || (o.total as number) < 0) return undefined;
    out.total = o.total as number;
  }
  return out;
}

/**
 * The answer for a list of differences (the daemon's side): at most {@link MAX_CHECK_DIFFERENCES} lines, each
 * at most {@link MAX_CHECK_LINE} characters.
 *
 * @param owned how many objects chainsaw owns in the attachment
 * @param lines one line per differing object, first first
 * @returns `holds` for none, else `drifted`
 */
export function checkAnswerOf(owned: number, lines: readonly string[]): CheckAnswer {
  if (lines.length === 0) return { verdict: "holds", owned, differences: [] };
  const cut = (l: string) => l.length <= MAX_CHECK_LINE ? l : l.slice(0, MAX_CHECK_LINE - 1) + "…";
  return {
    verdict: "drifted",
    owned,
    differences: lines.slice(0, MAX_CHECK_DIFFERENCES).map(cut),
    total: lines.length,
  };
}
