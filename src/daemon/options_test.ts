import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { DEFAULT_DAEMON_SOCKET } from "../host_paths.ts";
import { SERVICE_ACCOUNT_DIR } from "../kube/kubeconfig.ts";
import { NODE_POLICY_DIR } from "../policy/load.ts";
import { DEFAULT_ATTACHMENTS_PATH } from "./attachments/attachment_store.ts";
import { DAEMON_DEFAULTS } from "./flags.ts";
import { decodeDaemonOptions, listenUrl, parseHealthAddr, withEnvironment } from "./options.ts";

Deno.test("health addresses: IPv4, bracketed IPv6, all addresses, port 0", () => {
  assertEquals(parseHealthAddr("127.0.0.1:9651"), { hostname: "127.0.0.1", port: 9651 });
  assertEquals(parseHealthAddr("[::1]:9651"), { hostname: "::1", port: 9651 });
  assertEquals(parseHealthAddr("[fd00::10]:0"), { hostname: "fd00::10", port: 0 });
  assertEquals(parseHealthAddr(":9651"), { hostname: "0.0.0.0", port: 9651 });
  assertEquals(parseHealthAddr("localhost:80"), { hostname: "localhost", port: 80 });
  for (const bad of ["127.0.0.1", "::1:9651", "1.2.3.4:65536", "a:b", "[::1]", ""]) {
    assertThrows(() => parseHealthAddr(bad), Error, undefined);
  }
  assertEquals(listenUrl({ hostname: "::1", port: 5 }), "http://[::1]:5");
  assertEquals(listenUrl({ hostname: "127.0.0.1", port: 5 }), "http://127.0.0.1:5");
});

Deno.test("the daemon's defaults are the plugin's defaults", () => {
  assertEquals(DAEMON_DEFAULTS.socket, DEFAULT_DAEMON_SOCKET);
  assertEquals(DAEMON_DEFAULTS.serviceAccountDir, SERVICE_ACCOUNT_DIR);
  assertEquals(DAEMON_DEFAULTS.stateFile, DEFAULT_ATTACHMENTS_PATH);
  assertEquals(DAEMON_DEFAULTS.policyDir, `/host${NODE_POLICY_DIR}`, "the host's node policy dir as mounted");
});

Deno.test("decodeDaemonOptions takes commander's record and names bad flags", () => {
  const raw = {
    ...DAEMON_DEFAULTS,
    install: true,
    kubeconfig: false,
    ringSize: "50",
    shutdownDelaySeconds: "0.5",
  };
  const o = decodeDaemonOptions(raw);
  assertEquals([o.ringSize, o.shutdownDelaySeconds, o.kubeconfig, o.source], [50, 0.5, false, undefined]);
  assertThrows(() => decodeDaemonOptions({ ...raw, ringSize: 0 }), Error, "--ring-size");
  assertThrows(() => decodeDaemonOptions({ ...raw, ringSize: "1.5" }), Error, "--ring-size");
  assertThrows(() => decodeDaemonOptions({ ...raw, healthAddr: "nope" }), Error, "--health-addr");
  assertThrows(() => decodeDaemonOptions({ ...raw, socket: "rel.sock" }), Error, "--socket");
  assertThrows(() => decodeDaemonOptions({ ...raw, logFormat: "xml" }), Error, "--log-format");
  assertThrows(() => decodeDaemonOptions({ ...raw, cniBinDir: "opt/cni/bin" }), Error, "--cni-bin-dir");
});

Deno.test("the pod features' options: node name from NODE_NAME, --kubeconfig, state file, policy dir, switches", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const raw = { ...DAEMON_DEFAULTS, install: false, kubeconfig: true };
  const o = decodeDaemonOptions(withEnvironment(raw, env({ NODE_NAME: "node-a" })));
  assertEquals(
    [o.nodeName, o.apiKubeconfig, o.stateFile, o.policyDir, o.podWatch, o.events, o.kubeconfig],
    ["node-a", undefined, "/var/lib/chainsaw/attachments.json", "/host/etc/cni/chainsaw", true, true, true],
  );
  const given = withEnvironment(
    { ...raw, nodeName: "node-b", kubeconfig: false, apiKubeconfig: "/k", podWatch: false, events: false },
    env({ NODE_NAME: "node-a" }),
  );
  assertEquals(
    (({ nodeName, kubeconfig, apiKubeconfig, podWatch, events }) => ({
      nodeName,
      kubeconfig,
      apiKubeconfig,
      podWatch,
      events,
    }))(decodeDaemonOptions(given)),
    { nodeName: "node-b", kubeconfig: false, apiKubeconfig: "/k", podWatch: false, events: false },
  );
  assertEquals(decodeDaemonOptions(withEnvironment(raw, env({ NODE_NAME: "" }))).nodeName, undefined);
  assertThrows(() => decodeDaemonOptions({ ...raw, nodeName: "Node_A" }), Error, "--node-name");
  assertThrows(() => decodeDaemonOptions({ ...raw, apiKubeconfig: "k.yaml" }), Error, "--kubeconfig");
  assertThrows(() => decodeDaemonOptions({ ...raw, stateFile: "state.json" }), Error, "--state-file");
});
