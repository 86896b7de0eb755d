/**
 * The daemon never re-applies into its own (the host's) netns: crafted attachment registrations on its socket
 * naming `/proc/self/ns/net` in other spellings, the daemon's own PID, or relative paths are refused, and an
 * annotation change that re-applies on the pod's real attachment runs nothing on the host. The real daemon (the
 * bundle under the shipped flags), the fake API server, a real netns; the probe is a route in its own table.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup, createNetns, IP, requireRoot, run } from "./support/netns.ts";
import { apiScratch, socketRequest, startDaemonOnApi, waitFor, waitForOutput } from "./daemon_harness.ts";
import type { AttachmentRegistration } from "../src/wire/attachment.ts";
import { ROUTES } from "../src/wire/routes.ts";

const NODE = "node-guard";
const ANNOTATION = "k8s.v1.cni.cncf.io/chainsaw";
const TABLE = "242";
const PROBE = "198.51.100.242";
const PROBE_CMD = `ip route add ${PROBE}/32 dev CURRENT_INTERFACE table ${TABLE}`;
const POD = { namespace: "default", name: "guard-d", uid: "uid-guard-d" };

Deno.test({
  name: "re-apply: crafted attachments naming the daemon's own netns are refused; nothing runs on the host",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    cleanup.defer(() => run([IP, "route", "flush", "table", TABLE]), "host probe table");
    const pod = (value: string) => makePod({ ...POD, nodeName: NODE, annotations: { [ANNOTATION]: value } });
    const api = await startFakeApiServer({ pods: [pod("ip route")] });
    cleanup.defer(() => api.close(), "fake apiserver");
    const tmp = await apiScratch(cleanup, api);
    await Deno.mkdir(`${tmp.path}/policy`);
    await Deno.writeTextFile(
      `${tmp.path}/policy/policy.json`,
      JSON.stringify({ allow: ["* show|get", "route add dev=@pod"] }),
    );
    const ns = await createNetns("dguard");
    cleanup.defer(() => ns.delete(), "netns");
    await ns.exec([IP, "link", "set", "lo", "up"]);

    const { daemon: d } = await startDaemonOnApi(cleanup, api, {
      node: NODE,
      args: ["--policy-dir", `${tmp.path}/policy`],
      scratch: tmp,
    });

    const crafted = [
      "//proc/self/ns/net",
      "/proc/./self/ns/net",
      "/proc/thread-self/ns/net",
      `/proc/${d.child.pid}/ns/net`,
      "/var/run/netns/../../proc/self/ns/net",
      "proc/self/ns/net",
    ];
    const register = async (containerId: string, netns: string) => {
      const registration: AttachmentRegistration = {
        containerId,
        netns,
        ifname: "lo",
        network: "test-chainsaw-chain",
        pod: POD,
        podInterfaces: ["lo"],
        onError: "fail",
        applied: "ip route",
      };
      const r = await socketRequest(d.socket, ROUTES.register.path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(registration),
      });
      return r.status === 204 ? 204 : `${r.status} ${r.text}`;
    };
    // The crafted ones first: a re-apply runs a pod's attachments in the order they were recorded.
    for (const [i, netns] of crafted.entries()) assertEquals(await register(`crafted-${i}`, netns), 204);
    assertEquals(await register("real", ns.path), 204);
    const stateFile = `${tmp.path}/state/attachments.json`;
    const saved = async () =>
      (JSON.parse(await Deno.readTextFile(stateFile)).attachments as Array<{ containerId: string }>).map((
        a,
      ) => a.containerId);
    await waitFor(
      "the real attachment saved",
      async () => (await saved().catch((): string[] => [])).includes("real"),
    );
    assertEquals(await saved(), ["real"], "no crafted attachment is recorded");
    // Each refusal's log line travels on stderr, apart from the socket's answers.
    for (const netns of crafted) {
      await waitForOutput(
        `the refusal of ${netns} in the log`,
        d.stderr,
        `its netns ${JSON.stringify(netns)}`,
      );
    }

    // The annotation changes: the re-apply runs in the pod's netns, and nowhere else.
    api.setPod(pod(PROBE_CMD));
    await waitFor(
      "the probe in the pod's netns",
      async () => (await ns.exec([IP, "route", "show", "table", TABLE])).stdout.includes(PROBE),
    );
    await waitFor("the REAPPLY report", () => d.stdout().includes(" REAPPLY default/guard-d "));
    const host = (await run([IP, "route", "show", "table", TABLE])).stdout;
    assert(!host.includes(PROBE), `the re-apply ran on the host: ${host}`);
    assertEquals(d.stdout().split("\n").filter((l) => l.includes(" REAPPLY default/guard-d ")).length, 1);
  },
});
