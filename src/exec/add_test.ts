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
