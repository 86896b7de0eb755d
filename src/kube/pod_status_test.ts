/** Reading readiness gates and conditions loosely, and the status patch body. */
import { assertEquals } from "../../tests/support/assert.ts";
import { makePod } from "../../tests/support/fake_apiserver.ts";
import { PodSchema } from "./client.ts";
import { APPLIED_CONDITION, conditionPatch, podConditions, readinessGates } from "./pod_status.ts";

Deno.test("pod status: readiness gates and conditions are read loosely (malformed entries skipped)", () => {
  const raw = makePod({ namespace: "ns", name: "p", nodeName: "n" });
  raw.spec.readinessGates = [{ conditionType: APPLIED_CONDITION }, { nope: 1 }, "x", {
    conditionType: "other",
  }];
  raw.status.conditions = [
    { type: "Ready", status: "False" },
    { type: APPLIED_CONDITION, status: "True", reason: "Applied", message: "", lastTransitionTime: "t" },
    { type: APPLIED_CONDITION + "x", status: "Maybe" },
    null,
  ];
  const pod = PodSchema.parse(raw);
  assertEquals(readinessGates(pod), [APPLIED_CONDITION, "other"]);
  assertEquals(podConditions(pod, [APPLIED_CONDITION]), {
    [APPLIED_CONDITION]: {
      type: APPLIED_CONDITION,
      status: "True",
      reason: "Applied",
      lastTransitionTime: "t",
    },
  });
  assertEquals(readinessGates(PodSchema.parse(makePod({ namespace: "ns", name: "q" }))), []);
  assertEquals(
    podConditions(PodSchema.parse({ metadata: { name: "q" }, status: { conditions: 3 } }), ["x"]),
    {},
  );
});

Deno.test("pod status: the patch sets every field of the one condition and carries the UID precondition", () => {
  assertEquals(conditionPatch("u1", { type: APPLIED_CONDITION, status: "False", lastTransitionTime: "t" }), {
    metadata: { uid: "u1" },
    status: {
      conditions: [{
        type: APPLIED_CONDITION,
        status: "False",
        reason: "",
        message: "",
        lastTransitionTime: "t",
      }],
    },
  });
  assertEquals("metadata" in conditionPatch("", { type: "x", status: "True" }), false);
});
