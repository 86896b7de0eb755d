/**
 * Phase 9, declarative mode's memory (issue 17): a daemon with a node's worth of attachments (110) whose
 * declarative effects are stored — three objects each (two routes and an MTU, baseline and set values), as an
 * ADD of a pod with a three-command list leaves them — idle once they are registered and saved; next to an idle
 * `deno` process started the same way as the floor (the median RSS of five is the floor's).
 * @module
 */
import type { Bench } from "../context.ts";
import { memoryOf, startDaemon } from "../daemon_bench.ts";
import { ANNOTATION, benchPods, NODE_NAME } from "../fixtures.ts";
import type { EffectsReport } from "../findings.ts";
import type { ChainDaemon } from "./daemon.ts";
import type { Kubernetes } from "./kubernetes.ts";

/** Attachments registered (a node's worth of pods). */
const ATTACHMENTS = 110;
/** Idle denos whose median RSS is the floor's. */
const FLOOR_SAMPLES = 5;

function route(dst: string): Record<string, unknown> {
  return {
    type: "unicast",
    dst,
    dev: "eth0",
    table: "main",
    protocol: "boot",
    scope: "link",
    flags: [],
    family: 4,
  };
}

/** The effect of `["ip route add A …", "ip route add B …", "ip link set … mtu 1400"]`, as the executor stores it. */
function effectOf(i: number): Record<string, unknown> {
  const a = `10.${100 + (i >> 8)}.${i & 255}.0/24`;
  const b = `10.${200 + (i >> 8)}.${i & 255}.0/24`;
  return {
    items: [
      { key: "link 2 mtu", kind: "link", base: 1500, set: 1400, by: ["link set dev eth0 mtu 1400"] },
      {
        key: `route v4 main ${a}`,
        kind: "route",
        base: [],
        set: [route(a)],
        by: [`route add ${a} dev eth0`],
      },
      {
        key: `route v4 main ${b}`,
        kind: "route",
        base: [],
        set: [route(b)],
        by: [`route add ${b} dev eth0`],
      },
    ],
  };
}

/**
 * Measures the daemon's idle RSS with 110 stored effects, and an idle deno's (nothing when there is no daemon).
 *
 * @param bench the run
 * @param kube the fake API server
 * @param daemon how to start a daemon
 */
export async function effectsMemory(
  bench: Bench,
  kube: Kubernetes,
  daemon: ChainDaemon,
): Promise<EffectsReport> {
  const { opts, log, cleanup } = bench;
  if (!daemon.features.daemon) return { note: daemon.note ?? "n/a (no daemon)" };
  try {
    // The pods the attachments belong to, so the daemon keeps them (an attachment of no pod is pruned).
    for (const p of kube.api.pods()) kube.api.deletePod(p.metadata.namespace, p.metadata.name);
    const pods = benchPods(ATTACHMENTS).filter((p) => p.spec.nodeName === NODE_NAME);
    for (const p of pods) kube.api.setPod(p);
    const d = await startDaemon(daemon.setup(), "effects");
    cleanup.defer(() => d.stop(), "effects daemon");
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: d.socket } });
    try {
      let registered = 0;
      for (const [i, p] of pods.entries()) {
        const body = {
          containerId: `bench-${String(i).padStart(4, "0")}`,
          // Never entered: the value registered is the pod's own, so nothing is re-applied.
          netns: `/var/run/netns/cni-bench-${i}`,
          ifname: "eth0",
          network: "bench",
          pod: { namespace: p.metadata.namespace, name: p.metadata.name, uid: String(p.metadata.uid) },
          podInterfaces: ["eth0"],
          onError: "rollback",
          mode: "declarative",
          // The pod's own value ("" when it has none), so no re-apply runs (it would find the netns gone).
          applied: p.metadata.annotations?.[ANNOTATION] ?? "",
          effect: effectOf(i),
        };
        const res = await fetch("http://chainsaw/v1/attachments", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          client,
        } as RequestInit);
        await res.body?.cancel();
        if (res.ok) registered++;
      }
      await new Promise((r) => setTimeout(r, opts.smoke ? 300 : 3000));
      const m = await memoryOf(d.pid);
      // The median of several idle denos: one process's RSS varies by 2–4 MiB from one start to the next here
      // (35.3–40.8 MiB for the same command), more than the target's margin.
      const floors: number[] = [];
      for (let i = 0; i < (opts.smoke ? 1 : FLOOR_SAMPLES); i++) {
        floors.push(await idleDenoRss(opts.smoke ? 300 : 1500));
      }
      const floor = floors.sort((a, b) => a - b)[floors.length >> 1];
      return {
        attachments: registered,
        items: registered * 3,
        rssKb: m.rssKb,
        hwmKb: m.hwmKb,
        floorRssKb: floor,
      };
    } finally {
      client.close();
      await d.stop();
    }
  } catch (e) {
    log(`effects memory failed: ${(e as Error).message}`);
    return { note: `failed: ${(e as Error).message.split("\n")[0]}` };
  }
}

/** The RSS of an idle `deno` (the floor's runtime, nothing loaded), in KiB. */
async function idleDenoRss(settleMs: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "await new Promise((r) => setTimeout(r, 30_000));"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" },
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return (await memoryOf(child.pid)).rssKb;
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}
