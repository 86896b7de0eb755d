import { assert, assertEquals, assertStringIncludes } from "../../tests/support/assert.ts";
import type { ExplainAnswer, ExplainAttachment } from "../wire/explain.ts";
import { ROUTES } from "../wire/routes.ts";
import { commandLine, explain, formatExplain } from "./explain.ts";

function attachment(over: Partial<ExplainAttachment> = {}): ExplainAttachment {
  return {
    containerId: "ctr-1",
    ifname: "net1",
    network: "net-a",
    netns: "/var/run/netns/cs-x",
    onError: "fail",
    annotation: '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]',
    applied: '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]',
    commands: [{
      source: "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
      argv: ["route", "add", "192.0.3.0/24", "dev", "net1"],
      allowed: true,
      rule: "default:route-change",
      ruleText: "route add|delete dev?=@pod",
    }],
    allowed: true,
    reapply: { action: "none", reason: "the value is already applied", run: [] },
    ...over,
  };
}

function answer(attachments: ExplainAttachment[]): ExplainAnswer {
  return {
    pod: { namespace: "default", name: "p1", uid: "uid-1" },
    node: "node-a",
    allowed: attachments.every((a) => a.allowed),
    attachments,
  };
}

Deno.test("explain format: per attachment, the substituted command, its rule, the re-apply decision", () => {
  const text = formatExplain(answer([attachment()]));
  assertEquals(
    text,
    [
      "pod default/p1 (uid uid-1) on node node-a: 1 attachment",
      "  net1  network net-a  container ctr-1  netns /var/run/netns/cs-x  onError fail",
      '    annotation: ["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]',
      '    allowed  ip route add 192.0.3.0/24 dev net1  (rule: default:route-change "route add|delete dev?=@pod")',
      "             from: ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
      "    re-apply: nothing to re-apply (the value is already applied)",
      "result: every command is allowed",
      "",
    ].join("\n"),
  );
});

Deno.test("explain format: a denied command shows rule and reason; a refused list its error; the summary counts", () => {
  const denied = attachment({
    applied: "",
    allowed: false,
    commands: [
      attachment().commands[0],
      {
        source: "netns exec x sh",
        argv: ["netns", "exec", "x", "sh"],
        allowed: false,
        rule: "escape:netns-object",
        reason: "ip netns manages other namespaces",
      },
    ],
    reapply: { action: "refuse", reason: "refused, nothing would run: command 2 is not allowed", run: [] },
  });
  const malformed = attachment({
    containerId: "ctr-2",
    allowed: false,
    commands: [],
    error: { code: 101, msg: "pod default/p1: annotation … must be a JSON list of strings" },
    reapply: { action: "refuse", reason: "refused", run: [] },
  });
  const text = formatExplain(answer([denied, malformed]));
  assertStringIncludes(text, "    applied:    (none)\n");
  assertStringIncludes(
    text,
    "    denied   ip netns exec x sh  (rule: escape:netns-object: ip netns manages other namespaces)\n",
  );
  assertStringIncludes(text, "    re-apply: refused, nothing would run: command 2 is not allowed\n");
  assertStringIncludes(
    text,
    "    refused: pod default/p1: annotation … must be a JSON list of strings (code 101)\n",
  );
  assertStringIncludes(text, "result: refused (1 command denied, 1 list refused as a whole)\n");
});

Deno.test("explain format: text the pod controls is neutralised; words with blanks are quoted", () => {
  const evil = attachment({
    annotation: '["ip route\\n2026 ADD forged", "\u001b[2J"]',
    commands: [{
      source: "ip link set 'a b' up",
      argv: ["link", "set", "a b\u202e", "up"],
      allowed: false,
      rule: "default-deny",
      reason: "no allow rule matches\r\x1b[31m",
    }],
    allowed: false,
  });
  const text = formatExplain(answer([evil]));
  // deno-lint-ignore no-control-regex
  assert(!/[\x00-\x09\x0b-\x1f\x7f\u202e]/.test(text), text);
  assertStringIncludes(text, 'ip link set "a b\\u202e" up');
  assertStringIncludes(text, "no allow rule matches\\r\\x1b[31m");
  assertEquals(
    commandLine({ source: "ip route", argv: [], allowed: false, rule: "parse:tokenize" }),
    "ip route",
  );
});

async function withDaemon(
  handle: (req: Request) => Response,
  fn: (socket: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/chainsaw.sock`;
  const server = Deno.serve({ path: socket, onListen: () => {} }, handle);
  try {
    await fn(socket);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(socket: string, json = false) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await explain({ pod: "default/p1", socket, json }, {
    out: (t) => Promise.resolve(void out.push(t)),
    err: (t) => Promise.resolve(void err.push(t)),
  });
  return { code, out: out.join(""), err: err.join("") };
}

Deno.test("explain client: exit 0 / 1 by the answer; --json prints the answer; asks GET /v1/explain?pod=", async () => {
  const asked: string[] = [];
  let current = answer([attachment({ annotation: "ip route\u2028" })]);
  await withDaemon((req) => {
    const url = new URL(req.url);
    asked.push(`${req.method} ${url.pathname}?${url.searchParams}`);
    return Response.json(current);
  }, async (socket) => {
    const ok = await run(socket);
    assertEquals([ok.code, ok.err], [0, ""]);
    assertStringIncludes(ok.out, "result: every command is allowed");
    const json = await run(socket, true);
    assertEquals(json.code, 0);
    assertEquals(JSON.parse(json.out), current);
    assertStringIncludes(json.out, "\\u2028", "escaped, the same value");
    current = answer([attachment({ allowed: false })]);
    assertEquals((await run(socket)).code, 1);
    assertEquals((await run(socket, true)).code, 1);
  });
  assertEquals(asked[0], `GET ${ROUTES.explain.path}?pod=default%2Fp1`);
});

Deno.test("explain client: no such pod, a daemon error, a malformed answer, no daemon: exit 2 saying which", async () => {
  let res = () => new Response("pod default/p1 has no attachments on this node\n", { status: 404 });
  await withDaemon(() => res(), async (socket) => {
    const none = await run(socket);
    assertEquals([none.code, none.out], [2, ""]);
    assertEquals(
      none.err,
      "chainsaw explain: no such pod on this node: pod default/p1 has no attachments on this node\n",
    );
    res = () => new Response("the pod cache is not synced yet\n", { status: 503 });
    assertEquals(
      (await run(socket)).err,
      "chainsaw explain: the daemon answered 503: the pod cache is not synced yet\n",
    );
    res = () => Response.json({ pod: {} });
    const bad = await run(socket);
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.err, "unexpected answer from the daemon");
  });
  const dir = await Deno.makeTempDir();
  try {
    const down = await run(`${dir}/absent.sock`);
    assertEquals(down.code, 2);
    assertStringIncludes(down.err, `chainsaw explain: cannot reach the daemon at ${dir}/absent.sock: `);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explain format: what chainsaw owns, baseline → set, and which objects hold or drifted", () => {
  const owned = attachment({
    effect: {
      mode: "declarative",
      drift: "report",
      holds: false,
      items: [
        {
          key: "route v4 main 192.0.3.0/24",
          kind: "route",
          object: "route v4 main 192.0.3.0/24",
          base: "absent",
          set: "unicast 192.0.3.0/24 dev net1",
          holds: false,
          now: "absent",
        },
        { key: "link 3 mtu", kind: "link", object: "link net1 mtu", base: "1500", set: "1400", holds: true },
      ],
    },
  });
  const text = formatExplain(answer([
    owned,
    attachment({ ifname: "net2", effect: { mode: "declarative", drift: "heal", items: [] } }),
    attachment({ ifname: "net3", effect: { mode: "imperative", drift: "report", items: [] } }),
    attachment({
      ifname: "net4",
      effect: {
        mode: "declarative",
        drift: "report",
        unobserved: "cannot observe: gone",
        items: [{ key: "link 3 mtu", kind: "link", object: "link #3 mtu", base: "1500", set: "1400" }],
      },
    }),
  ]));
  for (
    const line of [
      "    owns: 2 objects (declarative, drift report): 1 DRIFTED",
      "      route v4 main 192.0.3.0/24: absent → unicast 192.0.3.0/24 dev net1  [DRIFTED: now absent]",
      "      link net1 mtu: 1500 → 1400  [holds]",
      "    owns: nothing (declarative, drift heal)",
      "    owns: nothing (imperative mode: each value runs as a script)",
      "    owns: 1 object (declarative, drift report): not observed: cannot observe: gone",
      "      link #3 mtu: 1500 → 1400\n",
    ]
  ) assertStringIncludes(text, line);
});

Deno.test("explain format: the NAD with the chain, the key, and the pod's warnings", () => {
  const text = formatExplain({
    ...answer([attachment({ nad: "default/test-chainsaw", network: "test-chainsaw-chain", key: "net1" })]),
    warnings: [
      'key "nett2" of the chainsaw annotation matches none of the pod\'s attachments: net1 (…)\u001b[2J',
    ],
  });
  const lines = text.split("\n");
  assertEquals(
    lines[1],
    "  net1  network default/test-chainsaw (chain test-chainsaw-chain)  container ctr-1  netns /var/run/netns/cs-x  onError fail",
  );
  assertEquals(lines[3], '    key:        "net1"');
  assertEquals(
    lines.at(-3),
    String
      .raw`warning: key "nett2" of the chainsaw annotation matches none of the pod's attachments: net1 (…)\x1b[2J`,
  );
});
