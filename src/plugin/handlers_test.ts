/**
 * The verb handlers and the dispatcher in-process, through their seams (skel's PluginIo, the handlers'
 * PluginDeps): what ADD does with each way the daemon can answer, DEL's forget, and the dispatcher's own answers.
 * The "ran here" cases run the real pipeline against a real (empty) netns with an injected `run`.
 */
import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import { sampleCommand } from "../../tests/daemon_fixtures.ts";
import { createNetns, type Netns, requireRoot } from "../../tests/support/netns.ts";
import { type PluginIo, pluginMain } from "../cni/skel.ts";
import type { CommandResult } from "../exec/runner.ts";
import type { Report } from "../report/report.ts";
import type { AddRequest } from "../wire/add.ts";
import type { AttachmentForget, AttachmentRegistration } from "../wire/attachment.ts";
import type { AddExchange, CheckExchange } from "../wire/client.ts";
import type { CheckRequest } from "../wire/check.ts";
import { ADD_ANSWER_WAIT_MS } from "../wire/routes.ts";
import { chainsawHandlers, type PluginDeps, POLICY_DIR_ENV } from "./handlers.ts";

const KEY = "k8s.v1.cni.cncf.io/chainsaw";
const SOCKET = "/run/chainsaw/handlers-test-none.sock";
const PREV = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }],
  ips: [{ address: "192.0.2.5/24", interface: 0 }],
};

/** The network configuration chainsaw gets in the chain (stdin). */
function netconf(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "net-h",
    type: "chainsaw",
    daemonSocket: SOCKET,
    prevResult: PREV,
    ...over,
  };
}

function cniVars(command: string, over: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "ctr-h1",
    CNI_NETNS: "/var/run/netns/x",
    CNI_IFNAME: "net1",
    CNI_PATH: "/usr/lib/cni",
    CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=uid-1",
    ...over,
  };
}

/** Fake edges that record every call; `answer` is what requestAdd resolves. */
function fakeDeps(
  answer: AddExchange | (() => AddExchange),
  env: Record<string, string> = {},
  checked: CheckExchange = { state: "none", reason: "the daemon is not running" },
) {
  const calls = {
    requestAdd: [] as { socket: string; request: AddRequest; timeoutMs: number }[],
    deliver: [] as { report: Report; daemonUp: boolean }[],
    register: [] as AttachmentRegistration[],
    forget: [] as AttachmentForget[],
    check: [] as { socket: string; request: CheckRequest }[],
    run: [] as string[],
  };
  const deps: PluginDeps = {
    getenv: (n) => env[n],
    now: () => new Date(0),
    requestAdd: (socket, request, timeoutMs) => {
      calls.requestAdd.push({ socket, request, timeoutMs });
      return Promise.resolve(typeof answer === "function" ? answer() : answer);
    },
    deliver: (report, _socket, daemonUp) => {
      calls.deliver.push({ report, daemonUp });
      return Promise.resolve();
    },
    register: (_socket, registration) => {
      calls.register.push(registration);
      return Promise.resolve(true);
    },
    forget: (_socket, forget) => {
      calls.forget.push(forget);
      return Promise.resolve(false); // the daemon is down: DEL must not care
    },
    check: (socket, request) => {
      calls.check.push({ socket, request });
      return Promise.resolve(checked);
    },
    run: (command: string, argv: readonly string[]): Promise<CommandResult> => {
      calls.run.push(command);
      return Promise.resolve(sampleCommand({ command, argv: [...argv], exitCode: 0, stdout: "" }));
    },
  };
  return { deps, calls };
}

/** Runs the dispatcher in-process; resolves the exit code, stdout and its JSON. */
async function invoke(
  deps: PluginDeps,
  vars: Record<string, string>,
  stdin: string | Record<string, unknown>,
): Promise<{ code: number; stdout: string; json: Record<string, unknown> | undefined }> {
  let stdout = "";
  const io: PluginIo = {
    getenv: (n) => vars[n],
    readStdin: () => Promise.resolve(typeof stdin === "string" ? stdin : JSON.stringify(stdin)),
    writeStdout: (t) => {
      stdout += t;
      return Promise.resolve();
    },
  };
  const code = await pluginMain(chainsawHandlers(deps), io);
  let json: Record<string, unknown> | undefined;
  try {
    json = stdout === "" ? undefined : JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, json };
}

Deno.test("handlers: ADD the daemon ran prints the prevResult byte for byte and runs nothing here", async () => {
  const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } });
  const stdin = JSON.stringify(
    netconf({ runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [KEY]: "ip route" } } }),
  );
  const r = await invoke(deps, cniVars("ADD"), stdin);
  assertEquals(r.code, 0, r.stdout);
  assertEquals(r.stdout, JSON.stringify(PREV));
  assertEquals(calls.requestAdd.length, 1);
  const sent = calls.requestAdd[0];
  assertEquals(sent.socket, SOCKET);
  assertEquals(sent.timeoutMs, ADD_ANSWER_WAIT_MS);
  assertEquals(sent.request.env, {
    containerId: "ctr-h1",
    netns: "/var/run/netns/x",
    ifname: "net1",
    args: cniVars("ADD").CNI_ARGS,
  });
  assertEquals(sent.request.pod, { namespace: "default", name: "p1", uid: "uid-1" });
  assertEquals(sent.request.network, "net-h");
  assertEquals(sent.request.runtimeAnnotations, { [KEY]: "ip route" });
  assertEquals(sent.request.podInterfaces.sort(), ["eth0", "net1"]);
  assertEquals(sent.request.conf, { daemonSocket: SOCKET });
  assertEquals([calls.run.length, calls.deliver.length, calls.register.length], [0, 0, 0]);
});

Deno.test("handlers: ADD the daemon ran with an error fails with that code, message and details", async () => {
  const { deps, calls } = fakeDeps({
    state: "ran",
    answer: {
      ran: true,
      error: { code: 100, msg: 'command "ip route del x" exited with code 2', details: "d" },
    },
  });
  const r = await invoke(deps, cniVars("ADD"), netconf());
  assertEquals(r.code, 1);
  assertEquals(r.json?.code, 100);
  assertEquals(r.json?.msg, 'command "ip route del x" exited with code 2');
  assertEquals(r.json?.details, "d");
  assertEquals(calls.run.length, 0);
});

Deno.test("handlers: ADD the daemon took but lost is code 11 naming the daemon, never run here", async () => {
  const { deps, calls } = fakeDeps({ state: "lost", reason: "no answer within 60000 ms" });
  const r = await invoke(
    deps,
    cniVars("ADD"),
    netconf({ runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [KEY]: "ip route" } } }),
  );
  assertEquals(r.code, 1);
  assertEquals(r.json?.code, 11, r.stdout);
  assertStringIncludes(String(r.json?.msg), `chainsaw daemon on ${SOCKET}`);
  assertStringIncludes(String(r.json?.msg), "no answer within 60000 ms");
  assertStringIncludes(String(r.json?.msg), "not run again here");
  assertEquals([calls.run.length, calls.deliver.length, calls.register.length], [0, 0, 0]);
});

Deno.test("handlers: ADD without a pod identity passes through without asking the daemon", async () => {
  const { deps, calls } = fakeDeps(() => {
    throw new Error("must not be asked");
  });
  const r = await invoke(deps, cniVars("ADD", { CNI_ARGS: "IgnoreUnknown=1" }), netconf());
  assertEquals([r.code, r.stdout], [0, JSON.stringify(PREV)]);
  assertEquals(calls.requestAdd.length, 0);
});

Deno.test("handlers: ADD without prevResult is code 7 and never reaches the daemon", async () => {
  const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } });
  const { prevResult: _p, ...noPrev } = netconf();
  const r = await invoke(deps, cniVars("ADD"), noPrev);
  assertEquals(r.json?.code, 7, r.stdout);
  assertStringIncludes(String(r.json?.msg), "ADD got no prevResult");
  assertEquals(calls.requestAdd.length, 0);
});

/** Runs `body` with a real, empty netns (the executor checks the netns exists before running anything). */
async function withNetns(body: (ns: Netns) => Promise<void>): Promise<void> {
  const ns = await createNetns("hdl");
  try {
    await body(ns);
  } finally {
    await ns.delete();
  }
}

Deno.test({
  name:
    "handlers: ADD with the daemon down runs here (injected run), reports to stderr only, still passes through",
  ...requireRoot(),
  async fn() {
    await withNetns(async (ns) => {
      const { deps, calls } = fakeDeps({
        state: "declined",
        reason: "the daemon is not running",
        daemonUp: false,
      });
      const stdin = netconf({
        runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [KEY]: '["ip route", "ip -4 addr"]' } },
      });
      const r = await invoke(deps, cniVars("ADD", { CNI_NETNS: ns.path }), stdin);
      assertEquals(r.code, 0, r.stdout);
      assertEquals(r.stdout, JSON.stringify(PREV));
      assertEquals(calls.run, ["ip route", "ip -4 addr"]);
      assertEquals(calls.deliver.length, 1);
      const { report, daemonUp } = calls.deliver[0];
      assertEquals(daemonUp, false);
      assertEquals([report.verb, report.verdict, report.source, report.netns], [
        "ADD",
        "applied",
        "runtime",
        ns.path,
      ]);
      assertEquals(report.pod, { namespace: "default", name: "p1", uid: "uid-1" });
      assertEquals(calls.register.length, 0, "nobody to register with");
    });
  },
});

Deno.test({
  name: "handlers: ADD the daemon declined runs here, reports and registers with it",
  ...requireRoot(),
  async fn() {
    await withNetns(async (ns) => {
      const { deps, calls } = fakeDeps({ state: "declined", reason: "shutting down", daemonUp: true });
      const stdin = netconf({
        runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [KEY]: "ip route" } },
      });
      const r = await invoke(deps, cniVars("ADD", { CNI_NETNS: ns.path }), stdin);
      assertEquals(r.code, 0, r.stdout);
      assertEquals(calls.run, ["ip route"]);
      assertEquals(calls.deliver.map((d) => d.daemonUp), [true]);
      assertEquals(calls.register.length, 1);
      assertEquals(calls.register[0].containerId, "ctr-h1");
      assertEquals(calls.register[0].applied, "ip route");
    });
  },
});

Deno.test({
  name:
    "handlers: with CHAINSAW_POLICY_DIR set ADD runs here without asking the daemon; a rejection is 101, nothing ran",
  ...requireRoot(),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/policy.json`, JSON.stringify({ allow: ["* show|get"] }));
      await withNetns(async (ns) => {
        const { deps, calls } = fakeDeps(() => {
          throw new Error("must not be asked");
        }, { [POLICY_DIR_ENV]: dir });
        const stdin = netconf({
          runtimeConfig: {
            "io.kubernetes.cri.pod-annotations": {
              [KEY]: '["ip route", "ip route add 192.0.3.0/24 dev net1"]',
            },
          },
        });
        const r = await invoke(deps, cniVars("ADD", { CNI_NETNS: ns.path }), stdin);
        assertEquals(r.json?.code, 101, r.stdout);
        assertStringIncludes(String(r.json?.msg), 'command 2 "ip route add 192.0.3.0/24 dev net1"');
        assertEquals(calls.requestAdd.length, 0);
        assertEquals(calls.run, [], "one rejected command: none runs");
        assertEquals(calls.deliver.map((d) => [d.daemonUp, d.report.verdict]), [[true, "rejected"]]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("handlers: DEL sends forget and succeeds though the daemon does not answer; even with no prevResult", async () => {
  const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } });
  const { prevResult: _p, ...noPrev } = netconf();
  for (const stdin of [netconf(), noPrev, { ...noPrev, daemonSocket: 42 }]) {
    const r = await invoke(deps, cniVars("DEL", { CNI_NETNS: "" }), stdin);
    assertEquals([r.code, r.stdout], [0, ""], JSON.stringify(stdin));
  }
  assertEquals(calls.forget, [
    { containerId: "ctr-h1", ifname: "net1" },
    { containerId: "ctr-h1", ifname: "net1" },
    { containerId: "ctr-h1", ifname: "net1" },
  ]);
  assertEquals([calls.requestAdd.length, calls.run.length], [0, 0]);
});

Deno.test("dispatcher: an unknown verb is code 4; VERSION answers the supported versions", async () => {
  const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } });
  const bad = await invoke(deps, cniVars("FROB"), netconf());
  assertEquals([bad.code, bad.json?.code], [1, 4], bad.stdout);
  assertStringIncludes(String(bad.json?.msg), "FROB");
  const v = await invoke(deps, { CNI_COMMAND: "VERSION" }, '{"cniVersion": "0.4.0"}');
  assertEquals(v.code, 0, v.stdout);
  assertEquals(v.json?.cniVersion, "0.4.0");
  const versions = v.json?.supportedVersions as string[];
  for (const x of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) assert(versions.includes(x), x);
  const noStdin = await invoke(deps, { CNI_COMMAND: "VERSION" }, "");
  assertEquals(noStdin.code, 0, noStdin.stdout);
  assertEquals(calls.requestAdd.length + calls.forget.length, 0);
});

Deno.test("dispatcher: CHECK without prevResult is code 7; with one it succeeds silently", async () => {
  const { deps } = fakeDeps({ state: "ran", answer: { ran: true } });
  const { prevResult: _p, ...noPrev } = netconf();
  const bad = await invoke(deps, cniVars("CHECK"), noPrev);
  assertEquals([bad.code, bad.json?.code], [1, 7], bad.stdout);
  assertStringIncludes(String(bad.json?.msg), "CHECK got no prevResult");
  assertEquals(bad.json?.cniVersion, "1.0.0");
  const ok = await invoke(deps, cniVars("CHECK"), netconf());
  assertEquals([ok.code, ok.stdout], [0, ""]);
});

Deno.test("dispatcher: malformed stdin is an error JSON, never a throw", async () => {
  const { deps } = fakeDeps({ state: "ran", answer: { ran: true } });
  const r = await invoke(deps, cniVars("ADD"), "{not json");
  assertEquals(r.code, 1);
  assert(typeof r.json?.code === "number" && r.json.code > 0, r.stdout);
});

const DRIFTED: CheckExchange = {
  state: "answered",
  answer: {
    verdict: "drifted",
    owned: 3,
    differences: [
      "route v4 main 192.0.3.0/24: gone (chainsaw set: dev eth0)",
      "link net1 mtu: 1500, chainsaw set 1400",
    ],
    total: 2,
  },
};

Deno.test("handlers: CHECK asks the daemon about the attachment and fails with 103 naming the first difference", async () => {
  const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } }, {}, DRIFTED);
  const r = await invoke(deps, cniVars("CHECK"), netconf());
  assertEquals(r.code, 1, r.stdout);
  assertEquals(calls.check, [{
    socket: SOCKET,
    request: { containerId: "ctr-h1", ifname: "net1", network: "net-h" },
  }]);
  assertEquals(r.json?.code, 103);
  assertEquals(
    r.json?.msg,
    "what chainsaw set on net1 of pod default/p1 no longer holds: route v4 main 192.0.3.0/24: gone " +
      "(chainsaw set: dev eth0) (and 1 more of 3 objects chainsaw owns)",
  );
  assertEquals(r.json?.details, DRIFTED.state === "answered" ? DRIFTED.answer.differences.join("\n") : "");
  assertEquals(calls.requestAdd.length + calls.register.length + calls.run.length, 0, "CHECK runs nothing");
});

Deno.test("handlers: CHECK passes (no output) when the effect holds, chainsaw owns nothing, or there is no verdict", async () => {
  const cases: CheckExchange[] = [
    { state: "answered", answer: { verdict: "holds", owned: 2, differences: [] } },
    { state: "answered", answer: { verdict: "unowned", owned: 0, differences: [] } },
    { state: "answered", answer: { verdict: "unknown", owned: 2, differences: ["cannot snapshot"] } },
    { state: "none", reason: "the daemon is not running" },
    { state: "none", reason: "no answer within 5000 ms" },
  ];
  for (const c of cases) {
    const { deps, calls } = fakeDeps({ state: "ran", answer: { ran: true } }, {}, c);
    const r = await invoke(deps, cniVars("CHECK"), netconf());
    assertEquals([r.code, r.stdout], [0, ""], JSON.stringify(c));
    assertEquals(calls.check.length, 1);
  }
  // Malformed CNI_ARGS do not turn a drift into another error: the message names the interface only.
  const { deps } = fakeDeps({ state: "ran", answer: { ran: true } }, {}, DRIFTED);
  const r = await invoke(deps, cniVars("CHECK", { CNI_ARGS: "garbage" }), netconf());
  assertEquals(r.json?.code, 103, r.stdout);
  assertStringIncludes(String(r.json?.msg), "what chainsaw set on net1 no longer holds: ");
  // A broken chainsaw config (daemonSocket not a string) still asks the default socket.
  const broken = fakeDeps({ state: "ran", answer: { ran: true } }, {}, DRIFTED);
  await invoke(broken.deps, cniVars("CHECK"), netconf({ daemonSocket: 7 }));
  assertEquals(broken.calls.check[0].socket, "/run/chainsaw/chainsaw.sock");
});
