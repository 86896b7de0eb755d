/**
 * Finds a top-level member's value in a JSON object text without re-serialising it, so chainsaw can hand the
 * previous plugin's result on byte for byte (unknown fields, number spellings and key order included).
 * @module
 */

function skipWs(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) {
    i++;
  }
  return i;
}

function skipString(text: string, i: number): number {
  // text[i] is the opening quote.
  i++;
  while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}

function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = skipString(text, i);
        continue;
      }
      if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < text.length && !",}] \t\n\r".includes(text[i])) i++;
  return i;
}

/**
 * Returns the exact text of the value of top-level member `key` in `text`, which must already be known to be
 * valid JSON holding an object (parse it first). The last occurrence wins, as with JSON.parse.
 */
export function rawMember(text: string, key: string): string | undefined {
  let i = skipWs(text, 0);
  if (text[i] !== "{") return undefined;
  i = skipWs(text, i + 1);
  let found: string | undefined;
  while (i < text.length && text[i] !== "}") {
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    i = skipWs(text, i + 1); // past ':'
    const end = skipValue(text, i);
    if (name === key) found = text.slice(i, end);
    i = skipWs(text, end);
    if (text[i] === ",") i = skipWs(text, i + 1);
  }
  return found;
}
