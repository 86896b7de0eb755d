/**
 * The drift checker: whether what chainsaw's annotation set in each attachment (its effect, declarative mode)
 * still holds, checked on a {@link PeriodicSweep} every `--drift-check-seconds` (spread over the interval, a few at
 * once, never an attachment whose pod's sync is running). What it does with a difference is the chain key
 * `drift` kept with the attachment:
 *
 * - `report` (the default): the attachment is *drifted* — told once per distinct set of differing objects
 *   (`onDrift(…, "reported")`: a Warning Event `ChainsawDrifted`, `chainsaw_drift_total{action="reported"}`, the
 *   pod condition `False`/`Drifted`) — until a later check finds the effect holding again, or a re-apply of the
 *   attachment (an edit) replaces the effect (`onClear`);
 * - `heal`: the drifted objects are set back to chainsaw's values (`heal`, through the re-apply queue, where an edit
 *   always wins); when that run succeeds, `onDrift(…, "healed")` (a Normal Event `ChainsawHealed`);
 * - `off`: never checked.
 *
 * An observation that raced a sync (the attachment's effect or applied value changed while its netns was read,
 * or its pod's sync began) is thrown away: the next round checks again.
 * @module
 */
import type { EffectDifference } from "../../declarative/effect.ts";
import { effectDifferencesUnraced } from "../effect/differences.ts";
import { attachmentKey } from "../attachments/attachment_store.ts";
import type { NetnsSnapshot, NetObject } from "../../declarative/objects.ts";
import type { Effect } from "../../wire/effect.ts";
import { PeriodicSweep, type SkipReason, type SweepClock } from "../../async/periodic_sweep.ts";
import { errorText } from "../../text/error_text.ts";
import { isProcNetns } from "../../exec/netns_state.ts";

/** What the checker reads of a stored attachment. */
export interface DriftAttachment {
  containerId: string;
  ifname: string;
  network: string;
  netns: string;
  namespace: string;
  name: string;
  podUid: string;
  applied?: string;
  mode?: string;
  drift?: string;
  effect?: Effect;
}

/** An attachment's identity in the checker (the store's key). */
export const driftKey = (a: { containerId: string; ifname: string }): string =>
  attachmentKey(a.containerId, a.ifname);

/** How one check ended (`chainsaw_drift_checks_total{result}`). */
export type CheckResult = "holds" | "drifted" | "unowned" | "raced" | "error";

/** What the checker needs. */
export interface DriftCheckerDeps<A extends DriftAttachment = DriftAttachment> {
  /** The attachments now (the store's copies). */
  attachments(): readonly A[];
  /** Observes the attachment's netns (scoped to what its effect covers); throws when it cannot. */
  observe(a: A, signal: AbortSignal): Promise<NetnsSnapshot | Map<string, NetObject>>;
  /** True while the attachment's pod has a sync (re-apply) waiting or running. */
  busy(a: A): boolean;
  /** Applies the current value again like an edit; resolves true when that run succeeded. */
  heal(a: A, differences: readonly EffectDifference[]): Promise<boolean>;
  /** A drift reported (report mode: a new or changed set of differences) or healed (heal mode). */
  onDrift(a: A, differences: readonly EffectDifference[], action: "reported" | "healed"): void;
  /** A reported drift is over: the effect holds again, or a re-apply replaced it, or the attachment is gone. */
  onClear(a: A, why: "holds" | "reapplied" | "gone"): void;
  /** Counts every check. */
  onCheck?(result: CheckResult): void;
  /** Diagnostics. */
  log(level: "info" | "warn" | "error", msg: string): void;
}

/** Options of {@link DriftChecker}. */
export interface DriftCheckerOptions {
  /** `--drift-check-seconds`, in milliseconds (> 0). */
  intervalMs: number;
  /** Checks at once (default 2). */
  parallel?: number;
  clock?: SweepClock;
}

/**
 * True when chainsaw owns something in `a`, its `drift` key asks for checks, and its netns is one the daemon
 * enters (never a `/proc/PID` path: the PID may name another process by now).
 */
export function checked(a: DriftAttachment): boolean {
  return a.mode === "declarative" && a.drift !== "off" && (a.effect?.items.length ?? 0) > 0 &&
    !isProcNetns(a.netns);
}

/** The checker; see the module documentation. */
export class DriftChecker<A extends DriftAttachment = DriftAttachment> {
  readonly #deps: DriftCheckerDeps<A>;
  readonly #sweep: PeriodicSweep;
  /** Drifted attachments (report mode), with the keys of their differing objects as last told. */
  readonly #drifted = new Map<string, { a: A; told: string }>();
  /** Attachments whose netns could not be observed at their last check (logged once per streak). */
  readonly #failing = new Set<string>();
  /** Checks skipped because the pod's sync ran, or the previous check still ran. */
  readonly skipped: Record<SkipReason, number> = { busy: 0, running: 0 };

  constructor(deps: DriftCheckerDeps<A>, opts: DriftCheckerOptions) {
    this.#deps = deps;
    this.#sweep = new PeriodicSweep({
      intervalMs: opts.intervalMs,
      parallel: opts.parallel ?? 2,
      clock: opts.clock,
      keys: () => this.#keys(),
      visit: async (key, signal) => void await this.check(key, signal),
      busy: (key) => {
        const a = this.#find(key);
        return a !== undefined && this.#deps.busy(a);
      },
      onSkip: (_key, why) => this.skipped[why]++,
      onError: (key, e) =>
        this.#deps.log("error", `drift check of ${key.replace("\u0000", " ")}: ${errorText(e)}`),
    });
  }

  /** Attachments currently drifted (report mode). */
  get drifted(): number {
    return this.#drifted.size;
  }

  /** Starts the periodic checks. */
  start(): void {
    this.#sweep.start();
  }

  /** Stops them; resolves once the checks in flight have finished. */
  stop(): Promise<void> {
    return this.#sweep.stop();
  }

  #keys(): string[] {
    const keys = this.#deps.attachments().filter(checked).map(driftKey);
    // Drifted attachments that are gone or no longer checked are cleared in their round.
    for (const [k, d] of this.#drifted) if (!keys.includes(k)) this.#clear(k, d.a, "gone");
    return keys.sort();
  }

  #find(key: string): A | undefined {
    return this.#deps.attachments().find((a) => driftKey(a) === key);
  }

  #clear(key: string, a: A, why: "holds" | "reapplied" | "gone"): void {
    if (!this.#drifted.delete(key)) return;
    this.#deps.onClear(a, why);
  }

  /**
   * A re-apply of the attachment ran (an edit, a deletion, or a heal): a reported drift is over; the next check
   * looks at the new effect.
   *
   * @param containerId the attachment's container
   * @param ifname its interface
   */
  onReapplied(containerId: string, ifname: string): void {
    const key = driftKey({ containerId, ifname });
    const d = this.#drifted.get(key);
    if (d) this.#clear(key, d.a, "reapplied");
  }

  /**
   * The attachment left the store (DEL, GC, its netns or pod gone): a reported drift of it is over at once.
   *
   * @param containerId the attachment's container
   * @param ifname its interface
   */
  onRemoved(containerId: string, ifname: string): void {
    const key = driftKey({ containerId, ifname });
    this.#failing.delete(key);
    const d = this.#drifted.get(key);
    if (d) this.#clear(key, d.a, "gone");
  }

  /**
   * Checks one attachment now (the sweep's visit; tests call it directly).
   *
   * @param key the attachment ({@link driftKey})
   * @param signal aborted at shutdown
   * @returns how the check ended
   */
  async check(key: string, signal: AbortSignal = new AbortController().signal): Promise<CheckResult> {
    const result = await this.#check(key, signal);
    this.#deps.onCheck?.(result);
    return result;
  }

  async #check(key: string, signal: AbortSignal): Promise<CheckResult> {
    const a = this.#find(key);
    if (!a || !checked(a)) {
      const d = this.#drifted.get(key);
      if (d) this.#clear(key, d.a, "gone");
      return "unowned";
    }
    const outcome = await effectDifferencesUnraced(a, {
      find: () => this.#find(key),
      busy: (x) => this.#deps.busy(x),
      observe: (x) => this.#deps.observe(x, signal),
    });
    if (outcome.kind === "raced") return "raced";
    if (outcome.kind === "error") {
      // Once per streak: a netns that went away stays so until its DEL, GC or a sync forgets the attachment.
      if (!this.#failing.has(key)) {
        this.#failing.add(key);
        this.#deps.log(
          "warn",
          `drift check of pod ${a.namespace}/${a.name} ${a.ifname}: ${
            errorText(outcome.error)
          } (not said again ` +
            "until a check succeeds)",
        );
      }
      return "error";
    }
    this.#failing.delete(key);
    const diffs = outcome.differences;
    if (diffs.length === 0) {
      this.#clear(key, a, "holds");
      return "holds";
    }
    if (a.drift === "heal") {
      this.#drifted.delete(key);
      if (await this.#deps.heal(a, diffs)) this.#deps.onDrift(a, diffs, "healed");
      return "drifted";
    }
    const told = diffs.map((d) => d.key).join("\n");
    if (this.#drifted.get(key)?.told !== told) {
      this.#drifted.set(key, { a, told });
      this.#deps.onDrift(a, diffs, "reported");
    }
    return "drifted";
  }
}
