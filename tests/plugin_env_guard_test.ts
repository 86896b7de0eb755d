/**
 * The plugin's environment and run-time guards, attacked the way a misconfigured runtime or a hostile pod would,
 * through the real plugin bundle under the shipped permission flags: every spelling of the plugin's own netns in
 * CNI_NETNS, CNI_COMMAND that is not a spec verb exactly, a pod without metadata.uid, and a list that outlasts
 * its deadline. The probe is a route in a table of its own; it must never appear on the host.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { cniEnv, invokePlugin, pathWithDeno, PLUGIN, scopedTempDir } from "./support/plugin.ts";
import { Cleanup, createNetns, IP, type Netns, requireRoot, run } from "./support/netns.ts";
import { makePod } from "./support/fake_apiserver.ts";

const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
const TABLE = "241";
const PROBE = "198.51.100.241/32";
const PROBE_CMD = `ip route add ${PROBE} dev CURRENT_INTERFACE table ${TABLE}`;
const POD_ARGS = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=guard;K8S_POD_UID=uid-guard";

/** The node policy of these tests: the probe, `monitor` (a command that runs until killed) and show. */
const NODE_POLICY = { allow: ["* show|get", "monitor *", "route add dev=@pod"] };

async function hostProbe(): Promise<string> {
  return (await run([IP, "route", "show", "table", TABLE])).stdout.trim();
}

async function nsProbe(ns: Netns): Promise<string> {
  return (await ns.exec([IP, "route", "show", "table", TABLE])).stdout.trim();
}

/** A scoped dir with the node policy, a per-test world cleaned up on every path. */
async function world(policy: object = NODE_POLICY): Promise<{ cleanup: Cleanup; dir: string; ns: Netns }> {
  const cleanup = new Cleanup();
  try {
    // If the probe ever reaches the host's table, it is removed whatever happened.
    cleanup.defer(() => run([IP, "route", "flush", "table", TABLE]), "host probe table");
    const dir = await scopedTempDir();
    cleanup.defer(dir.remove, "scoped dir");
    await Deno.writeTextFile(`${dir.path}/policy.json`, JSON.stringify(policy));
    const ns = await createNetns("guard");
    cleanup.defer(() => ns.delete(), "netns");
    await ns.exec([IP, "link", "set", "lo", "up"]);
    return { cleanup, dir: dir.path, ns };
  } catch (e) {
    await cleanup.run();
    throw e;
  }
}

/** A 1.0.0 ADD config whose runtime passes the annotation `value` (no API, no daemon). */
function addConf(dir: string, value: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "guardnet",
    type: "chainsaw",
    daemonSocket: `${dir}/no-daemon.sock`,
    prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "lo", sandbox: "/var/run/netns/x" }] },
    runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [ANNOTATION]: value } },
    ...extra,
  };
}

function env(dir: string, over: Record<string, string>): Record<string, string> {
  return cniEnv("ADD", { CNI_IFNAME: "lo", CNI_ARGS: POD_ARGS, CHAINSAW_POLICY_DIR: dir, ...over });
}

/** Runs the plugin through `sh`, whose `$$` and `$PPID` become the plugin's own PID and its parent's. */
async function invokeViaShell(netnsExpr: string, vars: Record<string, string>, stdin: object) {
  return await run(["/bin/sh", "-c", `CNI_NETNS="${netnsExpr}" exec "$0"`, PLUGIN], {
    env: { PATH: pathWithDeno(), ...vars },
    clearEnv: true,
    stdin: JSON.stringify(stdin),
  });
}

Deno.test({
  name: "CNI_NETNS: every spelling of the plugin's own (the host's) netns is code 4 naming it; nothing runs",
  ...requireRoot(),
  async fn() {
    const w = await world();
    try {
      const conf = addConf(w.dir, JSON.stringify([PROBE_CMD]));
      // The control: a pod's netns gets the probe, so the commands would run if the path were accepted.
      const ok = await invokePlugin(env(w.dir, { CNI_NETNS: w.ns.path }), conf);
      assertEquals(ok.code, 0, ok.stdout + ok.stderr);
      assertStringIncludes(await nsProbe(w.ns), "198.51.100.241 dev lo");

      const spellings = [
        "/proc/self/ns/net",
        "/proc/thread-self/ns/net",
        "//proc/self/ns/net",
        "/proc/./self/ns/net",
        "/proc/self/../self/ns/net",
        "/proc/self/ns/net/",
        "/proc/1/ns/net",
        "proc/self/ns/net",
        "../../proc/self/ns/net",
        `${w.ns.path}/../../../proc/self/ns/net`,
      ];
      for (const netns of spellings) {
        const r = await invokePlugin(env(w.dir, { CNI_NETNS: netns }), conf);
        assertEquals([r.code, r.json?.code], [1, 4], `${netns}: ${r.stdout}`);
        assertStringIncludes(String(r.json?.msg), `invalid CNI_NETNS ${JSON.stringify(netns)}`);
        assert(!r.stderr.includes("Running ip"), `${netns}: nothing ran`);
      }
      // The plugin's own PID and its parent's (the runtime), known only once it runs.
      for (const expr of ["/proc/$$/ns/net", "/proc/$PPID/ns/net", "/proc/$$/task/$$/ns/net"]) {
        const r = await invokeViaShell(expr, env(w.dir, {}), conf);
        const json = JSON.parse(r.stdout);
        assertEquals([r.code, json.code], [1, 4], `${expr}: ${r.stdout}`);
        assertStringIncludes(json.msg, "names the network namespace of chainsaw");
      }
      assertEquals(await hostProbe(), "", "nothing ran on the host");

      // DEL still succeeds with such a path.
      const del = await invokePlugin(
        cniEnv("DEL", { CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "lo" }),
        { cniVersion: "1.0.0", name: "guardnet", type: "chainsaw", daemonSocket: `${w.dir}/no-daemon.sock` },
      );
      assertEquals([del.code, del.stdout], [0, ""]);
    } finally {
      await w.cleanup.run();
    }
  },
});

Deno.test({
  name: "CNI_COMMAND must be a spec verb exactly: lowercase add is code 4 and runs nothing",
  ...requireRoot(),
  async fn() {
    const w = await world();
    try {
      const conf = addConf(w.dir, JSON.stringify([PROBE_CMD]));
      for (const command of ["add", "Add", "ADD ", "del"]) {
        const r = await invokePlugin(
          env(w.dir, { CNI_COMMAND: command, CNI_CONTAINERID: "x;y", CNI_NETNS: w.ns.path }),
          conf,
        );
        assertEquals([r.code, r.json?.code], [1, 4], `${command}: ${r.stdout}`);
        assertStringIncludes(
          String(r.json?.msg),
          `unknown CNI_COMMAND: ${
            command.includes(" ") ? JSON.stringify(command) : command
          } (expected one of`,
        );
      }
      assertEquals(await nsProbe(w.ns), "", "nothing ran in the pod");
    } finally {
      await w.cleanup.run();
    }
  },
});

Deno.test({
  name: "a pod from the API without metadata.uid while K8S_POD_UID is set is stale: code 102, nothing runs",
  ...requireRoot(),
  async fn() {
    const w = await world();
    // A minimal API server answering the pod GET with a pod whose metadata has no uid (then an empty one).
    let uid: string | undefined;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
      const pod = makePod({ namespace: "default", name: "guard", annotations: { [ANNOTATION]: PROBE_CMD } });
      if (uid === undefined) delete (pod.metadata as { uid?: string }).uid;
      else pod.metadata.uid = uid;
      return Response.json(pod);
    });
    w.cleanup.defer(() => server.shutdown(), "api server");
    try {
      const kubeconfig = `${w.dir}/plugin.kubeconfig`;
      await Deno.writeTextFile(
        kubeconfig,
        JSON.stringify({
          clusters: [{ name: "c", cluster: { server: `http://127.0.0.1:${server.addr.port}` } }],
          users: [{ name: "u", user: { token: "t" } }],
          contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
          "current-context": "x",
        }),
      );
      const conf = addConf(w.dir, "", { kubeconfig, runtimeConfig: {} });
      for (const given of [undefined, ""]) {
        uid = given;
        const r = await invokePlugin(env(w.dir, { CNI_NETNS: w.ns.path }), conf);
        assertEquals([r.code, r.json?.code], [1, 102], r.stdout + r.stderr);
        // The one stale-pod check (src/exec/add.ts stalePod) words it for every lookup source.
        assertStringIncludes(
          String(r.json?.msg),
          "pod default/guard has no UID but the runtime is setting up UID",
        );
      }
      assertEquals(await nsProbe(w.ns), "", "nothing ran");
    } finally {
      await w.cleanup.run();
    }
  },
});

Deno.test({
  name:
    "limits.listTimeoutMs bounds a list whatever onError: later commands are not started, the report says so",
  ...requireRoot(),
  async fn() {
    const w = await world({ ...NODE_POLICY, limits: { commandTimeoutMs: 2000, listTimeoutMs: 600 } });
    try {
      // fail: the first command (one that runs until killed) is killed at the 600 ms deadline: code 100.
      const slow = JSON.stringify(["ip monitor link", PROBE_CMD]);
      const r = await invokePlugin(env(w.dir, { CNI_NETNS: w.ns.path }), addConf(w.dir, slow));
      assertEquals([r.code, r.json?.code], [1, 100], r.stdout);
      assertStringIncludes(
        String(r.json?.msg),
        "the list's deadline of 600 ms (policy limits.listTimeoutMs) passed",
      );
      assertStringIncludes(String(r.json?.msg), `1 not started, the first "${PROBE_CMD}"`);

      // continue: each slow command fails on its own timeout, yet the list stops at the deadline; ADD succeeds
      // and the report (stderr: no daemon) says what was not started.
      const many = JSON.stringify([...Array(8).fill("ip monitor link"), PROBE_CMD]);
      const c = await invokePlugin(
        env(w.dir, { CNI_NETNS: w.ns.path }),
        // The chain narrows each command to 250 ms: two time out, the third is killed at the deadline.
        addConf(w.dir, many, { onError: "continue", policy: { limits: { commandTimeoutMs: 250 } } }),
      );
      assertEquals(c.code, 0, c.stdout + c.stderr);
      assertStringIncludes(c.stderr, "the list's deadline of 600 ms (policy limits.listTimeoutMs) passed");
      assertStringIncludes(c.stderr, "not started");
      assertEquals(await nsProbe(w.ns), "", "the probe after the deadline never started");
      assertEquals(await hostProbe(), "");
    } finally {
      await w.cleanup.run();
    }
  },
});
