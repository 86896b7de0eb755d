/**
 * Relative links in markdown and whether they resolve: the file or directory a link names exists, and a
 * `#anchor` names a heading of the target markdown file (GitHub's heading ids). Used by
 * `tests/docs_links_test.ts` on README.md and docs/*.md.
 *
 * What counts as a link: inline links and images `[text](dest)` / `![alt](dest)` and reference definitions
 * `[label]: dest`, outside fenced code blocks and code spans. Links with a scheme (`https:`, `mailto:`) and
 * protocol-relative ones (`//host`) are external and not checked.
 *
 * ```ts
 * const broken = await brokenLinks(["README.md"], "/work/main");
 * // [{ file: "README.md", line: 12, link: "docs/nope.md", why: "no such file docs/nope.md" }]
 * ```
 * @module
 */
import { dirname, join, normalize, relative, resolve } from "node:path";

/** One link found in a markdown file. */
export interface MarkdownLink {
  /** The destination as written (`docs/x.md#y`). */
  target: string;
  /** 1-based line of the link's start. */
  line: number;
}

/** A link that does not resolve. */
export interface BrokenLink extends MarkdownLink {
  /** The file holding the link, relative to the root. */
  file: string;
  /** Why it does not resolve. */
  why: string;
}

/** Replaces every character but newlines with a space, so offsets and line numbers stay. */
function blank(s: string): string {
  return s.replace(/[^\n]/g, " ");
}

/**
 * The text with fenced code blocks blanked out (same length, same line breaks).
 *
 * @param text markdown
 * @returns the text, fenced blocks removed
 */
export function withoutFences(text: string): string {
  const lines = text.split("\n");
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(`{3,}|~{3,})/.exec(lines[i]);
    if (fence === undefined && m) fence = m[1];
    else if (fence !== undefined) {
      // a closing fence: the same character, at least as long, nothing after it
      const closes = m && m[1][0] === fence[0] && m[1].length >= fence.length && lines[i].trim() === m[1];
      if (closes) fence = undefined;
    } else continue;
    lines[i] = blank(lines[i]);
  }
  return lines.join("\n");
}

/**
 * The text with fenced code blocks and code spans blanked out (same length, same line breaks).
 *
 * @param text markdown
 * @returns the text, code removed
 */
export function withoutCode(text: string): string {
  // code spans: a run of N backticks up to the next run of exactly N (may span lines within a paragraph)
  return withoutFences(text).replace(/(?<!`)(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, (span) => blank(span));
}

/**
 * The links of a markdown text, in order.
 *
 * @param text markdown
 * @returns each link's destination and line
 */
export function markdownLinks(text: string): MarkdownLink[] {
  const src = withoutCode(text);
  const lineAt = (offset: number) => src.slice(0, offset).split("\n").length;
  const out: MarkdownLink[] = [];
  const inline = /!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^\s()]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
  for (const m of src.matchAll(inline)) {
    out.push({ target: m[1].replace(/^<|>$/g, ""), line: lineAt(m.index) });
  }
  const reference = /^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)/gm;
  for (const m of src.matchAll(reference)) {
    out.push({ target: m[1].replace(/^<|>$/g, ""), line: lineAt(m.index) });
  }
  return out.sort((a, b) => a.line - b.line);
}

/**
 * GitHub's id for a heading text: inline markup dropped, lower case, every character but letters, digits,
 * marks, `_`, `-` and spaces removed, spaces turned into `-`.
 *
 * @param heading the heading's text after the `#`s
 * @returns its anchor, without `#`
 * @example
 * ```ts
 * headingSlug('All-or-nothing apply (`onError: "rollback"`)') // "all-or-nothing-apply-onerror-rollback"
 * ```
 */
export function headingSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link counts by its text
    .replace(/<[^>]+>/g, "") // inline HTML tags
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/**
 * The anchors a markdown text defines: its headings' ids (a repeated id gets `-1`, `-2`, … as on GitHub) and
 * explicit HTML anchors (`<a id="x">`, `<a name="x">`).
 *
 * @param text markdown
 * @returns the set of anchors, without `#`
 */
export function markdownAnchors(text: string): Set<string> {
  const src = withoutFences(text); // a heading's code span is part of its id
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of src.split("\n")) {
    const h = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (h) {
      const base = headingSlug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]);
  }
  return anchors;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The links of `files` that do not resolve: a missing file or directory, or an anchor that is not a heading
 * of the target markdown file.
 *
 * @param files markdown files, relative to `root`
 * @param root the repository root (a link starting with `/` is relative to it, as on GitHub)
 * @returns the broken links, in file order
 */
export async function brokenLinks(files: readonly string[], root: string): Promise<BrokenLink[]> {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = async (abs: string) => {
    let a = anchorsOf.get(abs);
    if (!a) anchorsOf.set(abs, a = markdownAnchors(await Deno.readTextFile(abs)));
    return a;
  };
  const broken: BrokenLink[] = [];
  for (const file of files) {
    const abs = resolve(root, file);
    for (const link of markdownLinks(await Deno.readTextFile(abs))) {
      const t = link.target;
      if (SCHEME.test(t) || t.startsWith("//")) continue;
      const hash = t.indexOf("#");
      const pathPart = decodeURIComponent(hash < 0 ? t : t.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(t.slice(hash + 1));
      const target = pathPart === ""
        ? abs
        : pathPart.startsWith("/")
        ? join(root, pathPart)
        : normalize(join(dirname(abs), pathPart));
      const shown = relative(root, target) || ".";
      let stat: Deno.FileInfo;
      try {
        stat = await Deno.stat(target);
      } catch {
        broken.push({ file, ...link, why: `no such file ${shown}` });
        continue;
      }
      if (anchor === undefined || anchor === "") continue;
      if (!stat.isFile || !target.endsWith(".md")) {
        broken.push({ file, ...link, why: `#${anchor} on ${shown}, which is not a markdown file` });
      } else if (!(await anchors(target)).has(anchor)) {
        broken.push({ file, ...link, why: `no heading #${anchor} in ${shown}` });
      }
    }
  }
  return broken;
}
