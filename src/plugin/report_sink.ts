/**
 * Where the report of an ADD the plugin ran itself goes: to the daemon when it is up (`POST /v1/reports`), and to
 * stderr in the human format (the runtime's log) whenever something was run or refused. A missing or slow daemon
 * never fails the CNI call.
 * @module
 */
import { formatHuman, type Report } from "../report/report.ts";
import { sendReport } from "../wire/client.ts";
import { writeAll } from "../bytes.ts";

/** Writes the human-format report to stderr. */
export async function writeToStderr(report: Report): Promise<void> {
  await writeAll(Deno.stderr, formatHuman(report));
}

/**
 * Delivers a report: to the daemon when `daemonUp`, and to stderr unless the invocation ran nothing (verdict
 * "nothing") — so a runtime's log always has what chainsaw ran, whoever else got it.
 *
 * @param report the report
 * @param socket the daemon's socket
 * @param daemonUp whether the daemon answered this invocation
 */
export async function deliverReport(report: Report, socket: string, daemonUp: boolean): Promise<void> {
  if (daemonUp) await sendReport(socket, report);
  if (report.verdict !== "nothing") await writeToStderr(report);
}
