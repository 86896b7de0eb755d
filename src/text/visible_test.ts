import { assert, assertEquals } from "../../tests/support/assert.ts";
import { assertNoRawControl, HOSTILE } from "../../tests/support/hostile.ts";
import { visible, visibleJson, visibleLines, visibleWord } from "./visible.ts";

/** Every character a terminal or a line-oriented reader would act on, that must never be printed raw. */
const DANGEROUS: string[] = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)),
  "\u2028",
  "\u2029",
  "\u061c",
  "\u200e",
  "\u200f",
  ...["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
  "\ud800",
  "\udfff",
];

Deno.test("visible: each dangerous character becomes a visible escape", () => {
  for (const c of DANGEROUS) {
    const v = visible(`a${c}b`);
    assertNoRawControl(v, `U+${c.charCodeAt(0).toString(16)}`);
    assert(/^a\\[nrtxu][0-9a-f]*b$/.test(v), v);
  }
  assertEquals(visible("x\ny\r\tz"), "x\\ny\\r\\tz");
  assertEquals(visible("\x1b[2J\x07"), "\\x1b[2J\\x07");
  assertEquals(visible("\x7f\x9b\x85"), "\\x7f\\x9b\\x85");
  assertEquals(visible("\u2028\u202e\u2066"), "\\u2028\\u202e\\u2066");
  assertEquals(
    visible("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\"),
    "\\x1b]8;;http://evil/\\x1b\\\\link\\x1b]8;;\\x1b\\\\",
  );
});

Deno.test("visible: the hostile strings render on one line with nothing raw, and differ from each other", () => {
  const seen = new Set<string>();
  for (const [name, s] of Object.entries(HOSTILE)) {
    const v = visible(s);
    assertNoRawControl(v, name);
    assert(!v.includes("\n"), name);
    seen.add(v);
  }
  assertEquals(seen.size, Object.keys(HOSTILE).length);
});

Deno.test("visible: the backslash is escaped, so an escape in the input is not mistaken for ours", () => {
  assertEquals(visible("\\n"), "\\\\n");
  assert(visible("a\\nb") !== visible("a\nb"));
  assertEquals(visible("\\"), "\\\\");
});

Deno.test("visible: ordinary text, pairs and U+FFFD are kept", () => {
  for (const s of ["", "ip route add 192.0.2.0/24 dev net1", "Grüße 🙂 日本", "\ufffd", "a'b\"c"]) {
    assertEquals(visible(s), s);
  }
  assertEquals(visible("\ud83d\ude42\ud83d"), "\ud83d\ude42\\ud83d");
  assertEquals(visible("\ude42x"), "\\ude42x");
});

Deno.test("visibleLines: the text's own lines stay, each neutralised and prefixed", () => {
  assertEquals(visibleLines("", "    "), "");
  assertEquals(visibleLines("a\n", "    "), "    a");
  assertEquals(visibleLines("a\r\nb\u2028c\n\n", "  "), "  a\\r\n  b\\u2028c\n  ");
  const forged = "ok\n2026-11-23T12:00:00.000Z ADD default/victim container=x\nResult: applied in 1 ms\n";
  for (const line of visibleLines(forged, "    ").split("\n")) assert(line.startsWith("    "), line);
});

Deno.test("visibleJson: the same value, nothing raw, one line", () => {
  const value = {
    s: DANGEROUS.join(""),
    nested: [{ k: "\u2028x\u202e\x9b" }],
    n: 1,
    ok: "plain é 🙂",
  };
  const text = visibleJson(value);
  assertEquals(JSON.parse(text), value);
  assertNoRawControl(text, "visibleJson");
  assert(!text.includes("\n"));
  assertEquals(visibleJson({ a: "b" }), JSON.stringify({ a: "b" }));
  assertEquals(visibleJson("a\u2029b"), '"a\\u2029b"');
});

Deno.test("visibleWord: no blank either, so a value cannot pass for more key=value fields", () => {
  assertEquals(visibleWord("p1 container=forged"), "p1\\x20container=forged");
  assertEquals(visibleWord("a\tb\nc"), "a\\tb\\nc");
  assertEquals(visibleWord("default"), "default");
  for (const s of Object.values(HOSTILE)) {
    const v = visibleWord(s);
    assertNoRawControl(v, s);
    assert(!/\s/.test(v), v);
  }
});
