/**
 * `chainsaw explain --pod NS/NAME [--socket PATH] [--json]`: asks the daemon on this node (`GET /v1/explain`) what
 * it would do with the pod's current annotation on each of the pod's attachments — the commands after
 * `CURRENT_INTERFACE` substitution, each one's policy verdict (rule and reason), what a re-apply would run, and
 * what chainsaw owns there now (each object's baseline value, chainsaw's value, whether it still holds) — and
 * prints it. Nothing runs. Exit status: 0 when every command would be allowed, 1 when something would be
 * refused, 2 for a usage error, a daemon that cannot be reached or answers with an error, and a pod the daemon
 * has no attachment of (the message says which).
 *
 * Everything the pod controls (its annotation, commands, names) is neutralised with {@link visible} in the human
 * format; `--json` prints the daemon's answer as JSON with controls and bidi characters escaped
 * ({@link visibleJson}: the same value, byte-safe on a terminal).
 * @module
 */
import { errorText } from "../text/error_text.ts";
import type { Command } from "commander";
import { DAEMON_DEFAULTS } from "../daemon/flags.ts";
import { visible, visibleJson } from "../text/visible.ts";
import type { ExplainAnswer, ExplainAttachment, ExplainCommand, ExplainEffect } from "../wire/explain.ts";
import { type CommandOutput, stdio } from "./_output.ts";
import { podRef } from "./_args.ts";

/** What to ask. */
export interface ExplainOptions {
  /** `namespace/name`. */
  pod: string;
  socket: string;
  json: boolean;
}

/** Exit statuses. */
export const EXPLAIN_EXIT = { allowed: 0, refused: 1, error: 2 } as const;

/** A word as it could be typed back into an annotation: quoted when it is empty or has blanks or quotes. */
function word(w: string): string {
  return w === "" || /[\s'"\\]/.test(w) ? `"${w.replace(/["\\]/g, "\\$&")}"` : w;
}

/** The command line `ip …` after substitution (its source when it could not be split). */
export function commandLine(c: ExplainCommand): string {
  return c.argv.length > 0 ? ["ip", ...c.argv].map(word).join(" ") : c.source;
}

function plural(n: number, w: string): string {
  return `${n} ${w}${n === 1 ? "" : "s"}`;
}

function commandLines(c: ExplainCommand): string[] {
  const rule = c.allowed
    ? `rule: ${visible(c.rule)}${c.ruleText !== undefined ? ` "${visible(c.ruleText)}"` : ""}`
    : `rule: ${visible(c.rule)}: ${visible(c.reason ?? "")}`;
  const lines = [`    ${c.allowed ? "allowed" : "denied "}  ${visible(commandLine(c))}  (${rule})`];
  if (commandLine(c) !== c.source) lines.push(`             from: ${visible(c.source)}`);
  return lines;
}

/** What chainsaw owns in an attachment: each object, baseline → set, and whether it holds now. */
function effectLines(e: ExplainEffect): string[] {
  if (e.mode === "imperative") return ["    owns: nothing (imperative mode: each value runs as a script)"];
  if (e.items.length === 0) return [`    owns: nothing (declarative, drift ${e.drift})`];
  const state = e.holds === undefined
    ? `not observed: ${visible(e.unobserved ?? "unknown")}`
    : e.holds
    ? "all hold"
    : `${e.items.filter((i) => i.holds === false).length} DRIFTED`;
  const lines = [`    owns: ${plural(e.items.length, "object")} (declarative, drift ${e.drift}): ${state}`];
  for (const i of e.items) {
    const mark = i.holds === undefined
      ? ""
      : i.holds
      ? "  [holds]"
      : `  [DRIFTED: now ${visible(i.now ?? "absent")}]`;
    lines.push(`      ${visible(i.object)}: ${visible(i.base)} → ${visible(i.set)}${mark}`);
  }
  return lines;
}

function attachmentLines(a: ExplainAttachment): string[] {
  const lines = [
    `  ${visible(a.ifname)}  network ${visible(a.nad ?? a.network)}${
      a.nad === undefined ? "" : ` (chain ${visible(a.network)})`
    }  container ${visible(a.containerId)}  ` +
    `netns ${visible(a.netns)}  onError ${a.onError}`,
    `    annotation: ${a.annotation === undefined ? "(none)" : visible(a.annotation)}`,
  ];
  if (a.applied !== undefined && a.applied !== a.annotation) {
    lines.push(`    applied:    ${a.applied === "" ? "(none)" : visible(a.applied)}`);
  }
  if (a.error) {
    lines.push(
      `    refused: ${a.error.rule !== undefined ? `${visible(a.error.rule)}: ` : ""}${
        visible(a.error.msg)
      } (code ${a.error.code})`,
    );
  }
  if (a.key !== undefined) lines.push(`    key:        ${visible(JSON.stringify(a.key))}`);
  if (a.commands.length === 0 && !a.error) lines.push("    no commands for this attachment");
  for (const c of a.commands) lines.push(...commandLines(c));
  if (a.effect) lines.push(...effectLines(a.effect));
  const reason = visible(a.reapply.reason);
  lines.push(`    re-apply: ${a.reapply.action === "none" ? `nothing to re-apply (${reason})` : reason}`);
  return lines;
}

/**
 * The human format of an answer.
 *
 * @param answer the daemon's answer
 * @returns the text, ending with a newline
 */
export function formatExplain(answer: ExplainAnswer): string {
  const p = answer.pod;
  const on = answer.node !== undefined ? ` on node ${visible(answer.node)}` : "";
  const lines = [
    `pod ${visible(p.namespace)}/${visible(p.name)}${p.uid ? ` (uid ${visible(p.uid)})` : ""}${on}: ` +
    `${plural(answer.attachments.length, "attachment")}`,
  ];
  for (const a of answer.attachments) lines.push(...attachmentLines(a));
  for (const w of answer.warnings ?? []) lines.push(`warning: ${visible(w)}`);
  const refused = answer.attachments.reduce((n, a) => n + a.commands.filter((c) => !c.allowed).length, 0);
  const lists = answer.attachments.filter((a) => a.error).length;
  lines.push(
    answer.allowed ? "result: every command is allowed" : `result: refused (${
      [
        ...(refused > 0 ? [`${plural(refused, "command")} denied`] : []),
        ...(lists > 0 ? [`${plural(lists, "list")} refused as a whole`] : []),
      ].join(", ")
    })`,
  );
  return lines.join("\n") + "\n";
}

/**
 * Asks the daemon and prints the answer; returns the exit status ({@link EXPLAIN_EXIT}).
 *
 * @param opts the pod, the socket, the format
 * @param output stdout and stderr
 * @returns 0 allowed, 1 something refused, 2 an error
 */
export async function explain(opts: ExplainOptions, output: CommandOutput): Promise<number> {
  const { explainPath, ExplainAnswerSchema } = await import("../wire/explain.ts");
  const { describeZodIssue } = await import("../text/zod_issue.ts");
  const fail = async (msg: string) => {
    await output.err(`chainsaw explain: ${msg}\n`);
    return EXPLAIN_EXIT.error;
  };
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: opts.socket } });
  try {
    let res: Response;
    let body: string;
    try {
      res = await fetch(`http://chainsaw${explainPath(opts.pod)}`, { client } as RequestInit);
      body = await res.text();
    } catch (e) {
      return await fail(
        `cannot reach the daemon at ${visible(opts.socket)}: ${visible(errorText(e))}`,
      );
    }
    if (res.status === 404) {
      return await fail(`no such pod on this node: ${visible(body.trim())}`);
    }
    if (!res.ok) return await fail(`the daemon answered ${res.status}: ${visible(body.trim())}`);
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return await fail("the daemon's answer is not JSON");
    }
    const r = ExplainAnswerSchema.safeParse(data);
    if (!r.success) {
      return await fail(`unexpected answer from the daemon: ${visible(describeZodIssue(r.error))}`);
    }
    await output.out(opts.json ? visibleJson(data) + "\n" : formatExplain(r.data));
    return r.data.allowed ? EXPLAIN_EXIT.allowed : EXPLAIN_EXIT.refused;
  } finally {
    client.close();
  }
}

/** Registers `explain` on `program`; `setExit` receives the exit status. */
export function registerExplainCommand(program: Command, setExit: (code: number) => void): void {
  program.command("explain")
    .description(
      "show what the daemon would do with a pod's annotation on this node: each command after " +
        "CURRENT_INTERFACE substitution, its policy verdict (rule, reason), what a re-apply would run, what " +
        "chainsaw owns there and whether it still holds; " +
        "runs nothing (exit 0 all allowed, 1 something refused, 2 error or no such pod)",
    )
    .requiredOption("--pod <namespace/name>", "the pod", podRef)
    .option("--socket <path>", "the daemon's socket", DAEMON_DEFAULTS.socket)
    .option("--json", "print the daemon's answer as JSON")
    .action(async (opts: Record<string, unknown>) => {
      setExit(
        await explain(
          { pod: String(opts.pod), socket: String(opts.socket), json: opts.json === true },
          stdio(),
        ),
      );
    });
}
