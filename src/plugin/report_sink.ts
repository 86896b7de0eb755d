/**
 * Delivers a plugin report: to the daemon over its unix socket (`POST /v1/reports`), and to stderr in the
 * human format when the daemon cannot take it. A missing or slow daemon never fails the CNI call.
 * @module
 */
import { formatHuman, type Report } from "./report.ts";
import { daemonRequest } from "./daemon_socket.ts";
import { writeAll } from "../bytes.ts";

/** The daemon's ingestion path on its socket. */
export const REPORTS_PATH = "/v1/reports";

/** Bound on handing a report to the daemon. */
export const SEND_TIMEOUT_MS = 1000;

/**
 * Sends `report` to the daemon at `socket`; resolves true when the daemon accepted it (2xx), false when the
 * socket is absent, refused, slow or answered an error.
 */
export async function sendToDaemon(
  socket: string,
  report: Report,
  timeoutMs = SEND_TIMEOUT_MS,
): Promise<boolean> {
  const ok = await daemonRequest(
    socket,
    REPORTS_PATH,
    {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(report),
    },
    timeoutMs,
    async (res) => {
      await res.body?.cancel();
      return res.ok;
    },
  );
  return ok ?? false;
}

/** Writes the human-format report to stderr. */
export async function writeToStderr(report: Report): Promise<void> {
  await writeAll(Deno.stderr, formatHuman(report));
}

/**
 * Delivers a report: the daemon when it takes it, else stderr. With `alwaysStderr` the human format also goes to
 * stderr (the plugin does this for ADD so a runtime's log has it too). Reports of invocations that ran nothing
 * (verdict "nothing": they tell the daemon about an attachment) never go to stderr.
 */
export async function deliverReport(report: Report, socket: string, alwaysStderr: boolean): Promise<void> {
  const sent = await sendToDaemon(socket, report);
  if (report.verdict !== "nothing" && (!sent || alwaysStderr)) await writeToStderr(report);
}
