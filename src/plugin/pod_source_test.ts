import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { POD_ANNOTATIONS_CAPABILITY, runtimeAnnotations } from "./pod_source.ts";

Deno.test("runtimeAnnotations: the runtime's map; null (containerd's nil map) is no annotations; absent is undefined", () => {
  const rc = (value: unknown) => ({ runtimeConfig: { [POD_ANNOTATIONS_CAPABILITY]: value } });
  assertEquals(runtimeAnnotations(rc({ a: "b" })), { a: "b" });
  assertEquals(runtimeAnnotations(rc(null)), {});
  assertEquals(runtimeAnnotations({ runtimeConfig: {} }), undefined);
  assertEquals(runtimeAnnotations({}), undefined);
  const e = assertThrows(() => runtimeAnnotations(rc({ a: 1 })), CniError) as CniError;
  assertEquals(e.code, ErrorCode.InvalidNetworkConfig);
});
