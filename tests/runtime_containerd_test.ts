/**
 * chainsaw under a real container runtime: Debian's containerd 1.6 + runc with a private config
 * (tests/support/cri/containerd.ts), driven through the CRI the way the kubelet drives it
 * (tests/support/cri/client.ts), with a CNI conf dir and bin dir of its own: bridge (+host-local on
 * 10.99.0.0/24) → chainsaw declaring the `io.kubernetes.cri.pod-annotations` capability. chainsaw's daemon runs
 * beside it against the fake API server holding the same pods. Every case is checked in the sandbox's real netns.
 *
 * containerd starts plugins with ITS OWN environment (PATH without deno): the bundle's launcher must find deno
 * by itself. Everything is removed at the end, also when a step fails: sandboxes, containerd and its shims (by
 * PID), mounts under the private dir, netns, the bridge, the pod cgroup parent, the directories.
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { ensureDebianPackages } from "../scripts/debian_packages.ts";
import { apiScratch, type Daemon, startDaemonOnApi, waitFor } from "./daemon_harness.ts";
import { type FakeApiServer, makePod, type Pod, startFakeApiServer } from "./support/fake_apiserver.ts";
import {
  Cleanup,
  deleteLink,
  ensureTestBinaries,
  IP,
  NSENTER,
  randomHex,
  REFERENCE_PLUGIN_DIR,
  requireRoot,
  run,
  uniqueName,
} from "./support/netns.ts";
import { ensurePlugin, PLUGIN } from "./support/plugin.ts";
import { CriError, type PodSandboxConfig } from "./support/cri/client.ts";
import {
  type Containerd,
  removeCgroupParent,
  startContainerd,
  unmountBelow,
} from "./support/cri/containerd.ts";
import { importImage, packPauseImage, PAUSE_IMAGE } from "./support/cri/pause_image.ts";

const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
const NODE = "ctrd-node";
const NS = "ctrd";
/** What the kubelet always adds to a sandbox's annotations. */
const KUBELET_ANNOTATIONS = {
  "kubernetes.io/config.source": "api",
  "kubernetes.io/config.seen": "2026-12-01T00:00:00Z",
};
const SEED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';

/** The pods of the cases, on the fake API server and run as sandboxes. */
const PODS: Record<string, { annotations?: Record<string, string> }> = {
  seed: { annotations: { ...KUBELET_ANNOTATIONS, [ANNOTATION]: SEED } },
  ifname: {
    annotations: {
      ...KUBELET_ANNOTATIONS,
      [ANNOTATION]: '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]',
    },
  },
  bare: {},
  other: { annotations: { ...KUBELET_ANNOTATIONS, "example.com/owner": "team-a" } },
  rejected: {
    annotations: {
      ...KUBELET_ANNOTATIONS,
      [ANNOTATION]: '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE", "ip netns exec x /bin/sh"]',
    },
  },
  cycle: { annotations: { ...KUBELET_ANNOTATIONS, [ANNOTATION]: '["ip route"]' } },
  live: {
    annotations: {
      ...KUBELET_ANNOTATIONS,
      [ANNOTATION]: '["ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE"]',
    },
  },
  state: { annotations: { ...KUBELET_ANNOTATIONS, [ANNOTATION]: SEED } },
};

/** Everything the cases share. */
interface World {
  api: FakeApiServer;
  daemon: Daemon;
  containerd: Containerd;
  pods: Map<string, Pod>;
  dir: string;
  ipamDir: string;
  network: string;
  /** The daemon's attachment store (startDaemon's default under its scratch dir). */
  stateFile: string;
  restart(opts: { netnsUnderStateDir: boolean }): Promise<void>;
}

/** A running sandbox. */
interface Sandbox {
  id: string;
  netns: string;
  ip: string;
}

async function inNetns(netns: string, argv: string[]): Promise<string> {
  const r = await run([NSENTER, `--net=${netns}`, ...argv]);
  if (r.code !== 0) throw new Error(`nsenter --net=${netns} ${argv.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

function sandboxConfig(w: World, key: string): PodSandboxConfig {
  const pod = w.pods.get(key)!;
  const { name, namespace, uid } = pod.metadata;
  return {
    metadata: { name, namespace, uid: String(uid), attempt: 0 },
    hostname: name,
    log_directory: `${w.dir}/pod-logs/${uid}`,
    labels: { "io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace },
    annotations: PODS[key].annotations ?? {},
    linux: {
      cgroup_parent: `/${cgroupParentOf(w)}`,
      security_context: { namespace_options: { network: "POD", pid: "CONTAINER", ipc: "POD" } },
    },
  };
}

const cgroupParents = new WeakMap<World, string>();
function cgroupParentOf(w: World): string {
  return cgroupParents.get(w)!;
}

async function runSandbox(w: World, key: string): Promise<Sandbox> {
  const id = await w.containerd.cri.runPodSandbox(sandboxConfig(w, key));
  const { status, info } = await w.containerd.cri.podSandboxStatus(id);
  assertEquals(status.state, "SANDBOX_READY");
  // containerd's verbose info: the sandbox's OCI spec names the netns it pinned.
  const spec = JSON.parse(info.info).runtimeSpec as {
    linux: { namespaces: Array<{ type: string; path?: string }> };
  };
  const netns = spec.linux.namespaces.find((n) => n.type === "network")?.path ?? "";
  assert(netns, `no network namespace path in the sandbox's spec: ${info.info.slice(0, 300)}`);
  return { id, netns, ip: status.network?.ip ?? "" };
}

async function removeSandbox(w: World, s: Sandbox): Promise<void> {
  await w.containerd.cri.stopPodSandbox(s.id);
  await w.containerd.cri.removePodSandbox(s.id);
}

/** The daemon's JSON report lines for a pod (verb ADD, DEL or REAPPLY). */
function reports(w: World, key: string, verb?: string): Array<Record<string, unknown>> {
  const name = w.pods.get(key)!.metadata.name;
  return w.daemon.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((
    r,
  ) => r.pod?.name === name && (verb === undefined || r.verb === verb));
}

function podGets(w: World): number {
  return w.api.requests.filter((r) =>
    r.method === "GET" && /^\/api\/v1\/namespaces\/[^/]+\/pods\/./.test(r.path)
  )
    .length;
}

async function ipamFiles(w: World): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${w.ipamDir}/${w.network}`)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function cniNetns(): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const e of Deno.readDir("/var/run/netns")) if (e.name.startsWith("cni-")) names.add(e.name);
  } catch {
    // no dir
  }
  return names;
}

async function setUp(cleanup: Cleanup): Promise<World> {
  await ensureDebianPackages({
    packages: ["containerd", "runc", "containernetworking-plugins"],
    log: (l) => console.log(`containerd test: ${l}`),
  });
  await Promise.all([ensureTestBinaries(), ensurePlugin()]);

  // The daemon's side: its socket, state, kubeconfig and the node policy dir, inside chainsaw's scope.
  const pods = new Map<string, Pod>();
  const tag = randomHex(6);
  for (const [key, spec] of Object.entries(PODS)) {
    pods.set(
      key,
      makePod({ namespace: NS, name: `${key}-${tag}`, nodeName: NODE, annotations: spec.annotations }),
    );
  }
  const api = await startFakeApiServer({ pods: [...pods.values()], bookmarkIntervalMs: 200 });
  cleanup.defer(() => api.close(), "fake API server");
  const scoped = await apiScratch(cleanup, api);
  await Deno.mkdir(`${scoped.path}/policy`);
  const { daemon, kubeconfig } = await startDaemonOnApi(cleanup, api, {
    node: NODE,
    args: ["--policy-dir", `${scoped.path}/policy`, "--log-format", "json", "--no-events"],
    scratch: scoped,
  });

  // containerd's side: everything under a temp dir outside chainsaw's read scope.
  const dir = await Deno.makeTempDir({ prefix: "cs-ctrd-" });
  cleanup.defer(() => Deno.remove(dir, { recursive: true }), `remove ${dir}`);
  cleanup.defer(async () => {
    const left = await unmountBelow(dir);
    if (left.length > 0) console.log(`containerd test: unmounted ${left.length} mount(s) left under ${dir}`);
  }, "unmount");
  const bridge = uniqueName("csctr");
  cleanup.defer(() => deleteLink(bridge), `bridge ${bridge}`);
  const cgroupParent = `cs-ctrd-${tag}`;
  cleanup.defer(async () => {
    const left = await removeCgroupParent(cgroupParent);
    if (left.length > 0) throw new Error(`cgroups left: ${left.join("; ")}`);
  }, "cgroup parent");
  const netnsBefore = await cniNetns();
  cleanup.defer(async () => {
    for (const name of await cniNetns()) {
      if (!netnsBefore.has(name)) {
        console.log(`containerd test: removing leftover netns ${name}`);
        await run([IP, "netns", "del", name]);
      }
    }
  }, "leftover netns");

  const binDir = `${dir}/cni-bin`;
  const confDir = `${dir}/net.d`;
  const ipamDir = `${dir}/ipam`;
  await Deno.mkdir(binDir);
  await Deno.mkdir(confDir);
  for (const p of ["bridge", "host-local", "loopback"]) {
    await Deno.symlink(`${REFERENCE_PLUGIN_DIR}/${p}`, `${binDir}/${p}`);
  }
  await Deno.symlink(PLUGIN, `${binDir}/chainsaw`);
  const network = `chainsaw-ctrd-${tag}`;
  const conflist = {
    cniVersion: "1.0.0",
    name: network,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: { type: "host-local", ranges: [[{ subnet: "10.99.0.0/24" }]], dataDir: ipamDir },
      },
      {
        type: "chainsaw",
        capabilities: { "io.kubernetes.cri.pod-annotations": true },
        daemonSocket: daemon.socket,
        kubeconfig,
      },
    ],
  };
  await Deno.writeTextFile(`${confDir}/10-chainsaw.conflist`, JSON.stringify(conflist, null, 2));

  const start = (netnsUnderStateDir: boolean) =>
    startContainerd({
      dir: `${dir}/containerd`,
      cniBinDir: binDir,
      cniConfDir: confDir,
      sandboxImage: PAUSE_IMAGE,
      netnsUnderStateDir,
      env: { CHAINSAW_POLICY_DIR: `${scoped.path}/policy` },
    });
  const w: World = {
    api,
    daemon,
    containerd: await start(false),
    pods,
    dir,
    ipamDir,
    network,
    stateFile: `${scoped.path}/state/attachments.json`,
    async restart(opts) {
      await w.containerd.stop();
      w.containerd = await start(opts.netnsUnderStateDir);
    },
  };
  cleanup.defer(() => w.containerd.stop(), "containerd");
  cgroupParents.set(w, cgroupParent);
  await importImage(w.containerd.paths.socket, await packPauseImage(dir));
  return w;
}

Deno.test({
  name: "containerd (CRI) runs the chain bridge → chainsaw in real pod sandboxes",
  ...requireRoot("the containerd tests"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    await using cleanup = new Cleanup();
    const w = await setUp(cleanup);
    let failed = false;
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!(await t.step(name, fn))) failed = true;
    };
    const live: Sandbox[] = [];
    cleanup.defer(() => {
      if (failed) {
        console.log(
          `containerd log (tail):\n${w.containerd.log().slice(-3000)}\ndaemon stderr:\n${w.daemon.stderr()}`,
        );
      }
    }, "logs on failure");

    await step(
      "1. the seed's annotation: the route in the sandbox netns, the daemon's report, zero pod GETs",
      async () => {
        const s = await runSandbox(w, "seed");
        live.push(s);
        assertMatch(await inNetns(s.netns, [IP, "route", "show"]), /^192\.0\.3\.0\/24 dev eth0 /m);
        await waitFor("the ADD report in the daemon's log", () => reports(w, "seed", "ADD").length > 0);
        const r = reports(w, "seed", "ADD")[0];
        assertEquals(r.verdict, "applied");
        assertEquals(r.source, "runtime");
        assertEquals(r.netns, s.netns);
        assertEquals(podGets(w), 0);
      },
    );

    await step("2. CURRENT_INTERFACE is the runtime's interface name (eth0)", async () => {
      const s = await runSandbox(w, "ifname");
      live.push(s);
      assertMatch(await inNetns(s.netns, [IP, "route", "show"]), /^198\.51\.100\.0\/24 dev eth0 /m);
      await waitFor("the ADD report", () => reports(w, "ifname", "ADD").length > 0);
      const r = reports(w, "ifname", "ADD")[0];
      assertEquals(r.ifname, "eth0");
      assertEquals((r.commands as Array<{ argv: string[] }>)[0].argv.includes("eth0"), true);
    });

    await step("3. a pod with no annotations at all starts (containerd sends null)", async () => {
      const s = await runSandbox(w, "bare");
      live.push(s);
      assertMatch(s.ip, /^10\.99\.0\.\d+$/);
      assertStringIncludes(await inNetns(s.netns, [IP, "-o", "addr", "show", "dev", "eth0"]), s.ip);
    });

    await step("4. a pod with other annotations only: passed through, nothing run", async () => {
      const s = await runSandbox(w, "other");
      live.push(s);
      const routes = await inNetns(s.netns, [IP, "route", "show"]);
      assertEquals(routes.trim().split("\n").length, 1, routes); // only the subnet route of eth0
      assertMatch(routes, /^10\.99\.0\.0\/24 dev eth0 /m);
    });

    await step(
      "5. a rejected command: RunPodSandbox fails with chainsaw's message, nothing ran, nothing left",
      async () => {
        const ipsBefore = await ipamFiles(w);
        const netnsBefore = await cniNetns();
        let err: unknown;
        try {
          live.push(await runSandbox(w, "rejected"));
        } catch (e) {
          err = e;
        }
        assert(err instanceof CriError, `RunPodSandbox did not fail: ${err}`);
        assertStringIncludes(err.details, "ip netns exec x /bin/sh");
        assertStringIncludes(err.details, 'type="chainsaw"');
        await waitFor("the rejected report", () => reports(w, "rejected", "ADD").length > 0);
        const r = reports(w, "rejected", "ADD")[0];
        assertEquals(r.verdict, "rejected");
        assertEquals(r.commands, []); // none ran, not even the allowed first one
        assertEquals(await ipamFiles(w), ipsBefore);
        assertEquals(await cniNetns(), netnsBefore);
      },
    );

    await step(
      "6. Stop (DEL with the cached result) and Remove (DEL, empty CNI_NETNS) succeed; no IP, no netns left",
      async () => {
        const s = await runSandbox(w, "cycle");
        assert((await ipamFiles(w)).includes(s.ip), `host-local has no file for ${s.ip}`);
        const attached = async () =>
          (JSON.parse(await Deno.readTextFile(w.stateFile)).attachments as Array<{ containerId: string }>)
            .some((a) => a.containerId === s.id);
        await waitFor("the sandbox's attachment registered", () => attached().catch(() => false));
        await w.containerd.cri.stopPodSandbox(s.id);
        assert(!(await ipamFiles(w)).includes(s.ip), `host-local still holds ${s.ip} after Stop`);
        await w.containerd.cri.removePodSandbox(s.id);
        assertEquals(await exists(s.netns), false, `${s.netns} is left`);
        assertEquals((await w.containerd.cri.listPodSandbox()).some((x) => x.id === s.id), false);
        // DEL writes no report: it makes the daemon forget the attachment.
        await waitFor("the attachment forgotten", async () => !(await attached()));
        assertEquals(reports(w, "cycle", "DEL"), []);
      },
    );

    await step(
      "7. live re-apply into containerd's netns: the edited annotation runs in the running sandbox",
      async () => {
        const s = await runSandbox(w, "live");
        live.push(s);
        assertMatch(await inNetns(s.netns, [IP, "route", "show"]), /^192\.0\.3\.0\/24 dev eth0 /m);
        const pod = structuredClone(w.pods.get("live")!);
        pod.metadata.annotations = {
          ...pod.metadata.annotations,
          [ANNOTATION]:
            '["ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]',
        };
        w.api.setPod(pod);
        await waitFor(
          "the re-applied route in the sandbox netns",
          async () => (await inNetns(s.netns, [IP, "route", "show"])).includes("198.51.100.0/24 dev eth0"),
        );
        await waitFor("the REAPPLY report", () => reports(w, "live", "REAPPLY").length > 0);
        // Declarative (the default): an edit that drops the first command takes its route back; the route both
        // values set stays.
        const edited = structuredClone(pod);
        edited.metadata.annotations = {
          ...pod.metadata.annotations,
          [ANNOTATION]: '["ip route add 198.51.100.0/24 dev CURRENT_INTERFACE"]',
        };
        w.api.setPod(edited);
        await waitFor("the second REAPPLY report", () => reports(w, "live", "REAPPLY").length > 1);
        const routes = await inNetns(s.netns, [IP, "route", "show"]);
        assert(!routes.includes("192.0.3.0/24"), `the dropped route is taken back:\n${routes}`);
        assertMatch(routes, /^198\.51\.100\.0\/24 dev eth0 /m);
        const taken = reports(w, "live", "REAPPLY")[1] as { effect?: { takenBack: string[] } };
        assertEquals(taken.effect?.takenBack, ["route v4 main 192.0.3.0/24: removed (chainsaw added it)"]);
      },
    );

    for (const s of live.splice(0)) {
      await step(`remove sandbox ${s.id.slice(0, 12)}`, () => removeSandbox(w, s));
    }
    await step("no address left in host-local after every sandbox was removed", async () => {
      assertEquals(await ipamFiles(w), []);
    });

    await step(
      "8. netns_mounts_under_state_dir = true (netns outside chainsaw's read scope): ADD and re-apply",
      async () => {
        await w.restart({ netnsUnderStateDir: true });
        const s = await runSandbox(w, "state");
        assert(s.netns.startsWith(w.dir), `netns ${s.netns} is not under the state dir`);
        assertMatch(await inNetns(s.netns, [IP, "route", "show"]), /^192\.0\.3\.0\/24 dev eth0 /m);
        const pod = structuredClone(w.pods.get("state")!);
        pod.metadata.annotations = {
          ...pod.metadata.annotations,
          [ANNOTATION]: '["ip route replace 198.51.100.0/25 dev CURRENT_INTERFACE"]',
        };
        w.api.setPod(pod);
        await waitFor(
          "the re-applied route in the state-dir netns",
          async () => (await inNetns(s.netns, [IP, "route", "show"])).includes("198.51.100.0/25 dev eth0"),
        );
        await removeSandbox(w, s);
        assertEquals(await exists(s.netns), false);
        assertEquals(await ipamFiles(w), []);
      },
    );
  },
});
