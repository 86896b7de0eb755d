/**
 * `GET /v1/explain?pod=NAMESPACE/NAME` (see src/wire/explain.ts): for each of the pod's attachments on this node,
 * the pod's current annotation (from the pod cache) read for the attachment's network, each command after
 * `CURRENT_INTERFACE` substitution with the policy's verdict, and what a re-apply would do now. Nothing is run,
 * no netns is entered (only whether it still exists is checked), nothing is recorded.
 *
 * It cannot disagree with a run: the annotation, the effective policy and the evaluation context come from the
 * executor's own {@link planOnAttachment}; the list is judged by the same `evaluateList` the executor's
 * `applyCommands` calls (limits, namespace scope), each command by `evaluateCommand`; whether a re-apply would
 * run comes from the re-apply planner ({@link decideReapply}) with the re-applier's own skips (unknown applied
 * value, `/proc` netns, netns gone), and a stale attachment (another pod UID) is refused like
 * {@link executeStep} refuses it.
 * @module
 */
import { ANNOTATION } from "../../annotation/annotation.ts";
import { prepareCommand } from "../../annotation/prepare.ts";
import { CniError, ErrorCode } from "../../cni/errors.ts";
import { type ExecutorDeps, planOnAttachment } from "../../exec/executor.ts";
import { isProcNetns, type NetnsState } from "../../exec/netns_state.ts";
import { type CommandVerdict, evaluateCommand, evaluateList } from "../../policy/evaluate.ts";
import { errorText } from "../../text/error_text.ts";
import {
  EXPLAIN_POD_PARAM,
  type ExplainAnswer,
  type ExplainAttachment,
  type ExplainCommand,
  type ExplainEffect,
  POD_KEY_PATTERN,
} from "../../wire/explain.ts";
import { ROUTES } from "../../wire/routes.ts";
import { type Attachment, attachmentNameOf } from "../attachments/attachment_store.ts";
import { AnnotationError } from "../../annotation/annotation.ts";
import { unmatchedKeyWarnings } from "../../annotation/resolve.ts";
import type { CachedPod, PodCache } from "../pods/pod_cache.ts";
import { attachmentOf, decideReapply } from "../reapply/plan.ts";
import { attachmentTarget } from "../reapply/reapply_step.ts";
import type { SocketRouteHandler } from "../api/socket_api.ts";

/** The route's path. */
export const EXPLAIN_ROUTE: string = ROUTES.explain.path;

/** What the explanation reads (never anything that runs or changes state). */
export interface ExplainDeps extends Pick<ExecutorDeps, "loadPolicy" | "namespaceLabels"> {
  /** The node's name, for the answer. */
  node?: string;
  /** Whether a netns path still exists (a re-apply forgets an attachment whose netns is gone). */
  netnsState(path: string): Promise<NetnsState>;
  /** What chainsaw owns in the attachment and whether it holds (observed read-only); absent: not said. */
  effect?(a: Attachment): Promise<ExplainEffect | undefined>;
}

/** What the route works on. */
export interface ExplainRouteDeps extends ExplainDeps {
  /** The attachments of `namespace/name` (AttachmentStore.forPodName). */
  attachments(namespace: string, name: string): Attachment[];
  /** The pod cache; undefined when the daemon watches no pods (nothing to read the annotation from). */
  cache?: Pick<PodCache, "get">;
  /** True once the cache holds a complete list. */
  synced(): boolean;
}

function commandOf(source: string, argv: string[], v: CommandVerdict): ExplainCommand {
  const c: ExplainCommand = { source, argv, allowed: v.allowed, rule: v.rule };
  if (v.allowed && v.source !== undefined) c.ruleText = v.source;
  if (!v.allowed) c.reason = v.reason;
  return c;
}

type Reapply = ExplainAttachment["reapply"];

/** What a re-apply of the pod's current value would do on `a`, before the policy is asked. */
async function reapplyPlan(
  a: Attachment,
  pod: CachedPod,
  value: string | undefined,
  netnsState: ExplainDeps["netnsState"],
): Promise<Reapply | "planned"> {
  const none = (reason: string): Reapply => ({ action: "none", reason, run: [] });
  if (a.applied === undefined && attachmentOf(pod, a)) {
    return none("the value its ADD used is unknown: only a change of the annotation is re-applied");
  }
  const decision = decideReapply(pod, a, a.applied, value);
  if ("skip" in decision) return none(decision.skip);
  if (isProcNetns(a.netns)) {
    return none(`its netns ${a.netns} is a /proc path: only namespaces under /var/run/netns are re-entered`);
  }
  if ((await netnsState(a.netns)) === "gone") {
    return none(`its netns ${a.netns} no longer exists: the attachment is forgotten instead`);
  }
  return "planned";
}

/**
 * Explains one attachment: its commands and their verdicts, what refuses the list, and the re-apply decision.
 *
 * @param a the attachment
 * @param pod the cached pod it belongs to (by name; a different UID makes it stale)
 * @param deps the policy and netns edges
 * @returns the explanation (never throws for a problem of the pod's or the policy's)
 */
export async function explainAttachment(
  a: Attachment,
  pod: CachedPod,
  deps: ExplainDeps,
): Promise<ExplainAttachment> {
  const value = pod.annotations[ANNOTATION];
  const target = attachmentTarget(a, pod);
  const out: ExplainAttachment = {
    containerId: a.containerId,
    ifname: a.ifname,
    network: a.network,
    netns: a.netns,
    onError: target.onError,
    commands: [],
    allowed: true,
    reapply: { action: "none", reason: "", run: [] },
  };
  if (a.nad !== undefined) out.nad = a.nad;
  if (value !== undefined) out.annotation = value;
  if (a.applied !== undefined) out.applied = a.applied;
  const decision = await reapplyPlan(a, pod, value, deps.netnsState);
  const refuse = (msg: string) => ({
    action: "refuse" as const,
    reason: `refused, nothing would run: ${msg}`,
    run: [],
  });

  let plan;
  try {
    plan = await planOnAttachment(target, value, deps);
  } catch (e) {
    const error = e instanceof CniError
      ? e
      : new CniError(ErrorCode.Internal, `internal error: ${errorText(e)}`);
    out.error = { code: error.code, msg: error.message };
    out.allowed = false;
    out.reapply = decision === "planned" ? refuse(error.message) : decision;
    return out;
  }
  if (plan.key !== undefined) out.key = plan.key;
  if ("error" in plan) {
    out.error = { code: plan.error.code, msg: plan.error.message };
    out.allowed = false;
    out.commands = plan.commands.map((source) => {
      let argv: string[] = [];
      try {
        argv = prepareCommand(source, target.ifname).argv;
      } catch {
        // shown unsplit; the policy error is the reason anyway
      }
      return { source, argv, allowed: false, rule: "policy:invalid", reason: plan.error.message };
    });
    out.reapply = decision === "planned" ? refuse(plan.error.message) : decision;
    return out;
  }
  const { commands, policy, ctx } = plan;
  for (const source of commands) {
    let argv: string[] = [];
    let v: CommandVerdict;
    try {
      argv = prepareCommand(source, ctx.ifname).argv;
      v = evaluateCommand(argv, policy, ctx);
    } catch (e) {
      v = { allowed: false, rule: "parse:tokenize", reason: errorText(e) };
    }
    out.commands.push(commandOf(source, argv, v));
  }
  // The list as the executor judges it: the annotation's size, the namespace scope, the command count.
  const list = evaluateList(commands, policy, ctx, new TextEncoder().encode(value ?? "").length);
  if (!list.allowed && (list.index < 0 || list.rule.startsWith("limit:"))) {
    out.error = { code: ErrorCode.CommandRejected, rule: list.rule, msg: list.reason };
  }
  out.allowed = list.allowed && out.commands.every((c) => c.allowed);
  if (decision !== "planned") {
    out.reapply = decision;
    return out;
  }
  const runnable = out.commands.flatMap((c, i) => c.allowed ? [i] : []);
  const owned = a.mode === "declarative" ? a.effect?.items.length ?? 0 : 0;
  if (out.allowed && commands.length === 0 && owned > 0) {
    // Declarative mode: the value has no commands here any more; what chainsaw set goes back.
    out.reapply = {
      action: "run",
      reason: `would take back what chainsaw owns here (${plural(owned, "object")}), running no command`,
      run: [],
    };
  } else if (out.allowed) {
    const back = owned > 0 ? "; first takes back what the old value set and this one does not" : "";
    out.reapply = {
      action: "run",
      reason: `would run ${plural(runnable.length, "command")}${back}`,
      run: runnable,
    };
  } else if (target.onError === "continue" && !out.error && runnable.length > 0) {
    out.reapply = {
      action: "run",
      reason: `would run ${runnable.length} of ${plural(commands.length, "command")} ` +
        "(onError continue skips the refused ones)",
      run: runnable,
    };
  } else {
    const refused = out.commands.findIndex((c) => !c.allowed);
    out.reapply = refuse(
      out.error
        ? out.error.msg
        : `command ${refused + 1} is not allowed (${out.commands[refused].rule}: ${
          out.commands[refused].reason
        })`,
    );
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Explains every attachment of the pod.
 *
 * @param pod the cached pod
 * @param attachments its attachments on this node (by name)
 * @param deps the policy and netns edges
 * @returns the answer, with the annotation's keys that name none of the pod's attachments as warnings
 */
export async function explainPod(
  pod: CachedPod,
  attachments: readonly Attachment[],
  deps: ExplainDeps,
): Promise<ExplainAnswer> {
  const explained: ExplainAttachment[] = [];
  for (const a of attachments) {
    const x = await explainAttachment(a, pod, deps);
    const effect = await deps.effect?.(a);
    if (effect) x.effect = effect;
    explained.push(x);
  }
  const answer: ExplainAnswer = {
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
    allowed: explained.every((a) => a.allowed),
    attachments: explained,
  };
  if (deps.node) answer.node = deps.node;
  // Keys naming none of the pod's attachments here (those of another pod of this name do not count).
  const names = attachments.filter((a) => attachmentOf(pod, a)).map(attachmentNameOf);
  try {
    const warnings = unmatchedKeyWarnings(pod.annotations[ANNOTATION], names);
    if (warnings.length > 0) answer.warnings = warnings;
  } catch (e) {
    if (!(e instanceof AnnotationError)) throw e; // a malformed value: each attachment's error says so
  }
  return answer;
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

/** Builds the `GET /v1/explain` handler. */
export function createExplainRoute(deps: ExplainRouteDeps): SocketRouteHandler {
  return async (req, url) => {
    if (url.pathname !== EXPLAIN_ROUTE) return text(404, `no such path ${url.pathname}`);
    if (req.method !== "GET") return new Response("use GET\n", { status: 405, headers: { Allow: "GET" } });
    const key = url.searchParams.get(EXPLAIN_POD_PARAM) ?? "";
    if (!POD_KEY_PATTERN.test(key)) return text(400, `want ${EXPLAIN_POD_PARAM}=NAMESPACE/NAME`);
    const [namespace, name] = key.split("/");
    const attachments = deps.attachments(namespace, name);
    if (attachments.length === 0) {
      return text(404, `pod ${key} has no attachments on this node`);
    }
    if (!deps.cache) {
      return text(503, "this daemon watches no pods (no --node-name, no API access or --no-pod-watch)");
    }
    if (!deps.synced()) return text(503, "the pod cache is not synced yet");
    const pod = deps.cache.get(namespace, name);
    if (!pod) return text(404, `pod ${key} is not in the pod cache (it left the node)`);
    try {
      return Response.json(await explainPod(pod, attachments, deps));
    } catch (e) {
      return text(500, `cannot explain pod ${key}: ${errorText(e)}`);
    }
  };
}
