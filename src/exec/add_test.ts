import { assertEquals } from "../../tests/support/assert.ts";
import { sampleCommand, sampleTarget } from "../../tests/daemon_fixtures.ts";
import { CniError } from "../cni/errors.ts";
import { defaultPolicy } from "../policy/default_policy.ts";
import type { CommandResult } from "./runner.ts";
import { addAttachment, type AddDeps, stalePod } from "./add.ts";

const KEY = "k8s.v1.cni.cncf.io/chainsaw";
const target = sampleTarget({ chainPolicy: { allow: ["* show"] } });

function deps(lookUp: AddDeps["lookUp"]): AddDeps & { ran: number } {
  const d = {
    ran: 0,
    now: () => new Date(0),
    loadPolicy: () => Promise.resolve(defaultPolicy()),
    run: (command: string, argv: readonly string[]): Promise<CommandResult> => {
      d.ran++;
      return Promise.resolve(sampleCommand({ command, argv: [...argv], exitCode: 0 }));
    },
    netnsState: () => Promise.resolve("present" as const),
    fileExists: () => true,
    lookUp,
  };
  return d;
}

Deno.test("addAttachment: the runtime's annotations are used without a lookup; null means none", async () => {
  const d = deps(() => Promise.reject(new Error("must not be asked")));
  const out = await addAttachment(target, { [KEY]: "ip route" }, d);
  assertEquals([out.report.source, out.report.verdict, d.ran, out.registration.applied], [
    "runtime",
    "applied",
    1,
    "ip route",
  ]);
  const none = await addAttachment(target, null, d);
  assertEquals([none.report.verdict, none.fatal, none.registration.applied], ["nothing", false, ""]);
  assertEquals(none.registration.chainPolicy, target.chainPolicy);
});

Deno.test("addAttachment: the lookup's pod must have the runtime's UID (missing UID is stale too)", async () => {
  for (const uid of ["other", "", undefined]) {
    const d = deps(() => Promise.resolve({ annotations: { [KEY]: "ip route" }, uid, source: "api" }));
    const out = await addAttachment(target, undefined, d);
    assertEquals(
      [out.error?.code, out.fatal, d.ran, out.registration.applied],
      [102, true, 0, undefined],
      String(uid),
    );
  }
  const ok = deps(() => Promise.resolve({ annotations: { [KEY]: "ip route" }, uid: "u1", source: "daemon" }));
  assertEquals((await addAttachment(target, undefined, ok)).report.source, "daemon");
});

Deno.test("addAttachment: a failed lookup is its CNI error, fatal, value unknown", async () => {
  const d = deps(() => Promise.reject(new CniError(11, "API server slow")));
  const out = await addAttachment(target, undefined, d);
  assertEquals([out.error?.code, out.report.verdict, out.fatal, out.registration.applied], [
    11,
    "error",
    true,
    undefined,
  ]);
});

Deno.test("stalePod: no UID from the runtime accepts any", () => {
  assertEquals(stalePod({ namespace: "a", name: "b", uid: "" }, undefined), undefined);
  assertEquals(stalePod({ namespace: "a", name: "b", uid: "u" }, "u"), undefined);
  assertEquals(stalePod({ namespace: "a", name: "b", uid: "u" }, undefined)?.code, 102);
});

const NETWORKS = "k8s.v1.cni.cncf.io/networks";
const multusTarget = (ifname: string) =>
  sampleTarget({
    ifname,
    network: "test-chainsaw-chain",
    pod: { namespace: "default", name: "p", uid: "u1" },
  });

Deno.test("addAttachment: the NAD comes from the pod's selection; the key picks by interface, NAD or chain", async () => {
  const value = JSON.stringify({ net2: "ip route show table 2", "test-chainsaw": "ip route show table 1" });
  const annotations = { [KEY]: value, [NETWORKS]: "test-chainsaw, test-chainsaw" };
  const seen: string[][] = [];
  for (const ifname of ["net1", "net2"]) {
    const d = deps(() => Promise.resolve({ annotations, uid: "u1", source: "api" }));
    const out = await addAttachment(multusTarget(ifname), undefined, d);
    assertEquals(out.registration.nad, "default/test-chainsaw");
    assertEquals(out.report.nad, "default/test-chainsaw");
    seen.push([ifname, out.report.key ?? "", ...out.report.detected]);
  }
  assertEquals(seen, [
    ["net1", "test-chainsaw", "ip route show table 1"],
    ["net2", "net2", "ip route show table 2"],
  ]);
  // No selection: no NAD; the chain name still picks.
  const out = await addAttachment(
    multusTarget("eth0"),
    { [KEY]: '{"test-chainsaw-chain": "ip route"}' },
    deps(
      () => Promise.reject(new Error("not asked")),
    ),
  );
  assertEquals([out.report.nad, out.registration.nad, out.report.key], [
    undefined,
    undefined,
    "test-chainsaw-chain",
  ]);
});

Deno.test("addAttachment: keys naming no attachment are warned about at the pod's last ADD, when the others are known", async () => {
  const annotations = {
    [KEY]: JSON.stringify({ net1: "ip route", nett2: "ip addr" }),
    [NETWORKS]: "test-chainsaw, test-chainsaw",
  };
  const net1 = {
    ifname: "net1",
    network: "test-chainsaw-chain",
    nad: "default/test-chainsaw",
    podNamespace: "default",
  };
  const run = (ifname: string, others?: () => typeof net1[]) =>
    addAttachment(multusTarget(ifname), annotations, {
      ...deps(() => Promise.reject()),
      otherAttachments: others,
    });
  // net1 is not the last: net2 may still match "nett2" by its chain name.
  assertEquals((await run("net1", () => [])).report.warnings, undefined);
  const last = await run("net2", () => [net1]);
  assertEquals(last.report.warnings, [
    'key "nett2" of the chainsaw annotation matches none of the pod\'s attachments: net1 (network ' +
    "default/test-chainsaw, chain test-chainsaw-chain), net2 (network default/test-chainsaw, chain " +
    "test-chainsaw-chain); it does nothing",
  ]);
  assertEquals([last.report.verdict, last.fatal], ["nothing", false]);
  // The plugin does not know the other attachments: no check.
  assertEquals((await run("net2")).report.warnings, undefined);
});

Deno.test("addAttachment: declarative mode's registration carries the mode and the ADD's effect", async () => {
  const d = deps(() => Promise.reject(new Error("must not be asked")));
  const empty = {
    netns: "/var/run/netns/x",
    links: [],
    addresses: [],
    routes: [],
    rules: [],
    neighbours: [],
    tentative: [],
  };
  const added = { ...empty, routes: [{ dst: "192.0.3.0/24", dev: "net1", table: "main", family: 4 }] };
  const out = await addAttachment(
    sampleTarget({ mode: "declarative", onError: "rollback" }),
    { [KEY]: "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE" },
    {
      ...d,
      batch: (input) =>
        Promise.resolve({
          before: empty,
          results: input.commands.map((c) =>
            sampleCommand({ command: c.source, argv: [...c.argv], exitCode: 0 })
          ),
          after: [added],
          dumped: [0, 1, 2, 3, 4],
          timedOut: false,
          durationMs: 1,
        }),
    },
  );
  assertEquals(out.report.verdict, "applied");
  assertEquals(out.registration.mode, "declarative");
  assertEquals(out.registration.effect?.items.map((i) => [i.key, i.by]), [[
    "route v4 main 192.0.3.0/24",
    ["route add 192.0.3.0/24 dev net1"],
  ]]);
  // Nothing owned (no annotation): no effect in the registration.
  const none = await addAttachment(sampleTarget({ mode: "declarative" }), null, d);
  assertEquals([none.registration.mode, none.registration.effect], ["declarative", undefined]);
});
