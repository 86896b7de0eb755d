/**
 * The docs hold together: every relative link (and `#anchor`) in README.md and docs/*.md resolves, and README
 * stays a page for the people who deploy chainsaw (at most 200 lines, none over 120 characters; the detail
 * lives in docs/).
 * @module
 */
import { assert, assertEquals } from "./support/assert.ts";
import { brokenLinks, headingSlug, markdownAnchors, markdownLinks } from "./support/markdown_links.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** README.md and every markdown file in docs/, relative to the root. */
async function docFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const e of Deno.readDir(`${ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  }
  return files.sort();
}

Deno.test("every relative link and anchor in README.md and docs/*.md resolves", async () => {
  const files = await docFiles();
  assert(files.length > 5, `expected README and the docs, found ${files.join(", ")}`);
  const broken = await brokenLinks(files, ROOT);
  assertEquals(
    broken.map((b) => `${b.file}:${b.line}: ${b.target}: ${b.why}`),
    [],
    "broken links",
  );
});

Deno.test("README is at most 200 lines, none over 120 characters", async () => {
  const lines = (await Deno.readTextFile(`${ROOT}README.md`)).replace(/\n$/, "").split("\n");
  assert(lines.length <= 200, `README.md has ${lines.length} lines; move detail to docs/`);
  const wide = lines.flatMap((l, i) => [...l].length > 120 ? [`README.md:${i + 1}: ${[...l].length}`] : []);
  assertEquals(wide, [], "README lines over 120 characters");
});

Deno.test("the link checker: links outside code only, with their lines", () => {
  const md = [
    "See [a](a.md), ![img](img/x.png) and [b](b.md#sec 'title').", // 1
    "`[not](code.md)` and a [split", // 2
    "link](c.md).", // 3
    "```sh", // 4
    "[fenced](fenced.md)", // 5
    "```", // 6
    "[ref]: d.md#x", // 7
    "[ext](https://example.com) [mail](mailto:x@y) [[nested] text](e.md)", // 8
  ].join("\n");
  assertEquals(markdownLinks(md), [
    { target: "a.md", line: 1 },
    { target: "img/x.png", line: 1 },
    { target: "b.md#sec", line: 1 },
    { target: "c.md", line: 2 },
    { target: "d.md#x", line: 7 },
    { target: "https://example.com", line: 8 },
    { target: "mailto:x@y", line: 8 },
    { target: "e.md", line: 8 },
  ]);
});

Deno.test("the link checker: GitHub's heading ids", () => {
  assertEquals(
    headingSlug('All-or-nothing apply (`onError: "rollback"`)'),
    "all-or-nothing-apply-onerror-rollback",
  );
  assertEquals(headingSlug("`chainsaw daemon`"), "chainsaw-daemon");
  assertEquals(
    headingSlug("Identity changes: refused by default, opt-in per node"),
    "identity-changes-refused-by-default-opt-in-per-node",
  );
  assertEquals(headingSlug("Exit 127, `deno: not found`"), "exit-127-deno-not-found");
  assertEquals(headingSlug("The plugin ⇄ daemon [contract](x.md)"), "the-plugin--daemon-contract");
  assertEquals(headingSlug("`CNI_ARGS` and **more**"), "cni_args-and-more");
  const anchors = markdownAnchors(
    ["# Top", "## Usage", "```", "## not a heading", "```", "## Usage", '<a id="custom"></a>'].join("\n"),
  );
  assertEquals([...anchors].sort(), ["custom", "top", "usage", "usage-1"]);
});

Deno.test("the link checker finds a missing file, a missing anchor and an anchor on a non-markdown file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "d-docs-links-" });
  try {
    await Deno.mkdir(`${dir}/docs`);
    await Deno.writeTextFile(`${dir}/docs/a.md`, "# A\n\n## Known heading\n");
    await Deno.writeTextFile(`${dir}/data.txt`, "x\n");
    await Deno.writeTextFile(
      `${dir}/README.md`,
      [
        "[ok](docs/a.md) [ok anchor](docs/a.md#known-heading) [ok dir](docs/) [ok root](/data.txt)",
        "[gone](docs/missing.md)",
        "[bad anchor](docs/a.md#unknown-heading)",
        "[self](#nowhere) [self ok](#readme)",
        "[txt anchor](data.txt#x)",
        "# README",
      ].join("\n"),
    );
    await Deno.writeTextFile(`${dir}/docs/b.md`, "[up](../README.md#readme) [up bad](../README.md#gone)\n");
    const broken = await brokenLinks(["README.md", "docs/b.md"], dir);
    assertEquals(broken.map((b) => `${b.file}:${b.line}: ${b.target}: ${b.why}`), [
      "README.md:2: docs/missing.md: no such file docs/missing.md",
      "README.md:3: docs/a.md#unknown-heading: no heading #unknown-heading in docs/a.md",
      "README.md:4: #nowhere: no heading #nowhere in README.md",
      "README.md:5: data.txt#x: #x on data.txt, which is not a markdown file",
      "docs/b.md:1: ../README.md#gone: no heading #gone in README.md",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
