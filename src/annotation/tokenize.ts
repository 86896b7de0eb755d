/**
 * Splits one annotation command into an argument vector without any shell: whitespace separates words,
 * single quotes are literal, double quotes allow `\"` and `\\`, a backslash outside quotes escapes the next
 * character. Nothing is expanded (no `$`, globs, `;`, pipes or redirections: they are plain characters and
 * reach `ip` as such, which rejects them).
 * @module
 */

/** Thrown for input that cannot be split into words. */
export class TokenizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenizeError";
  }
}

// C0 controls (except the blank characters handled as separators), DEL and C1 controls, plus the Unicode line
// and paragraph separators and the bidi overrides that make a command read differently than it runs.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

/** Returns a description of the first forbidden character in `text`, or undefined when there is none. */
export function findControlCharacter(text: string): string | undefined {
  const m = FORBIDDEN.exec(text);
  if (!m) return undefined;
  const code = m[0].codePointAt(0)!;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")} at offset ${m.index}`;
}

/** Splits `text` into words. Throws {@link TokenizeError} on control characters or an unterminated quote. */
export function tokenize(text: string): string[] {
  const bad = findControlCharacter(text);
  if (bad) throw new TokenizeError(`control character ${bad} is not allowed`);
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new TokenizeError(`unterminated single quote at offset ${i}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new TokenizeError(`unterminated double quote at offset ${i}`);
        const d = text[j];
        if (d === '"') break;
        if (d === "\\" && (text[j + 1] === '"' || text[j + 1] === "\\")) {
          word += text[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new TokenizeError("trailing backslash");
      word += text[i + 1];
      inWord = true;
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
