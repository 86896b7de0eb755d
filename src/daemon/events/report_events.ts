/**
 * Kubernetes Events for executions: every ADD (run by the daemon, or reported by a plugin that ran it) and
 * REAPPLY (from the daemon) report with a pod that ran or rejected commands becomes an Event on the pod
 * (`eventForReport` says which), and one whose annotation has keys naming none of the pod's attachments a
 * `ChainsawUnmatchedKey` Warning (`warningEventForReport`), posted in the background. Posting never blocks or fails the report's intake: the recorder counts and logs its errors.
 * @module
 */
import { eventForReport, type EventRecorder, warningEventForReport } from "./event_recorder.ts";
import type { Report } from "../../report/report.ts";
import { REAPPLY_VERB } from "../reapply/reapply_step.ts";

/** The verbs whose reports are executions. */
export const EVENT_VERBS: readonly string[] = ["ADD", REAPPLY_VERB];

/** A report listener that records the report's Event, if it has one. */
export function reportEventListener(recorder: Pick<EventRecorder, "record">): (report: Report) => void {
  return (report) => {
    if (!report.pod || !EVENT_VERBS.includes(report.verb)) return;
    const spec = eventForReport(report);
    if (spec) void recorder.record(report.pod, spec);
    const warning = warningEventForReport(report);
    if (warning) void recorder.record(report.pod, warning);
  };
}
