/**
 * `chainsaw logs`: reads recent reports (and with `-f` the new ones as they arrive) from the daemon's socket and
 * prints them in the human format, or as the JSON lines the daemon serves (`--json`). Nothing a pod controls
 * reaches the terminal raw: the human format and this command's own messages neutralise it ({@link visible}),
 * the JSON lines escape every control and bidi character ({@link visibleJson}).
 * @module
 */
import { ndjsonLines } from "../bytes.ts";
import { formatHuman } from "../report/report.ts";
import { visible, visibleJson } from "../text/visible.ts";
import { parseFollowEnd } from "../daemon/reports/follow_stream.ts";
import { logsQueryString } from "../wire/logs.ts";
import { decodeReport, ReportDecodeError } from "../wire/report.ts";
import { LOGS_PATH } from "../daemon/api/socket_api.ts";

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

/** Where the output goes. */
export interface LogsOutput {
  out(text: string): Promise<void>;
  err(text: string): Promise<void>;
}

/** Runs the query and prints each report; returns the exit code (1 when the daemon cannot be asked). */
export async function printLogs(
  opts: LogsOptions,
  output: LogsOutput,
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
        `chainsaw logs: cannot reach the daemon at ${visible(opts.socket)}: ${
          visible((e as Error).message)
        }\n`,
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
      await output.err(`chainsaw logs: stream ended: ${visible((e as Error).message)}\n`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
  }
}
