/**
 * The daemon's attachment store: which pod interfaces chainsaw set up (from registrations after ADD), so that
 * a later change of the pod's annotation can be re-applied in the same network namespaces. Kept in a small
 * JSON state file (default {@link DEFAULT_ATTACHMENTS_PATH}) written atomically, so it survives daemon
 * restarts.
 *
 * Mutations are in memory; call {@link AttachmentStore.save} after them (saves are serialised).
 * @module
 */
import { errorText } from "../../text/error_text.ts";
import { DEFAULT_ATTACHMENTS_PATH } from "../../host_paths.ts";
import { describeZodIssue } from "../../text/zod_issue.ts";
import * as z from "zod/mini";
import { netnsPathProblem, normalizeNetnsPath } from "../../cni/netns_path.ts";
import { netnsState } from "../../exec/netns_state.ts";
import { atomicWriteFile, dirOf, removeStaleTemps } from "../../host/atomic_file.ts";
import type { AttachmentName } from "../../annotation/resolve.ts";
import type { AttachmentRegistration } from "../../wire/attachment.ts";
import { DRIFT_MODES, type DriftMode, ON_ERROR_MODES, type OnError } from "../../wire/chain_conf.ts";
import { type Effect, type EffectItem, EffectSchema, type Mode, MODES } from "../../wire/effect.ts";
import type { NetnsSnapshot } from "../../exec/netns_snapshot.ts";

/** Where the daemon keeps its attachments. */
export { DEFAULT_ATTACHMENTS_PATH };

/** The state file's format version. */
export const ATTACHMENTS_FILE_VERSION = 1;

/** One pod interface chainsaw ran (or may run) commands for. */
export interface Attachment {
  containerId: string;
  /** Network namespace path, e.g. `/var/run/netns/cni-…` or `/proc/PID/ns/net`. */
  netns: string;
  /** The pod-side interface (`CNI_IFNAME`), substituted for `CURRENT_INTERFACE`. */
  ifname: string;
  /** The network (chain config) name; with `ifname` and `nad`, it picks the entry of an object-form annotation. */
  network: string;
  /** The NetworkAttachmentDefinition (`namespace/name`) Multus set it up for, read at ADD; absent: none. */
  nad?: string;
  /** Empty when the runtime did not pass `K8S_POD_UID`. */
  podUid: string;
  namespace: string;
  name: string;
  /**
   * The annotation value last run (or found at ADD) for this attachment, whatever its outcome; `""` when the
   * pod had none; absent when unknown. Re-apply runs once per distinct value.
   */
  applied?: string;
  /** The pod's interfaces at ADD (`@pod` in policy rules); absent when the plugin did not say. */
  podInterfaces?: string[];
  /** The chain config's `policy` value at ADD (it narrows the node policy); absent when it had none. */
  chainPolicy?: unknown;
  /** The chain config's `onError` mode at ADD; absent means "fail". */
  onError?: OnError;
  /** The chain config's `ipPath` / `nsenterPath` at ADD; absent: the first installed candidate. */
  ipPath?: string;
  nsenterPath?: string;
  /** The chain config's `mode` at ADD; absent means "imperative" (attachments saved before the key existed). */
  mode?: Mode;
  /** The chain config's `drift` at ADD (what a drift check does); absent means "report". */
  drift?: DriftMode;
  /**
   * Declarative mode: what the `applied` value's list changed in the netns, each object with its baseline value
   * (absent or empty: chainsaw owns nothing there). Saved with the attachment, so a restart or `kill -9` between
   * two edits still lets the second take back the first.
   */
  effect?: Effect;
  /**
   * Declarative mode, written before a re-apply first changes the netns and dropped with the outcome
   * (`markApplied`): the value being applied and the netns right before. Found on load, the daemon died in
   * between — the netns may hold part or all of the new value, which `effect` does not know: the netns is put
   * back to `before` and the value applied again.
   */
  pending?: PendingEdit;
}

/** A re-apply in flight (see {@link Attachment.pending}). */
export interface PendingEdit {
  value: string;
  /** A full snapshot of the netns before the edit changed anything (`NetnsSnapshot`). */
  before: NetnsSnapshot;
}

/**
 * A stored attachment as the annotation's keys name it (interface, NAD, chain), for `resolveCommands`.
 *
 * @param a the stored attachment
 * @returns its name
 */
export function attachmentNameOf(a: Attachment): AttachmentName {
  const name: AttachmentName = { ifname: a.ifname, network: a.network, podNamespace: a.namespace };
  if (a.nad !== undefined) name.nad = a.nad;
  return name;
}

const AttachmentSchema = z.object({
  containerId: z.string(),
  netns: z.string(),
  ifname: z.string(),
  network: z.string(),
  nad: z.optional(z.string()),
  podUid: z.string(),
  namespace: z.string(),
  name: z.string(),
  applied: z.optional(z.string()),
  podInterfaces: z.optional(z.array(z.string())),
  chainPolicy: z.optional(z.unknown()),
  onError: z.optional(z.enum(ON_ERROR_MODES)),
  ipPath: z.optional(z.string()),
  nsenterPath: z.optional(z.string()),
  mode: z.optional(z.enum(MODES)),
  drift: z.optional(z.enum(DRIFT_MODES)),
  effect: z.optional(EffectSchema),
  pending: z.optional(z.object({
    value: z.string(),
    before: z.object({
      netns: z.string(),
      links: z.array(z.record(z.string(), z.unknown())),
      addresses: z.array(z.record(z.string(), z.unknown())),
      routes: z.array(z.record(z.string(), z.unknown())),
      rules: z.array(z.record(z.string(), z.unknown())),
      neighbours: z.array(z.record(z.string(), z.unknown())),
      tentative: z.array(z.string()),
    }),
  })),
});

// Each attachment is checked on its own: one that cannot be read is dropped (logged), never all of the node's.
const FileSchema = z.object({
  version: z.literal(ATTACHMENTS_FILE_VERSION),
  attachments: z.array(z.unknown()),
});

/** Options of {@link AttachmentStore.load}. */
export interface AttachmentStoreOptions {
  /** Diagnostics (a corrupt file is reported here). */
  log?(msg: string): void;
}

/**
 * The key of one attachment (container id and interface), unique in the store; the drift checker, the re-apply
 * and the pod condition writer key their own maps by it.
 *
 * @param containerId the container id
 * @param ifname the interface
 */
export const attachmentKey = (containerId: string, ifname: string): string => `${containerId}\u0000${ifname}`;

/** "ns/name ifname (container id)" for log lines; the strings are quoted when they are not plain. */
function describe(a: { namespace: string; name: string; ifname: string; containerId: string }): string {
  const q = (v: string) => /^[\w.\-]*$/.test(v) ? v : JSON.stringify(v);
  return `${q(a.namespace)}/${q(a.name)} ${q(a.ifname)} (container ${q(a.containerId)})`;
}

/** The attachments, keyed by container id and interface name. */
export class AttachmentStore {
  /** The state file. */
  readonly path: string;
  readonly #items = new Map<string, Attachment>();
  readonly #log: (msg: string) => void;
  readonly #removed: ((a: Attachment) => void)[] = [];
  #saving: Promise<void> = Promise.resolve();
  /** The save that waits for the running one and has not read the store yet. */
  #queued: Promise<void> | undefined;

  /** An empty store for `path` (use {@link AttachmentStore.load} to read the file). */
  constructor(path: string = DEFAULT_ATTACHMENTS_PATH, opts: AttachmentStoreOptions = {}) {
    this.path = path;
    this.#log = opts.log ?? (() => {});
  }

  /**
   * Reads the store from `path`. A missing file is an empty store; an unreadable, corrupt or unknown-version
   * file is logged and treated as empty (the next save replaces it); an attachment that is not valid is logged
   * and dropped, the others kept. Never throws for the file's content.
   * Temporary files of writes a kill interrupted are removed ({@link removeStaleTemps}).
   */
  static async load(
    path: string = DEFAULT_ATTACHMENTS_PATH,
    opts: AttachmentStoreOptions = {},
  ): Promise<AttachmentStore> {
    const store = new AttachmentStore(path, opts);
    const stale = await removeStaleTemps(path);
    if (stale > 0) {
      store.#log(`attachments: removed ${stale} temporary file(s) of interrupted writes of ${path}`);
    }
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        store.#log(`attachments: cannot read ${path}: ${errorText(e)}; starting empty`);
      }
      return store;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      store.#log(`attachments: ${path} is not valid JSON (${errorText(e)}); starting empty`);
      return store;
    }
    const r = FileSchema.safeParse(data);
    if (!r.success) {
      store.#log(
        `attachments: ${path} is not a version ${ATTACHMENTS_FILE_VERSION} state file (${
          describeZodIssue(r.error)
        }); starting empty`,
      );
      return store;
    }
    for (const [i, raw] of r.data.attachments.entries()) {
      const parsed = AttachmentSchema.safeParse(raw);
      if (!parsed.success) {
        store.#log(
          `attachments: ${path}: dropped an attachment that is not valid (${
            describeZodIssue(parsed.error, `attachments[${i}]`)
          }); the others are kept`,
        );
        continue;
      }
      const a = parsed.data;
      const problem = netnsPathProblem(a.netns);
      if (problem !== undefined) {
        store.#log(
          `attachments: ${path}: dropped ${describe(a)}: its netns ${JSON.stringify(a.netns)} ${problem}`,
        );
        continue;
      }
      store.#items.set(attachmentKey(a.containerId, a.ifname), { ...a, netns: normalizeNetnsPath(a.netns) });
    }
    return store;
  }

  /** Number of attachments. */
  get size(): number {
    return this.#items.size;
  }

  /** Copies of all attachments. */
  all(): Attachment[] {
    return [...this.#items.values()].map((a) => ({ ...a }));
  }

  /**
   * A copy of the attachment with this container id and interface, if any.
   *
   * @param containerId the container id
   * @param ifname the interface
   */
  get(containerId: string, ifname: string): Attachment | undefined {
    const a = this.#items.get(attachmentKey(containerId, ifname));
    return a ? { ...a } : undefined;
  }

  /**
   * Records a registration (replacing the attachment with the same container id and interface); returns the
   * attachment, or undefined when it was refused. The chain's policy, `onError`, `ipPath`/`nsenterPath` and the
   * pod's interfaces are kept, so a re-apply evaluates and runs like the ADD did. The netns path is kept
   * normalised ({@link normalizeNetnsPath}); one that names (or may name) the daemon's own namespace
   * ({@link netnsPathProblem}: relative, `..`, `/proc/self/…`, the daemon's PID …) is not recorded (logged).
   */
  add(reg: AttachmentRegistration): Attachment | undefined {
    if (!reg.netns || !reg.containerId) return undefined;
    const problem = netnsPathProblem(reg.netns);
    if (problem !== undefined) {
      this.#log(
        `attachments: not recording ${
          describe({ ...reg.pod, ifname: reg.ifname, containerId: reg.containerId })
        }: its netns ${JSON.stringify(reg.netns)} ${problem}`,
      );
      return undefined;
    }
    const a: Attachment = {
      containerId: reg.containerId,
      netns: normalizeNetnsPath(reg.netns),
      ifname: reg.ifname,
      network: reg.network,
      podUid: reg.pod.uid,
      namespace: reg.pod.namespace,
      name: reg.pod.name,
      podInterfaces: [...reg.podInterfaces],
      onError: reg.onError,
    };
    if (reg.nad !== undefined) a.nad = reg.nad;
    if (reg.applied !== undefined) a.applied = reg.applied;
    if (reg.chainPolicy !== undefined) a.chainPolicy = reg.chainPolicy;
    if (reg.ipPath !== undefined) a.ipPath = reg.ipPath;
    if (reg.nsenterPath !== undefined) a.nsenterPath = reg.nsenterPath;
    if (reg.mode !== undefined) a.mode = reg.mode;
    if (reg.drift !== undefined) a.drift = reg.drift;
    if (reg.effect !== undefined && reg.effect.items.length > 0) a.effect = { items: reg.effect.items };
    this.#items.set(attachmentKey(a.containerId, a.ifname), a);
    return { ...a };
  }

  /**
   * Calls `listener` with each attachment that leaves the store, whatever removes it (DEL, GC, a gone netns or
   * pod), so state kept per attachment elsewhere (the pod condition's outcomes) leaves with it.
   */
  onRemove(listener: (a: Attachment) => void): void {
    this.#removed.push(listener);
  }

  #delete(k: string, a: Attachment): void {
    this.#items.delete(k);
    for (const l of this.#removed) l({ ...a });
  }

  /** Forgets the container's attachment on `ifname`, or all of its attachments; returns how many went. */
  remove(containerId: string, ifname?: string): number {
    if (ifname !== undefined) {
      const k = attachmentKey(containerId, ifname);
      const a = this.#items.get(k);
      if (a) this.#delete(k, a);
      return a ? 1 : 0;
    }
    let n = 0;
    for (const [k, a] of [...this.#items]) {
      if (a.containerId === containerId) {
        this.#delete(k, a);
        n++;
      }
    }
    return n;
  }

  /** Copies of the attachments of the pod with this UID. */
  forPod(uid: string): Attachment[] {
    if (!uid) return [];
    return [...this.#items.values()].filter((a) => a.podUid === uid).map((a) => ({ ...a }));
  }

  /** Copies of the attachments of the pod `namespace/name` (for runtimes that pass no pod UID). */
  forPodName(namespace: string, name: string): Attachment[] {
    return [...this.#items.values()].filter((a) => a.namespace === namespace && a.name === name).map((a) => ({
      ...a,
    }));
  }

  /**
   * Remembers that `value` was run (whatever the outcome) on this attachment and, in declarative mode, the effect
   * chainsaw owns there now (`[]`: nothing); the re-apply is no longer in flight. False when the attachment is
   * unknown.
   */
  markApplied(containerId: string, ifname: string, value: string, effect?: readonly EffectItem[]): boolean {
    const a = this.#items.get(attachmentKey(containerId, ifname));
    if (!a) return false;
    a.applied = value;
    delete a.pending;
    if (effect !== undefined) {
      if (effect.length > 0) a.effect = { items: [...effect] };
      else delete a.effect;
    }
    return true;
  }

  /**
   * Records (or, undefined, drops) the re-apply in flight on this attachment ({@link Attachment.pending}); save
   * the store before the netns changes. False when the attachment is unknown.
   */
  setPending(containerId: string, ifname: string, pending: PendingEdit | undefined): boolean {
    const a = this.#items.get(attachmentKey(containerId, ifname));
    if (!a) return false;
    if (pending) a.pending = pending;
    else delete a.pending;
    return true;
  }

  /** Drops attachments whose netns no longer exists (e.g. after a daemon restart); returns the dropped ones. */
  async pruneMissingNetns(
    exists: (path: string) => Promise<boolean> = async (p) => (await netnsState(p)) !== "gone",
  ): Promise<Attachment[]> {
    const gone: Attachment[] = [];
    for (const [k, a] of [...this.#items]) {
      if (!(await exists(a.netns))) {
        this.#delete(k, a);
        gone.push(a);
      }
    }
    return gone;
  }

  /**
   * The file content for the current attachments: one attachment per line. Every registration of an ADD that
   * owns something waits for a save, so this runs once per such ADD over the whole store; the indented form
   * (`JSON.stringify(…, null, 1)`, 1.6× the bytes) left the idle daemon ≈ 4.5 MiB larger after 110 attachments
   * registered one after another (docs/performance.md, "The state file's writes").
   */
  serialize(): string {
    const attachments = [...this.#items.values()].sort((a, b) =>
      a.containerId === b.containerId
        ? (a.ifname < b.ifname ? -1 : 1)
        : a.containerId < b.containerId
        ? -1
        : 1
    );
    const lines = attachments.map((a) => JSON.stringify(a));
    return `{"version":${JSON.stringify(ATTACHMENTS_FILE_VERSION)},"attachments":[` +
      (lines.length === 0 ? "]}\n" : `\n${lines.join(",\n")}\n]}\n`);
  }

  /** Writes the state file atomically (mode 0600); concurrent calls are serialised, the last one wins. */
  save(): Promise<void> {
    // A save waiting behind the running one has not read the store yet: it will write this change too, so a
    // burst of registrations (20 ADDs at once) is a few writes, not one per ADD, and nothing is lost.
    if (this.#queued) return this.#queued;
    const run = this.#saving.catch(() => {}).then(async () => {
      this.#queued = undefined;
      await Deno.mkdir(dirOf(this.path), { recursive: true, mode: 0o700 });
      // Atomic, without fsync: the file must outlive the daemon (kill -9, OOM, an upgrade), which the page cache
      // does; what it describes (attachments of live netns) does not outlive a power loss or a reboot, and a
      // write with its fsyncs took 1.5–11 ms here (median), on the ADD's answer (docs/performance.md, "The state
      // file's writes").
      await atomicWriteFile(this.path, new TextEncoder().encode(this.serialize()), 0o600, { durable: false });
    });
    this.#queued = run;
    this.#saving = run;
    return run;
  }
}
