/**
 * `chainsaw logs`: reads recent reports (and with `-f` the new ones as they arrive) from the daemon's socket and
 * prints them in the human format, or as the JSON lines the daemon serves (`--json`). Nothing a pod controls
 * reaches the terminal raw: the human format and this command's own messages neutralise it ({@link visible}),
 * the JSON lines escape every control and bidi character ({@link visibleJson}).
 * @module
 */
import { errorText } from "../text/error_text.ts";
import type { Command } from "commander";
import { ndjsonLines } from "../bytes.ts";
import { DAEMON_DEFAULTS } from "../daemon/flags.ts";
import { formatHuman } from "../report/report.ts";
import { visible, visibleJson } from "../text/visible.ts";
import { DEFAULT_LOGS_LIMIT, LOGS_PATH, logsQueryString, parseFollowEnd } from "../wire/logs.ts";
import { decodeReport, ReportDecodeError } from "../wire/report.ts";
import { type CommandOutput, stdio } from "./_output.ts";
import { podRef, traceId, wholeNumber } from "./_args.ts";

/** What to read and how to print it. */
export interface LogsOptions {
  socket: string;
  pod?: string;
  /** Only reports with this trace id. */
  trace?: string;
  limit: number;
  follow: boolean;
  json: boolean;
}

/** Runs the query and prints each report; returns the exit code (1 when the daemon cannot be asked). */
export async function printLogs(
  opts: LogsOptions,
  output: CommandOutput,
  signal?: AbortSignal,
): Promise<number> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: opts.socket } });
  try {
    let res: Response;
    try {
      const query = logsQueryString({
        pod: opts.pod,
        trace: opts.trace,
        limit: opts.limit,
        follow: opts.follow,
      });
      res = await fetch(`http://chainsaw${LOGS_PATH}?${query}`, { client, signal } as RequestInit);
    } catch (e) {
      await output.err(
        `chainsaw logs: cannot reach the daemon at ${visible(opts.socket)}: ${visible(errorText(e))}\n`,
      );
      return 1;
    }
    if (!res.ok || !res.body) {
      await output.err(
        `chainsaw logs: daemon answered ${res.status}: ${visible((await res.text()).trim())}\n`,
      );
      return 1;
    }
    try {
      for await (const line of ndjsonLines(res.body)) {
        const end = parseFollowEnd(line);
        if (end) {
          await output.err(`chainsaw logs: the daemon ended the stream: ${visible(end.message)}\n`);
          return 1;
        }
        try {
          const report = decodeReport(line);
          await output.out(opts.json ? visibleJson(report) + "\n" : formatHuman(report));
        } catch (e) {
          if (!(e instanceof ReportDecodeError)) throw e;
          await output.err(`chainsaw logs: skipped a malformed record: ${visible(e.message)}\n`);
        }
      }
    } catch (e) {
      if (signal?.aborted) return 0;
      await output.err(`chainsaw logs: stream ended: ${visible(errorText(e))}\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}

/** Registers `logs` on `program`; `setExit` receives the exit code. */
export function registerLogsCommand(program: Command, setExit: (code: number) => void): void {
  program.command("logs")
    .description("print the reports the daemon collected on this node (human format; --json for JSON lines)")
    .option("-f, --follow", "keep printing new reports as they arrive")
    .option("--pod <namespace/name>", "only this pod's reports", podRef)
    .option("--trace <id>", "only reports with this W3C trace id (32 hex digits, from TRACEPARENT)", traceId)
    .option("--limit <n>", "how many recent reports to print first", wholeNumber, DEFAULT_LOGS_LIMIT)
    .option("--socket <path>", "the daemon's socket", DAEMON_DEFAULTS.socket)
    .option("--json", "print JSON lines as served")
    .action(async (opts: Record<string, unknown>) => {
      setExit(
        await printLogs(
          {
            socket: String(opts.socket),
            pod: opts.pod as string | undefined,
            trace: opts.trace as string | undefined,
            limit: Number(opts.limit),
            follow: opts.follow === true,
            json: opts.json === true,
          },
          stdio(),
        ),
      );
    });
}
