// The re-apply's write-ahead record (declarative mode): written before a step first changes the netns, dropped
// with the outcome, and, found after a crash, the netns put back before the pod's value is applied again.
import { assert, assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { ANNOTATION } from "../../annotation/annotation.ts";
import type { Pod } from "../../kube/client.ts";
import { PodCache } from "../pods/pod_cache.ts";
import { sampleReport } from "../../../tests/daemon_fixtures.ts";
import { type Attachment, AttachmentStore } from "../attachments/attachment_store.ts";
import type { NetnsSnapshot } from "../../exec/netns_snapshot.ts";
import { Reapplier, type ReapplierDeps } from "./reapplier.ts";

const V1 = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]';
const V2 = '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]';
const SNAP: NetnsSnapshot = {
  netns: "/var/run/netns/cs-1",
  links: [{ ifindex: 1, ifname: "lo", mtu: 65536 }],
  addresses: [],
  routes: [],
  rules: [],
  neighbours: [],
  tentative: [],
};

function pod(annotation: string): Pod {
  return {
    metadata: {
      namespace: "default",
      name: "p1",
      uid: "uid-1",
      resourceVersion: "1",
      annotations: { [ANNOTATION]: annotation },
    },
    status: { phase: "Running" },
  };
}

async function withStore(fn: (store: AttachmentStore, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/attachments.json`;
    const store = await AttachmentStore.load(path);
    store.add({
      containerId: "ctr-1",
      netns: "/var/run/netns/cs-1",
      ifname: "net1",
      network: "net-a",
      pod: { namespace: "default", name: "p1", uid: "uid-1" },
      podInterfaces: ["net1"],
      onError: "rollback",
      mode: "declarative",
      applied: V1,
    });
    await store.save();
    await fn(store, path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function reapplier(
  store: AttachmentStore,
  cache: PodCache,
  over: Partial<ReapplierDeps>,
  logs: string[],
): Reapplier {
  return new Reapplier({
    store,
    cache,
    execute: () => Promise.resolve({ report: sampleReport({ verb: "REAPPLY" }) }),
    accept: () => {},
    netnsState: () => Promise.resolve("present"),
    log: (level, msg) => void logs.push(`${level}: ${msg}`),
    ...over,
  });
}

async function savedOne(path: string): Promise<Attachment> {
  return (await AttachmentStore.load(path)).all()[0];
}

Deno.test("reapplier journal: a declarative step's record is in the state file before the netns changes, gone after", async () => {
  await withStore(async (store, path) => {
    const cache = new PodCache();
    cache.replace([pod(V1)]);
    let during: Attachment | undefined;
    const logs: string[] = [];
    const r = reapplier(store, cache, {
      execute: async (_step, _pod, _all, beforeChange) => {
        assert(beforeChange, "a declarative step gets the write-ahead hook");
        await beforeChange(SNAP);
        during = await savedOne(path); // what a kill -9 from here on leaves
        return {
          report: sampleReport({ verb: "REAPPLY" }),
          effect: [{
            key: "route v4 main 198.51.100.0/24",
            kind: "route",
            base: [],
            set: [{ dst: "x" }],
            by: ["b"],
          }],
        };
      },
    }, logs);
    cache.onAnnotationChange((p, old) => r.onAnnotationChange(p, old));
    cache.apply("MODIFIED", pod(V2));
    await r.idle(5000);
    assertEquals(during?.applied, V1, "the outcome is not recorded yet");
    assertEquals(during?.pending?.value, V2);
    assertEquals(during?.pending?.before, SNAP);
    const after = await savedOne(path);
    assertEquals([after.applied, after.pending, after.effect?.items.length], [V2, undefined, 1]);
  });
});

Deno.test("reapplier journal: a record found after a crash puts the netns back first, then the value runs again", async () => {
  await withStore(async (store, path) => {
    store.setPending("ctr-1", "net1", { value: V2, before: SNAP });
    await store.save();
    const loaded = await AttachmentStore.load(path);
    const cache = new PodCache();
    cache.replace([pod(V2)]);
    const order: string[] = [];
    const logs: string[] = [];
    const r = reapplier(loaded, cache, {
      recover: (a) => {
        order.push(`recover ${a.pending?.value} ${a.pending?.before.netns}`);
        return Promise.resolve([]);
      },
      execute: (step) => {
        order.push(`execute ${step.value}`);
        return Promise.resolve({ report: sampleReport({ verb: "REAPPLY" }), effect: [] });
      },
    }, logs);
    r.afterFirstList(loaded.all());
    await r.idle(5000);
    assertEquals(order, [`recover ${V2} /var/run/netns/cs-1`, `execute ${V2}`]);
    assertStringIncludes(logs.join("\n"), "warn: pod default/p1 net1: the daemon stopped during a re-apply");
    const after = await savedOne(path);
    assertEquals([after.applied, after.pending], [V2, undefined]);
  });
});
