/**
 * The plugin⇄daemon contract cannot drift: a real daemon serves every route of src/wire/routes.ts with its method
 * (and refuses the other methods with 405), the plugin's own client functions get valid answers from it, every
 * wire message round-trips through its schema (fast-check), a report sent by the client reads back unchanged
 * from the logs route, and the import graph keeps the rooms apart (no server imports its client).
 */
import * as fc from "fast-check";
import { assertProperty, sampleOf } from "./support/property.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { ANNOTATION } from "./support/chain_fixture.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { Cleanup } from "./support/netns.ts";
import { socketRequest, startDaemonOnApi } from "./daemon_harness.ts";
import { sampleReport } from "./daemon_fixtures.ts";
import { type RouteName, ROUTES } from "../src/wire/routes.ts";
import { type AddAnswer, AddAnswerSchema, type AddRequest, AddRequestSchema } from "../src/wire/add.ts";
import {
  type AttachmentForget,
  AttachmentForgetSchema,
  type AttachmentRegistration,
  AttachmentRegistrationSchema,
} from "../src/wire/attachment.ts";
import { GcAnswerSchema, type GcRequest, GcRequestSchema } from "../src/wire/gc.ts";
import { type PodRef, PodRefSchema } from "../src/wire/pod_ref.ts";
import { ReportSchema } from "../src/wire/report.ts";
import type { Report } from "../src/report/report.ts";
import {
  daemonHealthy,
  forgetAttachment,
  forwardGc,
  lookUpPod,
  registerAttachment,
  requestAdd,
  sendReport,
} from "../src/wire/client.ts";

const NODE = "node-contract";
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries: valid wire messages.

const text = (max = 40) => fc.string({ maxLength: max, unit: "grapheme" });
const nonEmpty = (max = 40) => fc.string({ minLength: 1, maxLength: max });
const podRef: fc.Arbitrary<PodRef> = fc.record({ namespace: nonEmpty(), name: nonEmpty(), uid: text() });
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
// "__proto__" as a key does not survive a JSON object's decoding into a record (it sets the prototype); no
// Kubernetes annotation key (a qualified name) and no chainsaw config key can be it.
const key = (max: number) => text(max).filter((k) => k !== "__proto__");
const annotations = fc.dictionary(key(20), text(), { maxKeys: 4 });

const addRequest: fc.Arbitrary<AddRequest> = fc.record({
  env: fc.record({ containerId: text(), netns: text(), ifname: text(), args: text(80) }),
  network: text(),
  cniVersion: fc.constantFrom("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
  conf: fc.dictionary(key(12), jsonValue, { maxKeys: 4 }),
  pod: podRef,
  runtimeAnnotations: fc.option(annotations, { nil: null }),
  podInterfaces: fc.array(text(15), { maxLength: 5 }),
  trace: fc.record({ traceparent: text(55), tracestate: text() }, { requiredKeys: ["traceparent"] }),
}, { requiredKeys: ["env", "network", "cniVersion", "conf", "pod", "podInterfaces"] });

const addAnswer: fc.Arbitrary<AddAnswer> = fc.oneof(
  fc.record({ ran: fc.constant(false as const), reason: text() }),
  fc.record({
    ran: fc.constant(true as const),
    error: fc.record({ code: fc.integer({ min: 1, max: 999 }), msg: text(), details: text() }, {
      requiredKeys: ["code", "msg"],
    }),
  }, { requiredKeys: ["ran"] }),
);

const registration: fc.Arbitrary<AttachmentRegistration> = fc.record({
  containerId: text(),
  netns: text(),
  ifname: text(),
  network: text(),
  pod: podRef,
  podInterfaces: fc.array(text(15), { maxLength: 5 }),
  chainPolicy: jsonValue,
  onError: fc.constantFrom("fail" as const, "continue" as const),
  ipPath: text(),
  nsenterPath: text(),
  applied: text(),
}, { requiredKeys: ["containerId", "netns", "ifname", "network", "pod", "podInterfaces", "onError"] });

const forget: fc.Arbitrary<AttachmentForget> = fc.record({ containerId: nonEmpty(), ifname: text() }, {
  requiredKeys: ["containerId"],
});

const gcRequest: fc.Arbitrary<GcRequest> = fc.record({
  network: nonEmpty(),
  valid: fc.array(fc.record({ containerId: text(), ifname: text() }), { maxLength: 5 }),
});

const ms = fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 100);
const command = fc.record({
  command: text(),
  argv: fc.array(text(), { maxLength: 4 }),
  exitCode: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
  signal: fc.option(fc.constantFrom("SIGKILL", "SIGTERM"), { nil: null }),
  timedOut: fc.boolean(),
  durationMs: ms,
  stdout: text(100),
  stderr: text(100),
  truncated: fc.boolean(),
});

const report: fc.Arbitrary<Report> = fc.record({
  v: fc.constant(1 as const),
  time: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  verb: fc.constantFrom("ADD", "DEL", "REAPPLY"),
  node: text(),
  pod: podRef,
  containerId: text(),
  netns: text(),
  ifname: text(),
  network: text(),
  source: fc.constantFrom("runtime" as const, "daemon" as const, "api" as const, "none" as const),
  annotation: text(),
  traceId: fc.stringMatching(/^[0-9a-f]{32}$/),
  detected: fc.array(text(), { maxLength: 3 }),
  commands: fc.array(command, { maxLength: 3 }),
  verdict: fc.constantFrom(
    "applied" as const,
    "failed" as const,
    "rejected" as const,
    "nothing" as const,
    "error" as const,
  ),
  error: fc.record({ code: fc.integer({ min: 1, max: 999 }), msg: text() }),
  durationMs: ms,
}, {
  requiredKeys: [
    "v",
    "time",
    "verb",
    "containerId",
    "netns",
    "ifname",
    "network",
    "detected",
    "commands",
    "verdict",
    "durationMs",
  ],
});

/** A schema's parse of the message's JSON text must be the message itself. */
function roundTrips<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: unknown } },
): void {
  assertProperty(
    fc.property(arb, (m) => {
      const sent = JSON.parse(JSON.stringify(m)); // what crosses the socket (fast-check may build null prototypes)
      const r = schema.safeParse(sent);
      assert(r.success, `${name}: ${JSON.stringify(m)} refused: ${String(r.error)}`);
      assertEquals(r.data, sent, name);
    }),
    { numRuns: 200 },
  );
}

Deno.test("wire: every message round-trips through its schema as JSON", () => {
  roundTrips("AddRequest", addRequest, AddRequestSchema);
  roundTrips("AddAnswer", addAnswer, AddAnswerSchema);
  roundTrips("AttachmentRegistration", registration, AttachmentRegistrationSchema);
  roundTrips("AttachmentForget", forget, AttachmentForgetSchema);
  roundTrips("GcRequest", gcRequest, GcRequestSchema);
  roundTrips("GcAnswer", fc.record({ removed: fc.nat() }), GcAnswerSchema);
  roundTrips("PodRef", podRef, PodRefSchema);
  roundTrips("Report", report, ReportSchema);
});

Deno.test("wire: the schemas refuse what the other side must never accept", () => {
  const req = sampleOf(addRequest, 1)[0];
  assert(!AddRequestSchema.safeParse({ ...req, env: undefined }).success, "env is required");
  assert(!AddRequestSchema.safeParse({ ...req, pod: { ...req.pod, name: "" } }).success, "empty pod name");
  assert(
    !AddRequestSchema.safeParse({ ...req, network: "x".repeat(5000) }).success,
    "strings are bounded",
  );
  assert(
    !AddAnswerSchema.safeParse({ ran: true, error: { code: "100", msg: "x" } }).success,
    "code is a number",
  );
  assert(!AddAnswerSchema.safeParse({ ran: false }).success, "a decline names its reason");
  assert(!AttachmentForgetSchema.safeParse({ containerId: "" }).success, "forget needs a container");
  assert(!GcRequestSchema.safeParse({ network: "n" }).success, "gc needs its valid list");
  assert(!ReportSchema.safeParse({ ...sampleReport(), v: 2 }).success, "report version");
});

// ---------------------------------------------------------------------------------------------------------------
// Against a running daemon.

/** A concrete request path for each route (parameters filled in for the pod default/p1). */
const PATH_OF: Record<string, string> = {
  pods: `${ROUTES.pods.path}/default/p1?uid=uid-1&waitMs=1000`,
  logs: `${ROUTES.logs.path}?pod=default/p1`,
  explain: "/v1/explain?pod=default/p1",
};

/** The router's own answer for a path it does not serve (a route's 404, e.g. "pod not cached", is different). */
function unserved(status: number, body: string): boolean {
  return status === 404 && body.startsWith("no such path");
}

Deno.test({
  name:
    "wire: the real daemon serves every route with its method, 405 for the others, and the client's calls work",
  ...(Deno.uid() === 0 ? {} : { ignore: true }),
  async fn() {
    await using cleanup = new Cleanup();
    const api = await startFakeApiServer({
      pods: [makePod({
        namespace: "default",
        name: "p1",
        uid: "uid-1",
        nodeName: NODE,
        annotations: { [ANNOTATION]: "ip route" },
      })],
    });
    cleanup.defer(() => api.close(), "fake apiserver");
    const { daemon: d } = await startDaemonOnApi(cleanup, api, { node: NODE });

    // The client's typed calls, one per route, against the daemon (their schemas check the answers).
    assert(await daemonHealthy(d.socket, 2000), "health");
    const reg: AttachmentRegistration = {
      containerId: "ctr-contract",
      netns: "/var/run/netns/cs-contract-none",
      ifname: "eth0",
      network: "contract-net",
      pod: { namespace: "default", name: "p1", uid: "uid-1" },
      podInterfaces: ["eth0"],
      onError: "fail",
      applied: "ip route",
    };
    assert(await registerAttachment(d.socket, reg, 2000), "register");
    assertEquals(await lookUpPod(d.socket, reg.pod), {
      uid: "uid-1",
      annotations: { [ANNOTATION]: "ip route" },
    });
    const sent = sampleReport({ containerId: "ctr-contract", node: NODE });
    assert(await sendReport(d.socket, sent, 2000), "report");
    const add: AddRequest = {
      env: {
        containerId: "ctr-contract-add",
        netns: "/var/run/netns/cs-contract-none",
        ifname: "eth0",
        args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=uid-1",
      },
      network: "contract-net",
      cniVersion: "1.0.0",
      conf: {},
      pod: reg.pod,
      runtimeAnnotations: null,
      podInterfaces: ["eth0"],
    };
    assertEquals(await requestAdd(d.socket, add, 5000), { state: "ran", answer: { ran: true } });
    const proc = await requestAdd(
      d.socket,
      { ...add, env: { ...add.env, netns: "/proc/12345/ns/net" } },
      5000,
    );
    assertEquals(proc.state, "declined", JSON.stringify(proc));
    assertEquals(await forwardGc(d.socket, { network: "other-net", valid: [] }, 2000), 0);

    // Every route in routes.ts, generically: served with its method, 405 (naming it) with any other.
    for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
      const path = PATH_OF[name] ?? route.path;
      const body = route.method === "POST" ? "{}" : undefined;
      const ok = await socketRequest(d.socket, path, { method: route.method, body });
      assert(!unserved(ok.status, ok.text), `${route.method} ${path} is not served: ${ok.status} ${ok.text}`);
      assert(ok.status !== 405, `${route.method} ${path}: 405 ${ok.text}`);
      assert(ok.status < 500 || name === "explain", `${route.method} ${path}: ${ok.status} ${ok.text}`);
      for (const wrong of ["GET", "POST", "PUT", "DELETE"].filter((m) => m !== route.method)) {
        const r = await socketRequest(d.socket, path, {
          method: wrong,
          body: wrong === "GET" ? undefined : "{}",
        });
        assertEquals(r.status, 405, `${wrong} ${path}: ${r.status} ${r.text}`);
        assertEquals(r.headers.get("allow"), route.method, `${wrong} ${path}: Allow`);
      }
    }
    const nope = await socketRequest(d.socket, "/v1/no-such-route");
    assert(
      unserved(nope.status, nope.text),
      `an unknown path is the router's 404: ${nope.status} ${nope.text}`,
    );

    // A report the client sends reads back from the logs route exactly (the two sides share one schema).
    const reports: Report[] = sampleOf(report, 15).map((r, i) =>
      JSON.parse(JSON.stringify({ ...r, pod: { namespace: "contract", name: `r${i}`, uid: `u${i}` } }))
    );
    for (const r of reports) assert(await sendReport(d.socket, r, 2000), JSON.stringify(r));
    for (const r of reports) {
      const res = await socketRequest(d.socket, `${ROUTES.logs.path}?pod=contract/${r.pod!.name}`);
      assertEquals(res.status, 200, res.text);
      const lines = res.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      assertEquals(lines, [r]);
    }
    const mine = await socketRequest(d.socket, `${ROUTES.logs.path}?pod=default/p1`);
    const back = mine.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Report);
    assert(back.some((r) => r.containerId === "ctr-contract"), mine.text);
    for (const r of back) assert(ReportSchema.safeParse(r).success, JSON.stringify(r));
    assert(await forgetAttachment(d.socket, { containerId: "ctr-contract" }, 2000), "forget");
  },
});

// ---------------------------------------------------------------------------------------------------------------
// The import graph.

/** Every non-test module under src/ with the repo-relative paths it imports (static and dynamic, relative only). */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const src = await Deno.readTextFile(`${ROOT}/${rel}`);
        const specs = [
          ...src.matchAll(/\b(?:import|export)\s[^;"']*?from\s*["']([^"']+)["']/g),
          ...src.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
          ...src.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
        ].map((m) => m[1]).filter((s) => s.startsWith("."));
        const base = rel.replace(/[^/]*$/, "");
        graph.set(rel, specs.map((s) => new URL(s, `file:///${base}`).pathname.slice(1)));
      }
    }
  }
  await walk("src");
  return graph;
}

Deno.test("wire: the rooms import downwards only (no server imports its client, no protocol imports a role)", async () => {
  const graph = await importGraph();
  assert(graph.size > 50, `the scan found the modules (${graph.size})`);
  assert(
    (graph.get("src/plugin/handlers.ts") ?? []).includes("src/wire/client.ts"),
    "the scan reads imports",
  );
  for (
    const room of [
      "src/cli/",
      "src/daemon/",
      "src/host/",
      "src/http/",
      "src/async/",
      "src/wire/",
      "src/declarative/",
      "src/netns/",
    ]
  ) {
    assert([...graph.keys()].some((f) => f.startsWith(room)), `the scan reaches ${room}`);
  }
  assert(
    (graph.get("src/cli/daemon.ts") ?? []).includes("src/daemon/daemon.ts"),
    "the scan reads dynamic imports",
  );
  const roles = /^src\/(plugin|daemon|cli)\//;
  // What src/cli may import of src/daemon: the flags table (options and defaults), the options decoder, and the
  // daemon's entry point (loaded by `chainsaw daemon` on use).
  const DAEMON_FOR_CLI = ["src/daemon/flags.ts", "src/daemon/options.ts", "src/daemon/daemon.ts"];
  const rules: { from: RegExp; bad: (target: string) => boolean; why: string }[] = [
    {
      from: /^src\/daemon\//,
      bad: (t) => t.startsWith("src/plugin/") || t === "src/wire/client.ts",
      why: "the daemon never imports the plugin or the plugin's client",
    },
    {
      from: /^src\/wire\//,
      bad: (t) => !/^src\/(text|cni|report|wire)\/|^src\/[^/]+\.ts$/.test(t),
      why:
        "the contract imports only the protocol, text and the Report (no role, no execution, no declarative model)",
    },
    { from: /^src\/exec\//, bad: (t) => roles.test(t), why: "execution imports no role" },
    {
      // Between the snapshot model (src/netns/) and exec's run (`exec/declarative.ts` imports it; drift and
      // explain too).
      from: /^src\/declarative\//,
      bad: (t) => !/^src\/(text|cni|wire|netns|declarative)\/|^src\/[^/]+\.ts$/.test(t),
      why:
        "the declarative model is pure: the effect's wire types and the netns snapshot model, no I/O, no role",
    },
    {
      // Below both the executor (snapshot, restore) and the declarative model (snapshots as objects).
      from: /^src\/netns\//,
      bad: (t) => !t.startsWith("src/netns/"),
      why: "the netns snapshot model is pure and imports nothing of chainsaw",
    },
    {
      from: /^src\/annotation\//,
      bad: (t) => !/^src\/(text|cni|annotation)\/|^src\/[^/]+\.ts$/.test(t),
      why: "the annotation language imports nothing above it",
    },
    {
      from: /^src\/kube\//,
      bad: (t) => /^src\/(daemon|plugin|cli)\//.test(t),
      why: "the API client imports no daemon or plugin module",
    },
    {
      from: /^src\/cli\//,
      bad: (t) => t.startsWith("src/daemon/") && !DAEMON_FOR_CLI.includes(t),
      why: "the CLI imports the daemon only for its flags, options and defaults (and `daemon` for its entry)",
    },
    {
      from: /^src\/daemon\//,
      bad: (t) => t.startsWith("src/cli/"),
      why: "the daemon imports no command",
    },
    {
      from: /^src\/daemon\/effect\//,
      bad: (t) => /^src\/daemon\/(drift|explain)\//.test(t),
      why: "the effect's observation and CNI CHECK sit below the drift checks and explain, which use them",
    },
    {
      from: /^src\/host\//,
      bad: (t) => roles.test(t),
      why: "the host files the daemon and `chainsaw install` share import no role",
    },
    {
      from: /^src\/http\//,
      bad: (t) => !/^src\/(http|async)\/|^src\/bytes\.ts$/.test(t),
      why: "the HTTP server is general: it imports nothing of chainsaw (only the byte helpers and async/)",
    },
    {
      from: /^src\/async\//,
      bad: (t) => !t.startsWith("src/async/"),
      why: "the async helpers are general: they import nothing of chainsaw",
    },
    {
      from: /^src\/(text|cni)\/|^src\/(host_paths|permissions)\.ts$/,
      bad: (t) =>
        /^src\/(annotation|policy|report|exec|netns|declarative|wire|kube|host|http|async|plugin|daemon|cli)\//
          .test(t),
      why: "text, host paths and the CNI protocol are the bottom rooms",
    },
  ];
  const allowed = new Set<string>();
  const broken: string[] = [];
  for (const [file, targets] of graph) {
    for (const rule of rules) {
      if (!rule.from.test(file)) continue;
      for (const t of targets) {
        if (rule.bad(t) && !allowed.has(`${file} -> ${t}`)) broken.push(`${file} imports ${t} (${rule.why})`);
      }
    }
  }
  assertEquals(broken, []);
  // Root-level modules the annotation language may use must themselves be import-free.
  for (const [file, targets] of graph) {
    if (/^src\/[^/]+\.ts$/.test(file) && graph.get("src/annotation/annotation.ts")?.includes(file)) {
      assertEquals(targets, [], `${file} is imported by src/annotation: it must import nothing`);
    }
  }
});

Deno.test("wire: no module imports another folder's _-prefixed (folder-private) file", async () => {
  // Every .ts file of the repository's code (src/ with its unit tests, tests/, bench/, scripts/, the root), with
  // the relative imports it makes.
  const files: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const rel = dir === "." ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory) {
        if (dir === "." ? ["src", "tests", "bench", "scripts"].includes(e.name) : e.name !== "bin") {
          await walk(rel);
        }
      } else if (e.name.endsWith(".ts")) files.push(rel);
    }
  }
  await walk(".");
  assert(
    files.includes("src/exec/executor.ts") && files.includes("mod.ts"),
    "the scan reaches src/ and the root",
  );
  // tests/declarative_exec_test.ts drives exec's one-process batch (`runBatch`) in a real netns directly: the one
  // integration test allowed to reach into a folder's private file.
  const allowed = new Set(["tests/declarative_exec_test.ts -> src/exec/_netns_batch.ts"]);
  const broken: string[] = [];
  let privateInFolder = 0;
  for (const file of files) {
    const src = await Deno.readTextFile(`${ROOT}/${file}`);
    const specs = [
      ...src.matchAll(/\b(?:import|export)\s[^;"']*?from\s*["']([^"']+)["']/g),
      ...src.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
      ...src.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ].map((m) => m[1]).filter((s) => s.startsWith("."));
    const base = file.replace(/[^/]*$/, "");
    for (const spec of specs) {
      const target = new URL(spec, `file:///${base}`).pathname.slice(1);
      if (!/(^|\/)_[^/]*$/.test(target)) continue;
      if (target.replace(/[^/]*$/, "") === base) privateInFolder++;
      else if (!allowed.has(`${file} -> ${target}`)) broken.push(`${file} imports ${target}`);
    }
  }
  assert(privateInFolder > 5, `the scan sees a folder's own private imports (${privateInFolder})`);
  assertEquals(broken, []);
});
