import * as fc from "fast-check";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { plainAnnotations, POD_ANNOTATIONS_CAPABILITY, runtimeAnnotations } from "./pod_source.ts";
import { RuntimeAnnotationsSchema } from "./pod_source_schema.ts";

Deno.test("runtimeAnnotations: the runtime's map; null (containerd's nil map) is no annotations; absent is undefined", async () => {
  const rc = (value: unknown) => ({ runtimeConfig: { [POD_ANNOTATIONS_CAPABILITY]: value } });
  assertEquals(await runtimeAnnotations(rc({ a: "b" })), { a: "b" });
  assertEquals(await runtimeAnnotations(rc(null)), {});
  assertEquals(await runtimeAnnotations({ runtimeConfig: {} }), undefined);
  assertEquals(await runtimeAnnotations({}), undefined);
  const e = await assertRejects(() => runtimeAnnotations(rc({ a: 1 })), CniError) as CniError;
  assertEquals(e.code, ErrorCode.InvalidNetworkConfig);
});

Deno.test("plainAnnotations accepts only what RuntimeAnnotationsSchema accepts; errors are worded the same", async () => {
  const value = fc.oneof(
    fc.dictionary(fc.string(), fc.string()),
    fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())),
    fc.jsonValue(),
  ).map((v) => JSON.parse(JSON.stringify(v ?? null)));
  /** Maps the plain check takes, by construction: string values, no `__proto__` key (left to the schema). */
  const plainValue = fc.dictionary(fc.string().filter((k) => k !== "__proto__"), fc.string())
    .map((v) => JSON.parse(JSON.stringify(v)));
  const runs = 2000;
  let accepted = 0;
  const check = async (v: unknown) => {
    const r = RuntimeAnnotationsSchema.safeParse(v);
    const plain = plainAnnotations(v);
    if (plain) {
      accepted++;
      assert(r.success, JSON.stringify(v));
      assertEquals(v, r.data);
    }
    if (v === null) return plain;
    const raw = { runtimeConfig: { [POD_ANNOTATIONS_CAPABILITY]: v } };
    if (r.success) assertEquals(await runtimeAnnotations(raw), r.data);
    else {
      const e = await assertRejects(() => runtimeAnnotations(raw), CniError) as CniError;
      assertEquals([e.code, e.message], [
        ErrorCode.InvalidNetworkConfig,
        `invalid runtimeConfig["${POD_ANNOTATIONS_CAPABILITY}"]: expected an object of strings`,
      ]);
    }
    return plain;
  };
  await assertProperty(
    fc.asyncProperty(value, plainValue, async (v, plainV) => {
      await check(v);
      // The plain path is reached every run: a map it takes by construction.
      assert(await check(plainV), `plainAnnotations refused ${JSON.stringify(plainV)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});
