/**
 * All-or-nothing apply (`onError: "rollback"`, the default) end to end: a real chain (bridge + host-local, a gate
 * plugin, chainsaw; libcni) in a real netns, ADD run by the plugin itself and by the daemon, and a live re-apply.
 * The gate plugin stops the chain just before chainsaw so the test can snapshot the netns as chainsaw found it;
 * after the failed list the netns must be equal to that snapshot (`diffSnapshots`: routes of all tables in both
 * families, rules, addresses, links, permanent neighbours).
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import {
  BIN_DIR,
  bridgeConflist,
  Cleanup,
  createNetns,
  deleteLink,
  IP,
  type Netns,
  NSENTER,
  REFERENCE_PLUGIN_DIR,
  requireRoot,
  runChain,
  uniqueName,
} from "./support/netns.ts";
import { pathWithDeno, scopedTempDir } from "./support/plugin.ts";
import { ANNOTATION, POD_ARGS, runtimeAnnotations } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { type Daemon, healthGet, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import { diffSnapshots, type NetnsSnapshot, snapshotNetns } from "../src/exec/netns_snapshot.ts";
import { sampleValue } from "../src/daemon/metrics/metrics_registry.ts";

const BINS = { ipPath: IP, nsenterPath: NSENTER };
const NODE = "node-rb";

/** A CNI plugin that, on ADD, writes `ready` in its `gateDir` and waits for `go`, then passes prevResult on. */
const GATE = `#!/usr/bin/python3
import json, os, sys, time
conf = json.load(sys.stdin)
cmd = os.environ.get("CNI_COMMAND")
if cmd == "VERSION":
    print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}))
elif cmd == "ADD":
    d = conf["gateDir"]
    open(d + "/ready", "w").close()
    end = time.time() + 60
    while not os.path.exists(d + "/go") and time.time() < end:
        time.sleep(0.01)
    os.remove(d + "/ready")
    if os.path.exists(d + "/go"):
        os.remove(d + "/go")
    res = conf.get("prevResult") or {}
    res["cniVersion"] = conf["cniVersion"]
    print(json.dumps(res))
`;

/** The third command fails: the first two (a link attribute, an IPv6 route in table 100) must be undone. */
const FAILING = JSON.stringify([
  "ip link set dev CURRENT_INTERFACE mtu 1400",
  "ip -6 route add 2001:db8:1::/64 dev CURRENT_INTERFACE table 100",
  "ip route del 198.51.100.99/32 dev CURRENT_INTERFACE",
  "ip route add 192.0.2.0/24 dev CURRENT_INTERFACE",
]);

interface GatedChain {
  ns: Netns;
  cleanup: Cleanup;
  network: string;
  /** ADD through the gate: the snapshot taken while the chain waited just before chainsaw, and the result. */
  add(opts?: { cap?: Record<string, unknown>; env?: Record<string, string> }): Promise<{
    before: NetnsSnapshot;
    code: number;
    msg: string;
    stderr: string;
  }>;
  del(): Promise<number>;
}

async function gatedChain(tag: string, chainsaw: Record<string, unknown>): Promise<GatedChain> {
  const cleanup = new Cleanup();
  const ns = await createNetns(tag);
  cleanup.defer(() => ns.delete(), "netns");
  const bridge = uniqueName("csbr");
  cleanup.defer(() => deleteLink(bridge), "bridge");
  const dir = await scopedTempDir();
  cleanup.defer(() => dir.remove(), "scratch");
  await Deno.mkdir(`${dir.path}/plugins`);
  await Deno.mkdir(`${dir.path}/gate`);
  await Deno.writeTextFile(`${dir.path}/plugins/csgate`, GATE, { mode: 0o755 });
  const conflist = bridgeConflist({
    bridge,
    dataDir: `${dir.path}/ipam`,
    plugins: [{ type: "csgate", gateDir: `${dir.path}/gate` }, { type: "chainsaw", ...chainsaw }],
  });
  const id = uniqueName("ctr-", 8);
  const base = {
    conflist,
    netns: ns.path,
    id,
    args: POD_ARGS,
    cacheDir: `${dir.path}/cache`,
    path: [`${dir.path}/plugins`, BIN_DIR, REFERENCE_PLUGIN_DIR],
  };
  return {
    ns,
    cleanup,
    network: String(conflist.name),
    async add(opts = {}) {
      const running = runChain({
        ...base,
        cmd: "add",
        cap: opts.cap,
        env: { PATH: pathWithDeno(), ...opts.env },
      });
      let settled = false;
      running.finally(() => settled = true).catch(() => {});
      await waitFor("the chain to reach the gate", async () => {
        if (settled) throw new Error(`the chain ended before the gate: ${JSON.stringify(await running)}`);
        return await Deno.stat(`${dir.path}/gate/ready`).then(() => true, () => false);
      }, 30_000);
      const before = await snapshotNetns(ns.path, BINS);
      await Deno.writeTextFile(`${dir.path}/gate/go`, "");
      const r = await running;
      return { before, code: r.code, msg: String(r.json?.msg ?? ""), stderr: r.stderr };
    },
    async del() {
      return (await runChain({ ...base, cmd: "del", env: { PATH: pathWithDeno() } })).code;
    },
  };
}

async function assertUnchanged(ns: Netns, before: NetnsSnapshot): Promise<void> {
  const after = await snapshotNetns(ns.path, BINS);
  assertEquals(diffSnapshots(before, after), [], "the netns is as before the list");
  // And the way an operator would look: no mtu 1400, no table-100 route, no later route.
  const link = await ns.exec([IP, "-j", "link", "show", "eth0"]);
  assertEquals(JSON.parse(link.stdout)[0].mtu, 1500);
  const v6 = await ns.exec([IP, "-6", "route", "show", "table", "all"]);
  assert(!v6.stdout.includes("2001:db8:1::/64"), v6.stdout);
}

async function withNodePolicy(doc: unknown, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await scopedTempDir();
  try {
    await Deno.writeTextFile(`${dir.path}/policy.json`, JSON.stringify(doc));
    await body(dir.path);
  } finally {
    await dir.remove();
  }
}

const CAP = { capabilities: { "io.kubernetes.cri.pod-annotations": true } };

Deno.test({
  name:
    "rollback (default), plugin ADD in a real chain: the third command fails, the netns is as before the list",
  ...requireRoot(),
  async fn() {
    const c = await gatedChain("rbadd", CAP);
    try {
      const add = await c.add({ cap: runtimeAnnotations(FAILING) });
      assertEquals(add.code, 1, add.stderr);
      assertStringIncludes(
        add.msg,
        'command "ip route del 198.51.100.99/32 dev CURRENT_INTERFACE" exited with code 2',
      );
      assertStringIncludes(add.msg, "rolled back 3 commands: the netns is as before the list");
      await assertUnchanged(c.ns, add.before);
    } finally {
      await c.cleanup.run();
    }
  },
});

Deno.test({
  name:
    "rollback (default), plugin ADD: a failing list that only reads takes no snapshot, so none is restored",
  ...requireRoot(),
  async fn() {
    const c = await gatedChain("rbro", CAP);
    try {
      const add = await c.add({ cap: runtimeAnnotations('["ip route", "ip link show dev cs-nosuch0"]') });
      assertEquals(add.code, 1, add.stderr);
      assertStringIncludes(add.msg, 'command "ip link show dev cs-nosuch0" exited with code 1');
      assert(!add.msg.includes("rolled back"), add.msg);
      await assertUnchanged(c.ns, add.before);
    } finally {
      await c.cleanup.run();
    }
  },
});

Deno.test({
  name: "rollback, plugin ADD: a command killed at its timeout (`ip monitor`) is rolled back too",
  ...requireRoot(),
  async fn() {
    await withNodePolicy(
      {
        allow: ["* show|get", "monitor *", "route add dev=@pod", "link set dev=@pod mtu"],
        limits: { commandTimeoutMs: 300 },
      },
      async (policyDir) => {
        const c = await gatedChain("rbtmo", { ...CAP, onError: "rollback" });
        try {
          const list = JSON.stringify([
            "ip link set dev CURRENT_INTERFACE mtu 1400",
            "ip route add 198.51.100.0/25 dev CURRENT_INTERFACE",
            "ip monitor link",
            "ip route add 192.0.2.0/24 dev CURRENT_INTERFACE",
          ]);
          const add = await c.add({ cap: runtimeAnnotations(list), env: { CHAINSAW_POLICY_DIR: policyDir } });
          assertEquals(add.code, 1, add.stderr);
          assertStringIncludes(add.msg, 'command "ip monitor link" timed out');
          assertStringIncludes(add.msg, "rolled back 3 commands");
          await assertUnchanged(c.ns, add.before);
          assert(!(await c.ns.routes()).includes("198.51.100.0/25"));
        } finally {
          await c.cleanup.run();
        }
      },
    );
  },
});

Deno.test({
  name: 'rollback: "fail" leaves the first two commands\' changes, "continue" runs the rest (unchanged)',
  ...requireRoot(),
  async fn() {
    const f = await gatedChain("rbfail", { ...CAP, onError: "fail" });
    try {
      const add = await f.add({ cap: runtimeAnnotations(FAILING) });
      assertEquals(add.code, 1, add.stderr);
      assert(!add.msg.includes("rolled back"), add.msg);
      assert(!add.stderr.includes("Rollback:"), add.stderr);
      const diff = diffSnapshots(add.before, await snapshotNetns(f.ns.path, BINS));
      assert(diff.length > 0, "fail leaves the netns as the list left it");
      const link = await f.ns.exec([IP, "-j", "link", "show", "eth0"]);
      assertEquals(JSON.parse(link.stdout)[0].mtu, 1400);
      assert(!(await f.ns.routes()).includes("192.0.2.0/24"), "the fourth command did not run");
    } finally {
      await f.cleanup.run();
    }
    const c = await gatedChain("rbcont", { ...CAP, onError: "continue" });
    try {
      const add = await c.add({ cap: runtimeAnnotations(FAILING) });
      assertEquals(add.code, 0, add.stderr);
      assert(!add.stderr.includes("Rollback:"), add.stderr);
      assertStringIncludes(await c.ns.routes(), "192.0.2.0/24 dev eth0");
    } finally {
      await c.cleanup.run();
    }
  },
});

/** The fake API server with the pod, and the daemon on it. */
async function daemonWorld(
  annotation: string,
  cleanup: Cleanup,
): Promise<{ api: FakeApiServer; d: Daemon; kubeconfig: string; socket: string }> {
  const api = await startFakeApiServer({
    pods: [makePod({
      namespace: "default",
      name: "p1",
      uid: "uid-1",
      nodeName: NODE,
      annotations: { [ANNOTATION]: annotation },
    })],
    bookmarkIntervalMs: 200,
  });
  cleanup.defer(() => api.close(), "fake apiserver");
  const { daemon: d, kubeconfig, socket } = await startDaemonOnApi(cleanup, api, { node: NODE });
  return { api, d, kubeconfig, socket };
}

async function metric(d: Daemon, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleValue((await healthGet(d, "/metrics")).text, name, labels) ?? 0;
}

Deno.test({
  name: "rollback, ADD run by the daemon: the netns is as before the list; report, metric and Event say so",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const w = await daemonWorld(FAILING, cleanup);
      const c = await gatedChain("rbdad", { kubeconfig: w.kubeconfig, daemonSocket: w.socket });
      cleanup.defer(() => c.cleanup.run(), "chain");
      const add = await c.add();
      assertEquals(add.code, 1, add.stderr);
      assertStringIncludes(add.msg, "rolled back 3 commands: the netns is as before the list");
      await assertUnchanged(c.ns, add.before);
      // The daemon ran it: its log has the ADD report with the rollback line.
      await waitFor("the daemon's ADD record", () => w.d.stdout().includes("Rollback: restored"));
      assertEquals(await metric(w.d, "chainsaw_rollbacks_total", { result: "restored" }), 1);
      await waitFor(
        "the Event",
        () =>
          w.api.events().some((e) =>
            String(e.message ?? "").includes("rolled back: the netns is as before the list")
          ),
      );
    } finally {
      await cleanup.run();
    }
  },
});

Deno.test({
  name:
    "rollback, live re-apply: a failing edited list is rolled back; the netns is as the last good list left it",
  ...requireRoot(),
  async fn() {
    const cleanup = new Cleanup();
    try {
      const seed = '["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE"]';
      const w = await daemonWorld(seed, cleanup);
      // Imperative: the whole edited list runs on top (declarative mode would keep the identical third command in
      // place instead of failing on it; its failing edits are tests/declarative_test.ts').
      const c = await gatedChain("rbre", {
        kubeconfig: w.kubeconfig,
        daemonSocket: w.socket,
        mode: "imperative",
      });
      cleanup.defer(() => c.cleanup.run(), "chain");
      const add = await c.add();
      assertEquals(add.code, 0, add.stderr);
      assertStringIncludes(await c.ns.routes(), "198.51.100.0/25 dev eth0");
      const before = await snapshotNetns(c.ns.path, BINS);
      const edited = JSON.stringify([
        "ip route add 198.51.100.128/25 dev CURRENT_INTERFACE table 100",
        "ip rule add iif CURRENT_INTERFACE table 100",
        "ip route add 198.51.100.0/25 dev CURRENT_INTERFACE",
        "ip route add 192.0.2.0/24 dev CURRENT_INTERFACE",
      ]);
      w.api.setPod(makePod({
        namespace: "default",
        name: "p1",
        uid: "uid-1",
        nodeName: NODE,
        annotations: { [ANNOTATION]: edited },
      }));
      await waitFor(
        "the failed re-apply",
        () => /REAPPLY default\/p1 [^\n]*\n(?:[^\n]*\n)*?Rollback: /.test(w.d.stdout()),
      );
      assertStringIncludes(w.d.stdout(), "Rollback: restored, the netns is as before the list");
      assertStringIncludes(w.d.stdout(), "rolled back 3 commands: the netns is as before the list");
      assertEquals(diffSnapshots(before, await snapshotNetns(c.ns.path, BINS)), []);
      const rules = await c.ns.exec([IP, "rule", "show"]);
      assert(!rules.stdout.includes("lookup 100"), rules.stdout);
      assertEquals(await metric(w.d, "chainsaw_rollbacks_total", { result: "restored" }), 1);
      assertEquals(await metric(w.d, "chainsaw_invocations_total", { verb: "REAPPLY", result: "failed" }), 1);
    } finally {
      await cleanup.run();
    }
  },
});
