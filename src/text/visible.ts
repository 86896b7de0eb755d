/**
 * Neutralising text that someone else controls (a pod's annotation, command output, names, error messages)
 * before it is shown to a human: on a terminal, in `kubectl logs`, in an Event. Every character that could end a
 * line, move the cursor, start a terminal control sequence or reorder what is displayed is replaced by a
 * visible escape, and the backslash itself is escaped, so an escape in the input cannot pass for one made here:
 *
 * | input                                                     | shown as               |
 * | --------------------------------------------------------- | ---------------------- |
 * | `\` (backslash)                                           | `\\`                   |
 * | LF, CR, TAB                                               | `\n`, `\r`, `\t`       |
 * | other C0 controls (NUL, BEL, ESC, …), DEL, C1 controls    | `\x00`, `\x07`, `\x1b`, `\x7f`, `\x9b` |
 * | U+2028, U+2029 (line/paragraph separators)                | `\u2028`, `\u2029`     |
 * | bidi controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 | `\u202e`, …   |
 * | lone surrogates (invalid UTF-16, e.g. from `"\ud800"` in JSON) | `\ud800`, …       |
 *
 * Everything else (printable ASCII, other Unicode, the U+FFFD that invalid UTF-8 decodes to) is kept.
 * @module
 */

/**
 * The unsafe characters beyond C0 and the backslash: DEL, C1, the bidi controls, U+2028/U+2029 and the surrogates
 * (with `u`, the surrogate range matches lone surrogates only). Written once for both expressions below.
 */
const UNSAFE_BEYOND_C0 = String.raw`\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff`;

/** Characters {@link visible} escapes: the backslash, C0, and {@link UNSAFE_BEYOND_C0}. */
const UNSAFE = new RegExp(String.raw`[\\\x00-\x1f${UNSAFE_BEYOND_C0}]`, "gu");

/** Characters JSON.stringify leaves raw that {@link visibleJson} escapes (it already escapes C0, `"` and `\`). */
const JSON_UNSAFE = new RegExp(`[${UNSAFE_BEYOND_C0}]`, "gu");

const NAMED: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function hex(c: string, digits: number): string {
  return c.charCodeAt(0).toString(16).padStart(digits, "0");
}

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`);
}

/**
 * `text` on one line with nothing a terminal or log reader would act on: see the module documentation.
 *
 * @param text Any string, e.g. a pod name, a command or an error message quoting one.
 * @returns The same text with the unsafe characters escaped visibly; unchanged when it has none.
 * @example
 * ```ts
 * import { visible } from "./visible.ts";
 * visible("ip route\n2026-01-01T00:00:00.000Z ADD x"); // 'ip route\\n2026-01-01T00:00:00.000Z ADD x'
 * visible("\x1b[2J"); // '\\x1b[2J'
 * ```
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/**
 * {@link visible}, and blanks escaped too (a space as `\x20`): for a value in a `key=value` list, such as a
 * record header, so a value cannot pass for further fields (`p1 container=forged`).
 *
 * @param text A name, a path, an id.
 * @returns The neutralised text, without a blank.
 * @example
 * ```ts
 * import { visibleWord } from "./visible.ts";
 * visibleWord("p1 container=x"); // 'p1\\x20container=x'
 * ```
 */
export function visibleWord(text: string): string {
  return visible(text).replaceAll(" ", "\\x20");
}

/**
 * Multi-line text (a command's output) kept on its own lines: `text` is split at its line feeds (one trailing
 * line feed is dropped), each line is neutralised with {@link visible} (so a CR inside a line shows as `\r`) and
 * starts with `prefix`. With a non-empty prefix no line of the block can look like a line that starts at the
 * margin, such as a record header.
 *
 * @param text The text, e.g. `ip route` output.
 * @param prefix Put before every line, e.g. four spaces.
 * @returns The lines joined with `\n`, without a trailing line feed; "" for "".
 * @example
 * ```ts
 * import { visibleLines } from "./visible.ts";
 * visibleLines("a\nb\x1b[0m\n", "    "); // '    a\n    b\\x1b[0m'
 * ```
 */
export function visibleLines(text: string, prefix: string): string {
  if (text === "") return "";
  return text.replace(/\n$/, "").split("\n").map((line) => prefix + visible(line)).join("\n");
}

/**
 * `JSON.stringify(value)` with DEL, C1 controls, U+2028/U+2029, bidi controls and lone surrogates also written
 * as `\uXXXX` escapes: the text parses to exactly the same value, stays on one line for every reader, and shows
 * no control or reordering character raw. (They can only occur inside JSON strings, where the escape is exact.)
 *
 * @param value Anything `JSON.stringify` accepts.
 * @returns The JSON text.
 * @example
 * ```ts
 * import { visibleJson } from "./visible.ts";
 * visibleJson({ msg: "a\u2028b" }); // '{"msg":"a\\u2028b"}'
 * ```
 */
export function visibleJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) => `\\u${hex(c, 4)}`);
}
