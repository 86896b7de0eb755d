import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { DEFAULT_DAEMON_SOCKET } from "../host_paths.ts";
import { SERVICE_ACCOUNT_DIR } from "../kube/kubeconfig.ts";
import { NODE_POLICY_DIR } from "../policy/load.ts";
import { DEFAULT_ATTACHMENTS_PATH } from "./attachments/attachment_store.ts";
import { DAEMON_DEFAULTS, DAEMON_FLAGS, type DaemonFlag, listenUrl, parseHealthAddr } from "./flags.ts";
import { DaemonOptionsSchema, decodeDaemonOptions, withEnvironment } from "./options.ts";

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

// ---------------------------------------------------------------------------------------------------------------
// docs/daemon.md's flags table is generated from DAEMON_FLAGS: this test compares them.

const DOCS = new URL("../../docs/daemon.md", import.meta.url);

/** The docs row of a flag: the flag (its choices spelled out), the default as shown, what it does. */
function docRow(row: DaemonFlag): string[] {
  const flag = row.choices ? row.flag.replace(/<[^>]*>/, row.choices.join("\\|")) : row.flag;
  return [`\`${flag}\``, row.defaultText ?? `\`${String(row.default)}\``, row.doc ?? row.help];
}

/** The table docs/daemon.md should have under "### `chainsaw daemon`" (paste it there; `deno fmt` pads it). */
function renderTable(): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(["flag", "default", "meaning"]),
    line(["---", "---", "---"]),
    ...DAEMON_FLAGS.map(docRow).map(line),
  ]
    .join("\n");
}

/** The cells of the first table after `heading` (a `\|` stays inside its cell). */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split("\n");
  const at = lines.indexOf(heading);
  assert(at >= 0, `docs/daemon.md has the heading ${heading}`);
  let i = at + 1;
  while (i < lines.length && !lines[i].startsWith("|") && !lines[i].startsWith("#")) i++;
  const rows: string[][] = [];
  for (; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

Deno.test("docs/daemon.md: the flags table of `chainsaw daemon` is the flags table's (DAEMON_FLAGS)", async () => {
  const rows = tableAfter(await Deno.readTextFile(DOCS), "### `chainsaw daemon`");
  const want = DAEMON_FLAGS.map(docRow);
  assertEquals(
    rows.length > 2 ? [rows[0], ...rows.slice(2)] : rows,
    [["flag", "default", "meaning"], ...want],
    `docs/daemon.md differs from src/daemon/flags.ts; the table generated from it:\n\n${renderTable()}\n`,
  );
});

Deno.test("the flags table: one row per attribute and flag; defaults decode; the schema has exactly its rows", () => {
  const attributes = DAEMON_FLAGS.map((f) => f.attribute);
  assertEquals(new Set(attributes).size, attributes.length, "attributes are unique");
  const flags = DAEMON_FLAGS.map((f) => f.flag.split(" ")[0]);
  assertEquals(new Set(flags).size, flags.length, "flags are unique");
  assertEquals(Object.keys(DaemonOptionsSchema.shape).sort(), [...attributes].sort());
  // Every default is a valid value of its own type, and decoding nothing gives the defaults.
  const decoded = decodeDaemonOptions({}) as Record<string, unknown>;
  for (const f of DAEMON_FLAGS) assertEquals(decoded[f.attribute], f.default, f.flag);
  for (const f of DAEMON_FLAGS) {
    if (f.default === undefined) assert(!("default" in f && f.default !== undefined));
    assert(
      f.flag.startsWith("--no-") === (f.default === true),
      `${f.flag}: only default-true booleans are --no-`,
    );
  }
});
