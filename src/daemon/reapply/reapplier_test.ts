import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import type { Pod } from "../../kube/client.ts";
import { type CachedPod, PodCache } from "../pods/pod_cache.ts";
import type { Report } from "../../report/report.ts";
import { sampleReport } from "../../../tests/daemon_fixtures.ts";
import type { AttachmentRegistration } from "../../wire/attachment.ts";
import { AttachmentStore } from "../attachments/attachment_store.ts";
import type { NetnsState } from "../../exec/netns_state.ts";
import type { ReapplyStep } from "./plan.ts";
import type { AttachmentName } from "../../annotation/resolve.ts";
import { Reapplier } from "./reapplier.ts";

function pod(annotation: string | undefined, over: Partial<Pod["metadata"]> = {}): Pod {
  return {
    metadata: {
      namespace: "default",
      name: "p1",
      uid: "uid-1",
      resourceVersion: "1",
      annotations: annotation === undefined ? {} : { [ANNOTATION]: annotation },
      ...over,
    },
    status: { phase: "Running" },
  };
}

/** A re-apply's report (what `execute` returns). */
function report(over: Partial<Report> = {}): Report {
  return sampleReport({
    netns: "/var/run/netns/cs-1",
    network: "net-a",
    source: "daemon",
    annotation: '["ip route"]',
    commands: [],
    ...over,
  });
}

/**
 * An ADD's registration (src/exec/add.ts): `applied` is the value the ADD found; absent (`applied: undefined`)
 * when the ADD could not settle it (a failed lookup, an erred run).
 */
function add(over: Partial<AttachmentRegistration> = {}): AttachmentRegistration {
  return {
    containerId: "ctr-1",
    netns: "/var/run/netns/cs-1",
    ifname: "net1",
    network: "net-a",
    pod: { namespace: "default", name: "p1", uid: "uid-1" },
    podInterfaces: ["eth0", "net1"],
    onError: "fail",
    applied: '["ip route"]',
    ...over,
  };
}

interface Harness {
  cache: PodCache;
  store: AttachmentStore;
  reapplier: Reapplier;
  runs: Array<{ value: string; netns: string; ifname: string; commands: string[] }>;
  /** Per run: the interfaces of every attachment of the pod, as `execute` got them. */
  podAttachments: string[][];
  accepted: Report[];
  logs: string[];
  pruned: string[];
  netns: Map<string, NetnsState>;
  dir: string;
  abort: AbortController;
  slow: { ms: number };
  /** How many `execute` calls have begun (before their `slow` delay). */
  started: { n: number };
}

async function harness(dir?: string): Promise<Harness> {
  dir ??= await Deno.makeTempDir();
  const cache = new PodCache();
  const store = await AttachmentStore.load(`${dir}/attachments.json`);
  const runs: Harness["runs"] = [];
  const podAttachments: string[][] = [];
  const accepted: Report[] = [];
  const logs: string[] = [];
  const pruned: string[] = [];
  const netns = new Map<string, NetnsState>();
  const abort = new AbortController();
  const slow = { ms: 0 };
  const started = { n: 0 };
  const reapplier = new Reapplier({
    store,
    cache,
    execute: async (step: ReapplyStep, p: CachedPod, all: readonly AttachmentName[]) => {
      started.n++;
      if (slow.ms) await new Promise((r) => setTimeout(r, slow.ms));
      const commands = "commands" in step ? step.commands : [];
      runs.push({
        value: step.value,
        netns: step.attachment.netns,
        ifname: step.attachment.ifname,
        commands,
      });
      podAttachments.push(all.map((a) => a.ifname).sort());
      return {
        report: report({
          verb: "REAPPLY",
          pod: { namespace: p.namespace, name: p.name, uid: p.uid },
          annotation: step.value,
        }),
      };
    },
    warn: (a, p, value, warnings) =>
      report({
        verb: "REAPPLY",
        ifname: a.ifname,
        pod: { namespace: p.namespace, name: p.name, uid: p.uid },
        annotation: value,
        verdict: "nothing",
        warnings: [...warnings],
      }),
    accept: (r) => void accepted.push(r),
    netnsState: (path) => Promise.resolve(netns.get(path) ?? "present"),
    log: (level, msg) => void logs.push(`${level}: ${msg}`),
    onPruned: (reason, n) => void pruned.push(`${reason}:${n}`),
    signal: abort.signal,
  });
  cache.onAnnotationChange((p, old) => reapplier.onAnnotationChange(p, old));
  cache.onDelete((p) => reapplier.onPodGone(p));
  return {
    cache,
    store,
    reapplier,
    runs,
    podAttachments,
    accepted,
    logs,
    pruned,
    netns,
    dir,
    abort,
    slow,
    started,
  };
}

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await harness();
  try {
    await fn(h);
  } finally {
    await h.reapplier.idle(5000);
    await Deno.remove(h.dir, { recursive: true });
  }
}

Deno.test("reapplier: a changed annotation runs once per attachment and is remembered; the same value again runs nothing", async () => {
  await withHarness(async (h) => {
    h.cache.replace([pod('["ip route"]')]);
    h.reapplier.onRegister(add());
    h.reapplier.onRegister(add({ containerId: "ctr-1", ifname: "net2", network: "net-b" }));
    h.cache.apply("MODIFIED", pod('["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]'));
    await h.reapplier.idle();
    assertEquals(h.runs.map((r) => r.ifname).sort(), ["net1", "net2"]);
    assertEquals(h.accepted.map((r) => r.verb), ["REAPPLY", "REAPPLY"]);
    assertEquals(h.store.all().map((a) => a.applied), [
      '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]',
      '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]',
    ]);
    h.cache.apply(
      "MODIFIED",
      pod('["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]', { resourceVersion: "2" }),
    );
    h.cache.apply("MODIFIED", pod(undefined, { resourceVersion: "3" }));
    await h.reapplier.idle();
    assertEquals(h.runs.length, 2, "no run for the same value, none for a deleted annotation");
    const saved = await AttachmentStore.load(h.store.path);
    assertEquals(saved.all().map((a) => a.applied), h.store.all().map((a) => a.applied));
  });
});

Deno.test("reapplier: the object form picks each attachment's network; unchanged entries do not run", async () => {
  await withHarness(async (h) => {
    const v1 = '{"net-a": ["ip route"], "*": ["ip addr"]}';
    h.cache.replace([pod(v1)]);
    h.reapplier.onRegister(add({ applied: v1 }));
    h.reapplier.onRegister(add({ ifname: "net2", network: "net-b", applied: v1 }));
    h.cache.apply("MODIFIED", pod('{"net-a": ["ip -4 route"], "*": ["ip addr"]}'));
    await h.reapplier.idle();
    assertEquals(h.runs, [{
      value: '{"net-a": ["ip -4 route"], "*": ["ip addr"]}',
      netns: "/var/run/netns/cs-1",
      ifname: "net1",
      commands: ["ip -4 route"],
    }]);
  });
});

Deno.test("reapplier: a burst of edits during a run coalesces into one more run with the latest value", async () => {
  await withHarness(async (h) => {
    h.slow.ms = 100;
    h.cache.replace([pod("ip route")]);
    h.reapplier.onRegister(add({ applied: "ip route" }));
    h.cache.apply("MODIFIED", pod("ip addr"));
    // Poll until the run of "ip addr" has begun (it then lasts `slow.ms`), never sleep and hope.
    for (let i = 0; i < 10_000 && h.started.n === 0; i++) await settle();
    assertEquals(h.started.n, 1, "the run of 'ip addr' never began");
    for (const v of ["ip link", "ip neigh", "ip -6 route"]) h.cache.apply("MODIFIED", pod(v));
    await h.reapplier.idle();
    assertEquals(h.runs.map((r) => r.value), ["ip addr", "ip -6 route"]);
  });
});

Deno.test("reapplier: an ADD that read an older value than the cache has is caught up at once", async () => {
  await withHarness(async (h) => {
    h.cache.replace([pod("ip addr")]);
    h.reapplier.onRegister(add({ applied: "ip route" }));
    await h.reapplier.idle();
    assertEquals(h.runs.map((r) => r.value), ["ip addr"]);
    h.reapplier.onRegister(add({ containerId: "ctr-2", applied: "ip addr" }));
    await h.reapplier.idle();
    assertEquals(h.runs.length, 1);
  });
});

Deno.test("reapplier: DEL forgets; a gone netns is forgotten without a run; /proc paths are not re-applied", async () => {
  await withHarness(async (h) => {
    h.cache.replace([pod("ip route")]);
    h.reapplier.onRegister(add({ applied: "ip route" }));
    h.reapplier.onRegister(add({ containerId: "ctr-2", netns: "/var/run/netns/gone", applied: "ip route" }));
    h.reapplier.onRegister(add({ containerId: "ctr-3", netns: "/proc/42/ns/net", applied: "ip route" }));
    assertEquals(h.reapplier.onForget({ containerId: "ctr-1", ifname: "net1" }), 1);
    assertEquals(h.store.size, 2);
    h.netns.set("/var/run/netns/gone", "gone");
    h.cache.apply("MODIFIED", pod("ip addr"));
    await h.reapplier.idle();
    assertEquals(h.runs.length, 0);
    assertEquals(h.pruned, ["netns_gone:1"]);
    assertEquals(h.store.all().map((a) => a.containerId), ["ctr-3"]);
    assertStringIncludes(h.logs.join("\n"), "is a /proc path");
    h.cache.apply("MODIFIED", pod("ip link"));
    await h.reapplier.idle();
    assertEquals([h.runs.length, h.pruned.length], [0, 1], "no error storm: nothing left to try");
  });
});

Deno.test("reapplier: after a restart, orphans are forgotten and a change made while down runs once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await harness(dir);
    first.cache.replace([pod("ip route"), pod("ip route", { name: "p2", uid: "uid-2" })]);
    first.reapplier.onRegister(add({ applied: "ip route" }));
    first.reapplier.onRegister(
      add({
        containerId: "ctr-2",
        pod: { namespace: "default", name: "p2", uid: "uid-2" },
        applied: "ip route",
      }),
    );
    await first.reapplier.save();
    first.abort.abort();

    const second = await harness(dir);
    const loaded = second.store.all();
    assertEquals(loaded.length, 2);
    second.cache.replace([pod("ip addr")]); // p1 changed while down, p2 is gone
    second.reapplier.afterFirstList(loaded);
    await second.reapplier.idle();
    assertEquals(second.runs.map((r) => r.value), ["ip addr"]);
    assertEquals(second.pruned, ["pod_gone:1"]);
    assertEquals(second.store.all().map((a) => [a.containerId, a.applied]), [["ctr-1", "ip addr"]]);

    const third = await harness(dir);
    third.cache.replace([pod("ip addr")]);
    third.reapplier.afterFirstList(third.store.all());
    await third.reapplier.idle();
    assertEquals(third.runs.length, 0, "exactly once across restarts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reapplier: a pod leaving the node takes its attachments; an ADD whose lookup failed is not re-run blindly", async () => {
  await withHarness(async (h) => {
    h.cache.replace([pod("ip route")]);
    h.reapplier.onRegister(add({ applied: undefined })); // its lookup failed: the value is unknown
    assertEquals(h.store.all()[0].applied, undefined);
    h.reapplier.afterFirstList(h.store.all());
    await h.reapplier.idle();
    assertEquals(h.runs.length, 0, "unknown baseline: only a change with its old value runs");
    h.cache.apply("MODIFIED", pod("ip addr"));
    await h.reapplier.idle();
    assertEquals(h.runs.map((r) => r.value), ["ip addr"]);
    h.cache.apply("DELETED", pod("ip addr"));
    assertEquals([h.store.size, h.pruned], [0, ["pod_gone:1"]]);
  });
});

Deno.test("reapplier: nothing new starts once stopped", async () => {
  await withHarness(async (h) => {
    h.cache.replace([pod("ip route")]);
    h.reapplier.onRegister(add({ applied: "ip route" }));
    h.abort.abort();
    h.cache.apply("MODIFIED", pod("ip addr"));
    await h.reapplier.idle();
    assertEquals(h.runs.length, 0);
  });
});

/** A promise the test opens by hand, and a count of who waits on it. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => open = r);
  return { p, open };
}

/** Lets every ready promise run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** A reapplier whose re-apply runs wait on gates the test opens; it logs every start and end. */
async function gatedReapplier() {
  const dir = await Deno.makeTempDir();
  const cache = new PodCache();
  const store = await AttachmentStore.load(`${dir}/attachments.json`);
  const trace: string[] = [];
  const gates: Array<ReturnType<typeof gate>> = [];
  const abort = new AbortController();
  const reapplier = new Reapplier({
    store,
    cache,
    execute: async (step: ReapplyStep, p: CachedPod) => {
      trace.push(`reapply ${step.value} start`);
      const g = gate();
      gates.push(g);
      await g.p;
      trace.push(`reapply ${step.value} end`);
      return {
        report: report({ verb: "REAPPLY", pod: { namespace: p.namespace, name: p.name, uid: p.uid } }),
      };
    },
    accept: () => {},
    netnsState: () => Promise.resolve("present"),
    log: () => {},
    signal: abort.signal,
  });
  cache.onAnnotationChange((p, old) => reapplier.onAnnotationChange(p, old));
  cache.replace([pod("v1")]);
  reapplier.onRegister(add({ applied: "v1" }));
  const ref = { namespace: "default", name: "p1", uid: "uid-1" };
  const heal = (label: string, result = true) =>
    reapplier.heal(ref, "ctr-1", "net1", async (a) => {
      trace.push(`heal ${label} start (applied ${a.applied})`);
      const g = gate();
      gates.push(g);
      await g.p;
      trace.push(`heal ${label} end`);
      return result;
    });
  /** Opens each gate as it appears until `done` (a sync also writes the state file: that takes real I/O). */
  const openUntil = async (what: string, done: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${trace.join(" / ")}`);
      gates.shift()?.open();
      await settle();
    }
  };
  /** Waits, opening no gate, until `done` (what the test does next depends on it having happened). */
  const waitFor = async (what: string, done: () => boolean) => {
    const end = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${trace.join(" / ")}`);
      await settle();
    }
  };
  /** Resolves a promise's value with a flag saying when it settled. */
  const track = <T>(p: Promise<T>) => {
    const t = { done: false, p };
    void p.finally(() => t.done = true);
    return t;
  };
  return { dir, cache, store, reapplier, trace, gates, abort, heal, openUntil, waitFor, track };
}

Deno.test("reapplier: a heal runs in the pod's turn; an edit waiting with it goes first and the heal is dropped", async () => {
  const r = await gatedReapplier();
  try {
    // Alone: the heal runs with the attachment as stored.
    const alone = r.track(r.heal("h1"));
    await r.openUntil("heal h1", () => alone.done);
    assertEquals(await alone.p, true);
    // An edit runs; a heal asked meanwhile waits; a second edit arrives: it runs first, and replaces the heal.
    r.cache.apply("MODIFIED", pod("v2"));
    await r.waitFor("the v2 edit to start", () => r.trace.includes("reapply v2 start"));
    const dropped = r.track(r.heal("h2"));
    r.cache.apply("MODIFIED", pod("v3"));
    await settle();
    await r.openUntil("the v3 edit and the heal", () => dropped.done);
    assertEquals(await dropped.p, false, "the edit replaced the effect: nothing to heal");
    assertEquals(r.store.all()[0].applied, "v3");
    assertEquals(r.trace, [
      "heal h1 start (applied v1)",
      "heal h1 end",
      "reapply v2 start",
      "reapply v2 end",
      "reapply v3 start",
      "reapply v3 end",
    ]);
  } finally {
    await r.reapplier.idle(5000);
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("reapplier: an edit during a heal waits for it, then applies the current value (no lost update); shutdown ends waiting heals", async () => {
  const r = await gatedReapplier();
  try {
    const healing = r.track(r.heal("h1"));
    await r.waitFor("the heal to start", () => r.trace.includes("heal h1 start (applied v1)"));
    r.cache.apply("MODIFIED", pod("v2")); // arrives while the heal runs
    await settle();
    assertEquals(r.trace, ["heal h1 start (applied v1)"], "the edit does not run beside the heal");
    await r.openUntil("the heal, then the v2 edit", () => healing.done && r.trace.includes("reapply v2 end"));
    assertEquals(await healing.p, true);
    assertEquals(r.trace, [
      "heal h1 start (applied v1)",
      "heal h1 end",
      "reapply v2 start",
      "reapply v2 end",
    ]);
    assertEquals(r.store.all()[0].applied, "v2");
    // A heal waiting behind a sync when the daemon shuts down resolves false. The v2 sync may still be writing
    // the state file (real I/O): the v3 edit waits behind it, so the heal is asked once v3 runs, not before.
    r.cache.apply("MODIFIED", pod("v3"));
    await r.waitFor("the v3 edit to start", () => r.trace.includes("reapply v3 start"));
    const waiting = r.heal("h2");
    r.abort.abort();
    assertEquals(await waiting, false);
    await r.openUntil("the v3 edit", () => r.trace.includes("reapply v3 end"));
    assertEquals(await r.heal("h3"), false, "after shutdown nothing is queued");
  } finally {
    await r.reapplier.idle(5000);
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("reapplier: steps get all the pod's attachments; an edit that runs nothing but has a key naming none is reported once", async () => {
  await withHarness(async (h) => {
    const v1 = '{"net1": "ip route"}';
    h.cache.replace([pod(v1)]);
    h.reapplier.onRegister(add({ applied: v1 }));
    h.reapplier.onRegister(add({ ifname: "net2", network: "net-b", applied: v1 }));
    // net2's entry gets a typo: nothing changes for net1 or net2, but the key is reported.
    const typo = '{"net1": "ip route", "nett2": "ip addr"}';
    h.cache.apply("MODIFIED", pod(typo, { resourceVersion: "2" }));
    await h.reapplier.idle();
    assertEquals(h.runs, []);
    assertEquals(h.accepted.length, 1);
    assertEquals(h.accepted[0].verdict, "nothing");
    assertStringIncludes(
      h.accepted[0].warnings?.[0] ?? "",
      'key "nett2" of the chainsaw annotation matches none',
    );
    assertStringIncludes(h.accepted[0].warnings?.[0] ?? "", "net1 (chain net-a), net2 (chain net-b)");
    // Said once per value: the same value again (a resync) says nothing more.
    h.reapplier.schedule({ namespace: "default", name: "p1", uid: "uid-1" });
    await h.reapplier.idle();
    assertEquals(h.accepted.length, 1);
    // A change that runs: the step knows every attachment of the pod (its report's warnings come from them).
    h.cache.apply("MODIFIED", pod('{"net1": "ip addr", "nett2": "ip addr"}', { resourceVersion: "3" }));
    await h.reapplier.idle();
    assertEquals(h.runs.map((r) => r.ifname), ["net1"]);
    assertEquals(h.podAttachments, [["net1", "net2"]]);
  });
});
