/**
 * The plugin⇄daemon contract's routes: every path the daemon serves on its unix socket, with its method. Both
 * sides import this module; the daemon's router is checked against it by a test, so they cannot drift.
 *
 * | route | body → answer | schema module |
 * |---|---|---|
 * | `GET /healthz` | → `ok` (STATUS asks this) | — |
 * | `POST /v1/reports` | Report → 204 | `report.ts` |
 * | `GET /v1/logs?pod=&trace=&limit=&follow=` | → NDJSON of Reports | `report.ts` |
 * | `GET /v1/pods/{ns}/{name}?uid=&waitMs=` | → PodAnswer | `pod_lookup.ts` |
 * | `POST /v1/add` | AddRequest → AddAnswer | `add.ts` |
 * | `POST /v1/attachments` | AttachmentRegistration → 204 | `attachment.ts` |
 * | `POST /v1/attachments/forget` | AttachmentForget → `{removed}` | `attachment.ts` |
 * | `POST /v1/gc` | GcRequest → `{removed}` | `gc.ts` |
 * | `GET /v1/explain?pod=ns/name` | → ExplainAnswer (runs nothing) | `explain.ts` |
 * | `POST /v1/check` | CheckRequest → CheckAnswer (observes, changes nothing) | `check.ts` |
 * @module
 */

/** One route of the daemon socket. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** True when the path is a prefix followed by parameters (`/v1/pods/{ns}/{name}`). */
  readonly prefix?: boolean;
}

/** The daemon socket's routes. */
export const ROUTES = {
  health: { method: "GET", path: "/healthz" },
  reports: { method: "POST", path: "/v1/reports" },
  logs: { method: "GET", path: "/v1/logs" },
  pods: { method: "GET", path: "/v1/pods", prefix: true },
  add: { method: "POST", path: "/v1/add" },
  register: { method: "POST", path: "/v1/attachments" },
  forget: { method: "POST", path: "/v1/attachments/forget" },
  gc: { method: "POST", path: "/v1/gc" },
  explain: { method: "GET", path: "/v1/explain" },
  check: { method: "POST", path: "/v1/check" },
} as const satisfies Record<string, Route>;

/**
 * How long the plugin waits for the answer of `POST /v1/add` once the daemon has taken the request (then it is
 * code 11, never run again). The daemon fits its work inside it: it cuts the list's deadline
 * (`limits.listTimeoutMs`) to what is left of this wait after the pod lookup, less its reserve for the snapshot,
 * the rollback and the answer.
 */
export const ADD_ANSWER_WAIT_MS = 60_000;

/** A route's name. */
export type RouteName = keyof typeof ROUTES;
