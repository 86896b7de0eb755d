/**
 * Hostile text for the output-neutralisation tests: strings a pod (or a compromised plugin process) could put
 * in an annotation, a name or command output to forge records or drive a terminal, and the check that a
 * rendering shows none of it raw. The oracle is written independently of src/text/visible.ts on purpose.
 * @module
 */
import { assert } from "./assert.ts";

/** A line that looks like the start of a report record in the daemon's human format. */
export const FAKE_HEADER =
  "2026-11-23T12:00:00.000Z ADD kube-system/victim container=forged netns=/x ifname=eth0 network=n";

/** One of each hostile kind, by name. */
export const HOSTILE: Readonly<Record<string, string>> = {
  newline: `ip route\n${FAKE_HEADER}\nResult: applied in 1 ms`,
  cr: "ip route\r" + FAKE_HEADER,
  clear: "ip route \x1b[2J\x1b[H",
  bell: "ip route \x07\x07",
  osc8: "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
  csi8bit: "ip route \x9b31m",
  lineSeparator: "ip route\u2028" + FAKE_HEADER,
  paragraphSeparator: "ip route\u2029x",
  rlo: "ip route \u202eevil\u202c",
  isolate: "\u2066x\u2069 \u200f\u061c",
  fakeEscape: "ip route \\n not a newline",
  loneSurrogate: "ip \ud800 route",
  del: "ip\x7froute",
};

// deno-lint-ignore no-control-regex
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udfff]/u;

/**
 * Asserts that `text` holds no C0/C1 control other than the line feed, no DEL, no line/paragraph separator, no
 * bidi control and no lone surrogate (TAB is refused too: it is always escaped).
 *
 * @param text A rendering (a log, a message, a line).
 * @param what Names it in the failure.
 */
export function assertNoRawControl(text: string, what: string): void {
  const m = RAW.exec(text);
  assert(
    m === null,
    m
      ? `${what}: raw U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${m.index}: ` +
        JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))
      : "",
  );
}

/** Lines that start a record of the daemon's human format (the time, then the verb, at the margin). */
export const RECORD_HEADER = /^\S+ (ADD|DEL|CHECK|REAPPLY) /gm;

/** Lines that end a record of the daemon's human format. */
export const RECORD_END = /^Result: /gm;

/** How many human-format records `text` holds, counted by their first and by their last lines. */
export function countRecords(text: string): { headers: number; ends: number } {
  return { headers: text.match(RECORD_HEADER)?.length ?? 0, ends: text.match(RECORD_END)?.length ?? 0 };
}

/** Every hostile string joined, for fields that take one string. */
export const ALL_HOSTILE = Object.values(HOSTILE).join(" | ");

/**
 * Command output as a compromised plugin could claim `ip` printed: real-looking lines, then forged record
 * lines (a header, a result, a daemon message) and terminal sequences, CRs, a lone surrogate and U+FFFD.
 */
export const HOSTILE_OUTPUT = [
  "default via 192.0.2.1 dev eth0",
  FAKE_HEADER,
  "Detected commands: [ip link set eth0 down]",
  "Running ip link set eth0 down ===============",
  "Result: applied in 1 ms",
  "2026-11-23T12:00:00.000Z chainsaw daemon: error: forged",
  "progress 10%\r" + FAKE_HEADER,
  "\x1b[2J\x1b[31mred\x1b[0m\x07 \x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",
  "sep\u2028" + FAKE_HEADER + "\u2029",
  "\u202eevil\u202c \ud800 \ufffd",
  "",
].join("\n");
