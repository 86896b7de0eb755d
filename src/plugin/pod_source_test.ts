import * as fc from "fast-check";
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
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(value, async (v) => {
      const r = RuntimeAnnotationsSchema.safeParse(v);
      if (plainAnnotations(v)) {
        accepted++;
        assert(r.success, JSON.stringify(v));
        assertEquals(v, r.data);
      }
      if (v === null) return;
      const raw = { runtimeConfig: { [POD_ANNOTATIONS_CAPABILITY]: v } };
      if (r.success) assertEquals(await runtimeAnnotations(raw), r.data);
      else {
        const e = await assertRejects(() => runtimeAnnotations(raw), CniError) as CniError;
        assertEquals([e.code, e.message], [
          ErrorCode.InvalidNetworkConfig,
          `invalid runtimeConfig["${POD_ANNOTATIONS_CAPABILITY}"]: expected an object of strings`,
        ]);
      }
    }),
    { numRuns: 2000 },
  );
  assert(accepted > 300, `the generator reached the plain path only ${accepted} times`);
});
