/**
 * Nothing a pod controls forges or garbles what operators read, end to end: hostile annotations (embedded line
 * breaks with a fake report, ESC[2J, BEL, OSC 8 hyperlinks, U+2028, bidi overrides), hostile `ip` output (an
 * interface name with ESC and an interface alias holding a fake record, CR, U+2028, RLO and invalid UTF-8, made
 * in the pod's real netns) and reports crafted the way a compromised plugin process could post them on the
 * socket. Read back through the real daemon's stdout and stderr (human and JSON formats), `chainsaw logs` (human
 * and `--json`), the plugin's stderr and the Events in the fake API server: no raw control byte anywhere, and
 * exactly one record per report.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ANNOTATION, fixture } from "./support/chain_fixture.ts";
import {
  type FakeApiServer,
  type KubeEvent,
  makePod,
  type Pod,
  startFakeApiServer,
} from "./support/fake_apiserver.ts";
import { Cleanup, createNetns, IP, requireRoot } from "./support/netns.ts";
import {
  ALL_HOSTILE,
  assertNoRawControl,
  countRecords,
  FAKE_HEADER,
  HOSTILE,
  HOSTILE_OUTPUT,
} from "./support/hostile.ts";
import {
  postReport,
  runChainsaw,
  scratchDir,
  startBareDaemon,
  startDaemonOnApi,
  waitFor,
} from "./daemon_harness.ts";
import { sampleCommand, sampleReport } from "./daemon_fixtures.ts";
import { cniEnv, invokePlugin } from "./support/plugin.ts";
import type { Report } from "../src/report/report.ts";
import { OUTPUT_INDENT } from "../src/report/report.ts";

const NODE = "node-hostile";

/** An annotation that is not JSON and carries a whole fake record on its own lines. */
const MALFORMED = `["ip route",\n${FAKE_HEADER}\nResult: applied in 1 ms\n`;

/** A JSON list of commands carrying terminal sequences, separators and bidi controls. */
const HOSTILE_LIST = JSON.stringify([
  HOSTILE.newline,
  HOSTILE.clear,
  HOSTILE.bell,
  HOSTILE.osc8,
  HOSTILE.lineSeparator,
  HOSTILE.rlo,
]);

/** An interface name the kernel accepts (no `/`, `:` or blank), with ESC in it. */
const ESC_IFNAME = "e\x1b[2Jx";

/** An interface alias holding a fake record, terminal sequences, U+2028, RLO, invalid UTF-8 and a CR. */
const ALIAS_BYTES = new Uint8Array([
  ...new TextEncoder().encode(`a\n${FAKE_HEADER}\nResult: applied in 1 ms\n\x1b[2J\x07\u2028\u202e`),
  0xff,
  0xfe,
  0x0d,
]);

/** The lines a human record may have: its header, its fixed lines, and indented command output. */
const RECORD_LINE =
  /^(\S+ (ADD|DEL|CHECK|REAPPLY) \S+ container=\S+ netns=\S+ ifname=\S+ network=\S+|Detected commands: \[.*\]|(Running|Kept) ip .* =+|\((exit -?\d+|timed out|killed by .*), [\d.]+ ms(, output truncated)?\)|\(kept: .*\)|(Taken back|Left alone: changed since chainsaw set it): .*|Owned: \d+ objects?|Result: \w+.* in [\d.]+ ms)$/;

function pod(annotation: string, over: Partial<{ namespace: string; name: string; uid: string }> = {}): Pod {
  return makePod({
    namespace: over.namespace ?? "default",
    name: over.name ?? "p1",
    uid: over.uid ?? "uid-1",
    nodeName: NODE,
    annotations: { [ANNOTATION]: annotation },
  });
}

/** Checks a human-format stream: `records` records, each line one of {@link RECORD_LINE} or indented output. */
function assertHumanRecords(text: string, records: number, what: string): void {
  assertNoRawControl(text, what);
  assertEquals(countRecords(text), { headers: records, ends: records }, `${what}:\n${text}`);
  for (const line of text.replace(/\n$/, "").split("\n")) {
    assert(
      line.startsWith(OUTPUT_INDENT) || RECORD_LINE.test(line),
      `${what}: unexpected line ${JSON.stringify(line)}`,
    );
  }
}

/** Checks a JSON-lines stream: `records` lines, each exact JSON with nothing raw. */
function assertJsonLines(text: string, records: number, what: string): unknown[] {
  assertNoRawControl(text.replaceAll("\n", " "), what);
  const lines = text.replace(/\n$/, "").split("\n");
  assertEquals(lines.length, records, `${what}:\n${text}`);
  return lines.map((l) => JSON.parse(l));
}

/** Checks the daemon's own messages: one line each, nothing raw. */
function assertDaemonMessages(text: string, json: boolean): void {
  assertNoRawControl(text.replaceAll("\n", " "), "daemon stderr");
  for (const line of text.replace(/\n$/, "").split("\n")) {
    if (json) JSON.parse(line);
    else {assert(
        /^\d{4}-\d\d-\d\dT\S+ chainsaw daemon: /.test(line),
        `daemon stderr line ${JSON.stringify(line)}`,
      );}
  }
}

/** A report a compromised plugin could post: every string field hostile, output with forged records. */
function craftedReport(over: Partial<Report> = {}): Report {
  return sampleReport({
    node: NODE,
    containerId: `c${HOSTILE.cr}`,
    netns: `/var/run/netns/x${HOSTILE.lineSeparator}`,
    ifname: `net1${HOSTILE.clear}`,
    network: `n${HOSTILE.osc8}`,
    annotation: ALL_HOSTILE,
    detected: Object.values(HOSTILE),
    commands: [
      sampleCommand({
        command: ALL_HOSTILE,
        argv: Object.values(HOSTILE),
        stdout: HOSTILE_OUTPUT,
        stderr: HOSTILE_OUTPUT,
      }),
      sampleCommand({ exitCode: null, signal: `SIGKILL${HOSTILE.newline}`, stdout: "", stderr: "" }),
    ],
    verdict: "failed",
    error: { code: 100, msg: `command ${HOSTILE.newline} failed:\n${HOSTILE_OUTPUT}` },
    ...over,
  });
}

function podEvents(api: FakeApiServer): KubeEvent[] {
  return api.events().filter((e) => (e.involvedObject as { name?: string })?.name === "p1");
}

Deno.test({
  name:
    "hostile output: annotations, ip output and crafted reports through the real chain, daemon, logs and Events",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const api = await startFakeApiServer({
      pods: [pod('["ip link show", "ip route"]')],
      bookmarkIntervalMs: 200,
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const { daemon: d, kubeconfig } = await startDaemonOnApi(cleanup, api, { node: NODE });
    const f = await fixture("hout", { kubeconfig, daemonSocket: d.socket });
    cleanup.defer(() => f.cleanup.run(), "chain");

    // Hostile interface state inside the pod's netns: `ip link show` prints it.
    const veth = await f.ns.exec([
      IP,
      "link",
      "add",
      "name",
      ESC_IFNAME,
      "type",
      "veth",
      "peer",
      "name",
      "hv1",
    ]);
    assertEquals(veth.code, 0, veth.stderr);
    const alias = await f.ns.exec([
      IP,
      "link",
      "set",
      "dev",
      "hv1",
      "alias",
      new TextDecoder().decode(ALIAS_BYTES),
    ]);
    assertEquals(alias.code, 0, alias.stderr);

    // 1. ADD runs `ip link show`: its output reaches the daemon (and the plugin's stderr) neutralised.
    const add = await f.chain("add");
    assertEquals(add.code, 0, add.stdout + add.stderr);
    await waitFor("the ADD record", () => countRecords(d.stdout()).ends === 1);
    assert(d.stdout().includes(`${OUTPUT_INDENT}    alias a\n${OUTPUT_INDENT}${FAKE_HEADER}\n`), d.stdout());
    assert(d.stdout().includes(String.raw`e\x1b[2Jx`), "the ESC in the interface name is shown escaped");
    assert(d.stdout().includes("\ufffd"), "invalid UTF-8 in the output shows as U+FFFD");
    // The daemon ran this ADD: the plugin printed no record (its own record is checked in step 4).
    assertEquals(add.stderr, "", "plugin stderr (ADD run by the daemon)");

    // 2. A malformed annotation quoting a fake record, then a list of commands with terminal sequences: each
    //    is one REAPPLY record, rejected.
    api.setPod(pod(MALFORMED));
    await waitFor("the malformed REAPPLY record", () => countRecords(d.stdout()).ends === 2);
    api.setPod(pod(HOSTILE_LIST));
    await waitFor("the hostile REAPPLY record", () => countRecords(d.stdout()).ends === 3);

    // 3. Reports crafted by a compromised plugin: one about the real pod, one with hostile pod names.
    assertEquals(await postReport(d.socket, craftedReport()), 204);
    const forgedPod = { namespace: `default${HOSTILE.newline}`, name: `p1${HOSTILE.rlo}`, uid: ALL_HOSTILE };
    assertEquals(await postReport(d.socket, craftedReport({ pod: forgedPod })), 204);
    await waitFor("the crafted records", () => countRecords(d.stdout()).ends === 5);

    // Events: one per execution on the real pod (applied, two rejected, the crafted failure), nothing raw.
    await waitFor("the four Events on the pod", () => podEvents(api).length === 4);
    const events = podEvents(api);
    assertEquals(events.map((e) => e.reason).sort(), [
      "ChainsawApplied",
      "ChainsawFailed",
      "ChainsawRejected",
      "ChainsawRejected",
    ]);
    for (const e of api.events()) {
      const message = String(e.message);
      assertNoRawControl(message.replaceAll("\n", " "), `Event ${e.reason}`);
      for (const line of message.split("\n").slice(1)) {
        assert(
          /^(\[|commands: |\(\d+ more not run\)$)/.test(line),
          `Event ${e.reason} line ${JSON.stringify(line)}`,
        );
      }
    }

    // The daemon's stdout, its own messages, `chainsaw logs` and `chainsaw logs --json`.
    assertHumanRecords(d.stdout(), 5, "daemon stdout (human)");
    assertDaemonMessages(d.stderr(), false);
    const logs = await runChainsaw(["logs", "--socket", d.socket]);
    assertEquals(logs.code, 0, logs.stderr);
    assertHumanRecords(logs.stdout, 5, "chainsaw logs");
    assertEquals(logs.stdout, d.stdout(), "chainsaw logs prints what the daemon printed");
    const json = await runChainsaw(["logs", "--json", "--socket", d.socket]);
    assertEquals(json.code, 0, json.stderr);
    const reports = assertJsonLines(json.stdout, 5, "chainsaw logs --json") as Report[];
    assertEquals(reports[3], craftedReport(), "the JSON is the exact report posted");
    assertEquals(reports[4].pod, forgedPod);

    const del = await f.chain("del");
    assertEquals(del.code, 0, del.stdout + del.stderr);

    // 4. The same ADD run by the plugin itself (the daemon is gone): its stderr record is neutralised too.
    assertEquals((await d.stop()).code, 0);
    api.setPod(pod('["ip link show", "ip route"]'));
    const here = await f.chain("add");
    assertEquals(here.code, 0, here.stdout + here.stderr);
    assertHumanRecords(here.stderr, 1, "plugin stderr (ADD run in the plugin)");
    assert(here.stderr.includes(String.raw`e\x1b[2Jx`), "the ESC in the interface name is shown escaped");
    assert(here.stderr.includes("\ufffd"), "invalid UTF-8 in the output shows as U+FFFD");
    const del2 = await f.chain("del");
    assertEquals(del2.code, 0, del2.stdout + del2.stderr);
  },
});

Deno.test({
  name: "hostile output: the daemon's JSON format is exact JSON, one line per report, nothing raw",
  async fn() {
    await using cleanup = new Cleanup();
    const d = await startBareDaemon(cleanup, ["--log-format", "json", "--shutdown-delay-seconds", "0"]);
    const crafted = [
      craftedReport(),
      craftedReport({ verb: "DEL", pod: { namespace: "a\nb", name: "\u2028", uid: "" } }),
    ];
    for (const r of crafted) assertEquals(await postReport(d.socket, r), 204);
    await waitFor("two JSON records", () => d.stdout().split("\n").length === 3);
    assertEquals(assertJsonLines(d.stdout(), 2, "daemon stdout (json)"), crafted);
    assertDaemonMessages(d.stderr(), true);
  },
});

Deno.test({
  name:
    "hostile output: a rejected annotation on the plugin's stderr is one record; its stdout is exact JSON",
  ...requireRoot(),
  async fn() {
    await using cleanup = new Cleanup();
    const tmp = await scratchDir();
    cleanup.defer(tmp.remove, "scratch dir");
    const ns = await createNetns("hrej");
    cleanup.defer(() => ns.delete(), "netns");
    for (const annotation of [MALFORMED, HOSTILE_LIST]) {
      const r = await invokePlugin(
        cniEnv("ADD", {
          CNI_NETNS: ns.path,
          CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=uid-1",
        }),
        {
          cniVersion: "1.0.0",
          name: "net-hostile",
          type: "chainsaw",
          daemonSocket: `${tmp.path}/absent.sock`,
          prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: ns.path }] },
          runtimeConfig: { "io.kubernetes.cri.pod-annotations": { [ANNOTATION]: annotation } },
        },
      );
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertEquals(r.json?.code, 101, r.stdout);
      assertEquals(r.stdout.trim().split("\n").length, 1, "the error is one JSON line");
      assertHumanRecords(r.stderr, 1, "plugin stderr (rejected)");
      assert(r.stderr.includes("Result: rejected (code 101: "), r.stderr);
    }
    // A network name the plugin refuses: the error is exact JSON on one line, nothing reaches stderr raw.
    const bad = await invokePlugin(cniEnv("ADD"), {
      cniVersion: "1.0.0",
      name: `net${HOSTILE.newline}`,
      type: "chainsaw",
      prevResult: { cniVersion: "1.0.0" },
    });
    assertEquals(bad.json?.code, 7, bad.stdout);
    assertEquals(bad.stdout.trim().split("\n").length, 1);
    assertNoRawControl(bad.stderr, "plugin stderr (code 7)");
  },
});
