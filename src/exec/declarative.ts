/**
 * Declarative mode (`"mode": "declarative"`, the default) inside the one executor: the annotation's current value
 * is what the netns holds on top of the baseline. A run is either the first list on an attachment (ADD, or a
 * value on an attachment that owns nothing yet) or an *edit* of the effect the previous value left:
 *
 * 1. Edit only: snapshot the netns; {@link planEdit} splits the old effect into left alone (changed since
 *    chainsaw set it), kept (its command is in the new list too: stays in place, the command is not run again)
 *    and taken back (restored to its baseline value with `restoreNetns`, before the new list runs).
 * 2. The list runs with attribution: each run of consecutive writers is ONE process (`ip -j -d -batch -`,
 *    {@link runBatch}) that reads a dump, each command, and after each command a dump of what it can change; a
 *    read runs on its own (its output is what `ip` prints, not JSON). So a list that only writes is one process,
 *    baseline included. A list whose writers cannot be batched (global options, words needing quotes, an IPv6
 *    rule, `onError: "continue"`) runs command by command with a full snapshot after each writer. A list that
 *    only reads, on an attachment that owns nothing, takes no snapshot at all.
 * 3. The new effect: the kept items, then each command's change (`composeEffect`).
 * 4. A failure with `onError: "rollback"` (the default): the netns goes back to the snapshot before the run (the
 *    edit's, or the ADD's baseline), and the old effect stays. With `"fail"` the effect is what the list left.
 *
 * It plugs into `applyCommands` through its `beforeRun`/`run` edges, so policy, rejection, deadline, `onError`
 * and the report's words are exactly those of imperative mode.
 * @module
 */
import type { PreparedCommand } from "../annotation/prepare.ts";
import {
  composeEffect,
  describeTakenBack,
  effectBetween,
  type EffectDifference,
  itemHolds,
  takeBackTarget,
} from "../declarative/effect.ts";
import { type EditPlan, planEdit } from "../declarative/edit_plan.ts";
import { objectsOf } from "../declarative/objects.ts";
import type { CommandResult, EffectRecord } from "../report/report.ts";
import { type EffectItem, MAX_EFFECT_ITEMS } from "../wire/effect.ts";
import type { OnError } from "../wire/chain_conf.ts";
import { errorText } from "../text/error_text.ts";
import {
  batchable,
  type BatchInput,
  type BatchOutcome,
  dumpsFor,
  fillFrom,
  isRead,
  runBatch,
} from "./_netns_batch.ts";
import type { NetnsSnapshot, RestoreOutcome, SnapshotBinaries } from "./netns_snapshot.ts";
import { type RunnerOptions, succeeded } from "./runner.ts";

/** How a command is named in effect items (`by`) and edit plans: its `ip` words joined by blanks. */
export function commandText(argv: readonly string[]): string {
  return argv.join(" ");
}

/** The edges a declarative run uses. */
export interface DeclarativeDeps {
  /** A full snapshot (`snapshotNetns`). */
  snapshot(netns: string, bins: SnapshotBinaries): Promise<NetnsSnapshot>;
  /** Makes the netns equal to a snapshot (`restoreNetns`). */
  restore(target: NetnsSnapshot, bins: SnapshotBinaries): Promise<RestoreOutcome>;
  /** One command in its own process (`runInNetns`). */
  run(command: string, argv: readonly string[], opts: RunnerOptions): Promise<CommandResult>;
  /** The one-process batch (default {@link runBatch}). */
  batch?(input: BatchInput): Promise<BatchOutcome>;
}

/** What the run needs to know. */
export interface DeclarativeInput {
  netns: string;
  bins: SnapshotBinaries;
  onError: OnError;
  /** The effect the previous value left (`[]`: chainsaw owns nothing here yet). */
  prior: readonly EffectItem[];
  /** Bound on the whole batch process, in milliseconds (the list's deadline plus the dumps). */
  batchTimeoutMs: number;
  /** Output cap of the batch process. */
  maxOutputBytes: number;
  /**
   * Called with a full snapshot of the netns right before the run first changes it (an edit's take-back, or the
   * list), so the caller can record it first (the daemon's write-ahead record of a re-apply: a crash after
   * this leaves the netns restorable). Absent: no snapshot is taken for it. A throw stops the run, nothing changed.
   */
  beforeChange?(start: NetnsSnapshot): Promise<void>;
}

/** What the run did to the effect. */
export interface DeclarativeSettlement {
  /** The effect to keep now: the new one, or the prior one when the run was rolled back or never started. */
  effect: EffectItem[];
  /** Old items taken back to their baseline. */
  takenBack: EffectItem[];
  /** Old items someone changed since chainsaw set them: left as they are, owned no more. */
  leftAlone: EffectDifference[];
  /** Old items kept in place (their command is in the new list). */
  kept: EffectItem[];
  /** The restore after a failure (`onError: "rollback"`), when one ran. */
  rollback?: RestoreOutcome;
  /** The netns before the run, when one was read (for link names in the report). */
  start?: NetnsSnapshot;
  /**
   * A take-back with no new list ({@link takeBackAll}) that could not put these objects back (their baseline
   * value is refused now: a gateway no longer reachable, a link gone): left as they are, owned no more.
   */
  stuck?: { items: EffectItem[]; failures: string[] };
}

/** A snapshot failed where one is required (the caller words it as code 100, nothing run). */
export class DeclarativeSnapshotError extends Error {
  /**
   * @param message what failed
   * @param options the cause
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeclarativeSnapshotError";
  }
}

/** Taking back the previous value's effect failed; `undo` says whether the netns is as before the edit again. */
export class TakeBackError extends Error {
  /** Why, one line each. */
  readonly failures: string[];
  /** The restore of the netns as it was before the edit. */
  readonly undo: RestoreOutcome;
  /**
   * @param failures why taking back failed
   * @param undo the restore that followed
   */
  constructor(failures: string[], undo: RestoreOutcome) {
    super(
      `taking back the previous value failed: ${failures.slice(0, 4).join("; ") || "unknown"}; ${
        undo.ok
          ? "the netns is as before the edit"
          : `ROLLBACK FAILED, the netns is NOT as before the edit: ${undo.failures.slice(0, 4).join("; ")}`
      }`,
    );
    this.name = "TakeBackError";
    this.failures = failures;
    this.undo = undo;
  }
}

/**
 * One declarative run: hand {@link DeclarativeRun.beforeRun} and {@link DeclarativeRun.run} to `applyCommands`,
 * then call {@link DeclarativeRun.settle} with whether the list failed.
 */
export class DeclarativeRun {
  readonly #in: DeclarativeInput;
  readonly #deps: DeclarativeDeps;
  #plan: EditPlan = { leftAlone: [], kept: [], takeBack: [], skip: new Set() };
  /** The netns before anything of this run (the edit's snapshot, or the ADD's baseline). */
  #start?: NetnsSnapshot;
  /** The dump lines `#start` has when it came from a batch (the other kinds empty, no IPv6 rules); absent: full. */
  #startLines?: readonly number[];
  /** The netns before the first command (after taking back). */
  #before?: NetnsSnapshot;
  #last?: NetnsSnapshot;
  /** The dump lines `#last` has when it came from a batch; absent: a full snapshot. */
  #lastLines?: readonly number[];
  #effect: EffectItem[] = [];
  #prepared: readonly PreparedCommand[] = [];
  #batchMode = false;
  /** Results of commands a batch already ran, by index in the list. */
  readonly #batched = new Map<number, CommandResult>();
  #index = 0;
  #plain = false;

  constructor(input: DeclarativeInput, deps: DeclarativeDeps) {
    this.#in = input;
    this.#deps = deps;
  }

  async #snap(): Promise<NetnsSnapshot> {
    try {
      return await this.#deps.snapshot(this.#in.netns, this.#in.bins);
    } catch (e) {
      throw new DeclarativeSnapshotError(errorText(e), { cause: e });
    }
  }

  /**
   * Before the first command (the policy accepted the whole list): the edit's snapshot and take-back, then the
   * batch when the list can be batched.
   *
   * @param prepared the list as the policy prepared it
   */
  async beforeRun(prepared: readonly PreparedCommand[]): Promise<void> {
    const texts = prepared.map((p) => commandText(p.argv));
    const edit = this.#in.prior.length > 0;
    if (!edit && prepared.every((p) => isRead(p.argv))) {
      this.#plain = true; // reads only, nothing owned: no snapshot, nothing to own
      return;
    }
    if (!edit && this.#in.beforeChange) {
      // The write-ahead record needs the netns before anything: a full snapshot (also the rollback's target).
      this.#start = await this.#snap();
      await this.#in.beforeChange(this.#start);
    }
    if (edit) {
      this.#start = await this.#snap();
      await this.#in.beforeChange?.(this.#start);
      this.#plan = planEdit(this.#in.prior, this.#start, texts);
      this.#effect = [...this.#plan.kept];
      if (this.#plan.takeBack.length > 0) {
        const back = await this.#deps.restore(
          takeBackTarget(this.#start, this.#plan.takeBack),
          this.#in.bins,
        );
        if (!back.ok) {
          // Atomic: put back what the partial take-back changed; nothing of the new list runs.
          const undo = await this.#deps.restore(this.#start, this.#in.bins);
          throw new TakeBackError(back.failures, undo);
        }
      }
    }
    this.#prepared = prepared;
    const writers = prepared.filter((p) => !this.#plan.skip.has(commandText(p.argv)) && !isRead(p.argv));
    if (this.#in.onError !== "continue" && writers.every((p) => batchable(p.argv))) {
      // Writers run in batches (one process per run of consecutive writers), reads on their own: see run().
      this.#batchMode = true;
      return;
    }
    // Command by command: a full snapshot before, and after each writer. The start (an edit's, or the
    // write-ahead record's) is that snapshot unless a take-back changed the netns since.
    this.#before = this.#start && this.#plan.takeBack.length === 0 ? this.#start : await this.#snap();
    this.#start ??= this.#before;
    this.#last = this.#before;
  }

  /**
   * Runs the writers from index `from` up to the next read (commands kept from the previous value are passed
   * over) in one process, and credits each with what it changed.
   *
   * @param from the index of the first writer
   * @param commandTimeoutMs each command's bound (already cut to what is left of the list's deadline)
   */
  async #runSegment(from: number, commandTimeoutMs: number): Promise<void> {
    const indexes: number[] = [];
    for (let j = from; j < this.#prepared.length; j++) {
      const p = this.#prepared[j];
      if (this.#plan.skip.has(commandText(p.argv))) continue;
      if (isRead(p.argv)) break;
      indexes.push(j);
    }
    const commands = indexes.map((j) => this.#prepared[j]);
    const out = await (this.#deps.batch ?? runBatch)({
      ipPath: this.#in.bins.ipPath,
      nsenterPath: this.#in.bins.nsenterPath,
      netns: this.#in.netns,
      commands,
      // The dumps are bounded like a snapshot (2 s); the commands like the list would bound them one by one.
      timeoutMs: Math.min(this.#in.batchTimeoutMs, commandTimeoutMs * commands.length + 2000),
      maxOutputBytes: this.#in.maxOutputBytes,
      // Only what these commands can change: a list of route commands dumps routes, not links.
      baseline: dumpsFor(commands.map((c) => c.argv)),
    });
    // Effects compare the batch's own snapshots: the same kinds on both sides, what the commands could change.
    let prev = out.before;
    if (prev) {
      if (!this.#start) {
        this.#start = prev; // the ADD's baseline
        this.#startLines = out.dumped;
      } else if (this.#startLines) {
        // A later batch dumps kinds the first did not: untouched so far, so their baseline is this dump.
        this.#start = fillFrom(this.#start, prev, this.#startLines);
        this.#startLines = [...new Set([...this.#startLines, ...out.dumped])].sort((a, b) => a - b);
      }
    }
    for (const [k, r] of out.results.entries()) {
      const j = indexes[k];
      this.#batched.set(j, r);
      const after = out.after[k];
      if (after && prev && succeeded(r)) {
        this.#effect = composeEffect(
          this.#effect,
          effectBetween(prev, after, [commandText(this.#prepared[j].argv)]),
        );
        prev = after;
      }
    }
    if (prev) {
      this.#last = prev;
      this.#lastLines = out.dumped;
    }
  }

  /**
   * Runs (or, batched, reports) the next command of the list.
   *
   * @param command the command as written
   * @param argv its words
   * @param opts the runner's options
   */
  async run(command: string, argv: readonly string[], opts: RunnerOptions): Promise<CommandResult> {
    const i = this.#index++;
    if (!this.#plain && this.#plan.skip.has(commandText(argv))) {
      return {
        command,
        argv: [...argv],
        exitCode: 0,
        signal: null,
        timedOut: false,
        durationMs: 0,
        stdout: "",
        stderr: "",
        truncated: false,
        kept: true,
      };
    }
    if (this.#batchMode) {
      const done = this.#batched.get(i);
      if (done) return done;
      // A read runs on its own, so it prints what `ip` prints (a batch would print JSON); it changes nothing.
      if (isRead(argv)) return await this.#deps.run(command, argv, opts);
      await this.#runSegment(i, opts.timeoutMs);
      return this.#batched.get(i)!;
    }
    const r = await this.#deps.run(command, argv, opts);
    if (!this.#plain && !isRead(argv) && succeeded(r)) {
      const after = await this.#snap();
      if (this.#last) {
        this.#effect = composeEffect(this.#effect, effectBetween(this.#last, after, [commandText(argv)]));
      }
      this.#last = after;
    }
    return r;
  }

  /**
   * After the list: roll back a failure (`onError: "rollback"`), or take stock of what a `"fail"`/`"continue"`
   * list left; returns the effect to keep.
   *
   * @param failed whether the list failed (a command failed or timed out, or the deadline passed)
   * @param started whether `beforeRun` ran (false: rejected, or nothing to run)
   */
  async settle(failed: boolean, started: boolean): Promise<DeclarativeSettlement> {
    const prior = [...this.#in.prior];
    const base = {
      takenBack: [] as EffectItem[],
      leftAlone: [] as EffectDifference[],
      kept: [] as EffectItem[],
    };
    if (!started || this.#plain) {
      // Rejected (nothing ran, the old effect stays) or a read-only list on an attachment owning nothing.
      return { ...base, effect: this.#plain ? [] : prior };
    }
    const plan = this.#plan;
    const done = { takenBack: plan.takeBack, leftAlone: plan.leftAlone, kept: plan.kept, start: this.#start };
    if (failed && this.#in.onError === "rollback") {
      // No baseline read: the batch never got to the list (ip flushes after each line), nothing to roll back.
      if (!this.#start) return { ...base, effect: prior };
      // A batch's baseline has only the kinds its commands could change (never IPv6 rules): the rest as today.
      const target = this.#startLines
        ? fillFrom(this.#start, await this.#snap(), this.#startLines)
        : this.#start;
      const rollback = await this.#deps.restore(target, this.#in.bins);
      return { ...base, effect: prior, rollback };
    }
    if (failed && this.#last) {
      // "fail"/"continue": own whatever the list left, including a failed command's partial change.
      const after = await this.#snap();
      const last = this.#lastLines ? fillFrom(this.#last, after, this.#lastLines) : this.#last;
      this.#effect = composeEffect(this.#effect, effectBetween(last, after));
    }
    // Items the new list left as the old one had them, and left-alone items the list did not touch, are owned by
    // this value from its base: composeEffect keeps an old base only for kept items.
    const effect = this.#effect.slice(0, MAX_EFFECT_ITEMS);
    return { ...done, effect };
  }
}

/**
 * The outcome of taking an effect back with no new list (the annotation was deleted, is blank, or has no
 * commands for this attachment): snapshot, plan, restore. Chainsaw owns nothing afterwards: objects whose
 * baseline value cannot be restored any more are left as they are and named in `stuck`.
 *
 * @param input where and what
 * @param deps snapshot and restore
 * @returns the settlement (the effect is `[]` when everything still holding went back)
 */
export async function takeBackAll(
  input: Pick<DeclarativeInput, "netns" | "bins" | "prior" | "beforeChange">,
  deps: DeclarativeDeps,
): Promise<DeclarativeSettlement> {
  let start: NetnsSnapshot;
  try {
    start = await deps.snapshot(input.netns, input.bins);
  } catch (e) {
    throw new DeclarativeSnapshotError(errorText(e), { cause: e });
  }
  const plan = planEdit(input.prior, start, []);
  const base = { takenBack: plan.takeBack, leftAlone: plan.leftAlone, kept: [], start };
  if (plan.takeBack.length === 0) return { ...base, effect: [] };
  await input.beforeChange?.(start);
  const back = await deps.restore(takeBackTarget(start, plan.takeBack), input.bins);
  if (back.ok) return { ...base, effect: [] };
  // Some objects cannot go back to their baseline value any more (a gateway no longer reachable, a link gone);
  // the restore did what it could. Unlike an edit (atomic: its new list never runs on a half take-back), a value
  // with no commands must leave chainsaw owning nothing: an effect that can never be given back would fail every
  // later edit and deletion of the annotation. The objects still not back are left as they are and reported.
  let now: ReturnType<typeof objectsOf> | undefined;
  try {
    now = objectsOf(await deps.snapshot(input.netns, input.bins));
  } catch {
    now = undefined; // cannot tell which went back: all are reported
  }
  const isBack = (i: EffectItem) =>
    now !== undefined && itemHolds({ ...i, base: i.set, set: i.base }, now.get(i.key)?.value);
  const stuck = plan.takeBack.filter((i) => !isBack(i));
  if (stuck.length === 0) return { ...base, effect: [] };
  return {
    ...base,
    takenBack: plan.takeBack.filter(isBack),
    effect: [],
    stuck: { items: stuck, failures: back.failures },
  };
}

/**
 * The report's words for a settlement: what was taken back and left alone (one line each, at most 64), and how
 * much chainsaw owns now.
 *
 * @param settled the settlement
 * @returns the report's `effect`
 */
export function effectRecord(
  settled: Pick<DeclarativeSettlement, "effect" | "takenBack" | "leftAlone" | "start">,
): EffectRecord {
  const cap = (l: string[]) => l.slice(0, 64).map((t) => t.slice(0, 512));
  const objects = settled.start ? objectsOf(settled.start) : undefined;
  return {
    owned: settled.effect.length,
    takenBack: cap(settled.takenBack.map((i) => describeTakenBack(i, objects))),
    leftAlone: cap(settled.leftAlone.map((d) => d.text)),
  };
}
