/**
 * The CNI protocol as the runtime sees it, by invoking the plugin process directly: VERSION, every error code,
 * pass-through, DEL's idempotence, STATUS and GC at 1.1.0 (which libcni 1.1.2 cannot drive).
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { cniEnv, invokePlugin, scopedTempDir } from "./support/plugin.ts";

const PREV_110 = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "cnibr0", mac: "aa:bb:cc:dd:ee:01" }, {
    name: "eth0",
    mac: "aa:bb:cc:dd:ee:02",
    sandbox: "/var/run/netns/x",
    mtu: 1400,
  }],
  ips: [{ interface: 1, address: "10.99.0.2/24", gateway: "10.99.0.1" }],
  routes: [{ dst: "0.0.0.0/0", table: 100, mtu: 1400, scope: 0 }],
  dns: {},
  futureField: { anything: [1.5, "x"] },
};

function conf(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: version, name: "testnet", type: "chainsaw", ...extra };
}

function assertNoStackTrace(text: string): void {
  assert(!/\n\s+at /.test(text), `stack trace leaked: ${text}`);
}

Deno.test("VERSION echoes the request's cniVersion and lists supported versions", async () => {
  const r = await invokePlugin({ CNI_COMMAND: "VERSION" }, { cniVersion: "1.1.0" });
  assertEquals(r.code, 0);
  assertEquals(r.json, {
    cniVersion: "1.1.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
  const old = await invokePlugin({ CNI_COMMAND: "VERSION" }, { cniVersion: "0.4.0" });
  assertEquals(old.json?.cniVersion, "0.4.0");
});

Deno.test("ADD passes a 1.1.0 prevResult through byte for byte, unknown fields included", async () => {
  const prevText = JSON.stringify(PREV_110, null, 1); // unusual spacing must survive as well
  const stdin =
    `{"cniVersion":"1.1.0","name":"testnet","prevResult":${prevText},"type":"chainsaw","foo":"bar"}`;
  const r = await invokePlugin(cniEnv("ADD"), stdin);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assertEquals(r.stdout, prevText);
});

Deno.test("ADD without prevResult fails with code 7 saying chainsaw must follow an interface plugin", async () => {
  const r = await invokePlugin(cniEnv("ADD"), conf("1.0.0"));
  assertEquals(r.code, 1);
  assertEquals(r.json?.code, 7);
  assertEquals(r.json?.cniVersion, "1.0.0");
  assertStringIncludes(String(r.json?.msg), "must follow an interface plugin");
});

Deno.test("error codes: env (4), decoding (6), config (7), version (1), unknown verb (4)", async () => {
  const cases: Array<[string, Record<string, string>, string | object, number, string]> = [
    [
      "missing env",
      { CNI_COMMAND: "ADD" },
      conf("1.0.0"),
      4,
      "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH",
    ],
    ["bad container id", cniEnv("ADD", { CNI_CONTAINERID: "../x" }), conf("1.0.0"), 4, "CNI_CONTAINERID"],
    ["bad ifname", cniEnv("ADD", { CNI_IFNAME: "way-too-long-ifname" }), conf("1.0.0"), 4, "CNI_IFNAME"],
    ["not JSON", cniEnv("ADD"), "{not json", 6, "error decoding network config"],
    ["no name", cniEnv("ADD"), { cniVersion: "1.0.0" }, 7, "name"],
    ["bad network name", cniEnv("ADD"), conf("1.0.0", { name: "a b" }), 7, "network name"],
    ["unsupported version", cniEnv("ADD"), conf("0.2.0"), 1, "incompatible CNI versions"],
    ["missing version", cniEnv("ADD"), { name: "n" }, 1, "incompatible CNI versions"],
    ["CHECK before 0.4.0", cniEnv("CHECK"), conf("0.3.1"), 1, "does not allow CHECK"],
    ["GC before 1.1.0", { CNI_COMMAND: "GC", CNI_PATH: "/x" }, conf("1.0.0"), 1, "does not allow GC"],
    ["STATUS before 1.1.0", { CNI_COMMAND: "STATUS" }, conf("1.0.0"), 1, "does not allow STATUS"],
    ["unknown verb", cniEnv("FROB"), conf("1.0.0"), 4, "unknown CNI_COMMAND: FROB"],
    [
      "bad chainsaw key",
      cniEnv("ADD", { CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1" }),
      conf("1.0.0", { prevResult: { cniVersion: "1.0.0" }, onError: "explode" }),
      7,
      "onError",
    ],
    [
      "bad prevResult",
      cniEnv("ADD"),
      conf("1.0.0", { prevResult: { interfaces: "eth0" } }),
      7,
      "prevResult.interfaces",
    ],
  ];
  for (const [what, env, stdin, code, msg] of cases) {
    const r = await invokePlugin(env, stdin);
    assertEquals(r.code, 1, `${what}: exit code`);
    assertEquals(r.json?.code, code, `${what}: ${r.stdout}`);
    assertStringIncludes(`${r.json?.msg} ${r.json?.details ?? ""}`, msg, what);
    assertNoStackTrace(r.stdout + r.stderr);
  }
});

Deno.test("DEL succeeds with nothing to do: no prevResult, netns gone, empty CNI_NETNS, broken config", async () => {
  const envs = [cniEnv("DEL"), cniEnv("DEL", { CNI_NETNS: "" })];
  const stdins = [
    conf("1.0.0"),
    conf("0.4.0", { prevResult: { cniVersion: "0.4.0", interfaces: [{ name: "eth0", sandbox: "/gone" }] } }),
    conf("1.0.0", { onError: "explode", kubeconfig: 3 }),
  ];
  for (const env of envs) {
    for (const stdin of stdins) {
      const r = await invokePlugin(
        { ...env, CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=gone" },
        stdin,
      );
      assertEquals([r.code, r.stdout], [0, ""], r.stdout + r.stderr);
    }
  }
});

Deno.test("CHECK needs a well-formed prevResult and prints nothing", async () => {
  const ok = await invokePlugin(cniEnv("CHECK"), conf("1.0.0", { prevResult: { cniVersion: "1.0.0" } }));
  assertEquals([ok.code, ok.stdout], [0, ""]);
  const missing = await invokePlugin(cniEnv("CHECK"), conf("1.0.0"));
  assertEquals(missing.json?.code, 7);
});

Deno.test("STATUS and GC at 1.1.0; STATUS is 50 when a configured daemon socket does not answer", async () => {
  const status = await invokePlugin({ CNI_COMMAND: "STATUS" }, conf("1.1.0"));
  assertEquals([status.code, status.stdout], [0, ""]);
  const gc = await invokePlugin(
    { CNI_COMMAND: "GC", CNI_PATH: "/usr/lib/cni" },
    conf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: "a", ifname: "eth0" }] }),
  );
  assertEquals([gc.code, gc.stdout], [0, ""]);
  const noList = await invokePlugin({ CNI_COMMAND: "GC", CNI_PATH: "/usr/lib/cni" }, conf("1.1.0"));
  assertEquals(noList.json?.code, 7, "GC without cni.dev/valid-attachments would forget everything");
  assertStringIncludes(String(noList.json?.msg), "cni.dev/valid-attachments");
  const dir = await scopedTempDir();
  try {
    const down = await invokePlugin(
      { CNI_COMMAND: "STATUS" },
      conf("1.1.0", { daemonSocket: `${dir.path}/none.sock` }),
    );
    assertEquals(down.code, 1);
    assertEquals(down.json?.code, 50);
    assertStringIncludes(String(down.json?.msg), `${dir.path}/none.sock`);
  } finally {
    await dir.remove();
  }
});

Deno.test("ADD for a pod whose annotations the runtime passes and that has no chainsaw annotation", async () => {
  const prev = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }] };
  const r = await invokePlugin(
    cniEnv("ADD", { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=abc" }),
    conf("1.0.0", { prevResult: prev, runtimeConfig: { "io.kubernetes.cri.pod-annotations": { x: "y" } } }),
  );
  assertEquals(r.code, 0, r.stdout);
  assertEquals(JSON.parse(r.stdout), prev);
});

Deno.test("ADD with commands into a netns that does not exist is code 3 naming it; nothing runs", async () => {
  const prev = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", sandbox: "/var/run/netns/does-not-exist" }],
  };
  const r = await invokePlugin(
    cniEnv("ADD", { CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1" }),
    conf("1.0.0", {
      prevResult: prev,
      runtimeConfig: {
        "io.kubernetes.cri.pod-annotations": { "k8s.v1.cni.cncf.io/chainsaw": '["ip route"]' },
      },
    }),
  );
  assertEquals([r.code, r.json?.code], [1, 3], r.stdout);
  assertStringIncludes(String(r.json?.msg), "network namespace /var/run/netns/does-not-exist does not exist");
  assert(!r.stderr.includes("Running ip"), "nothing ran");
});
