import { assertEquals } from "../../tests/support/assert.ts";
import { parseTraceContext, traceContextFromEnv, validTracestate } from "./trace_context.ts";

const ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

Deno.test("trace context: a valid traceparent, sampled and not", () => {
  assertEquals(parseTraceContext(`00-${ID}-${SPAN}-01`, undefined), {
    traceparent: `00-${ID}-${SPAN}-01`,
    traceId: ID,
    spanId: SPAN,
    sampled: true,
  });
  assertEquals(parseTraceContext(`00-${ID}-${SPAN}-00`, undefined)?.sampled, false);
});

Deno.test("trace context: invalid traceparents are ignored", () => {
  for (
    const bad of [
      "",
      "garbage",
      `ff-${ID}-${SPAN}-01`, // forbidden version
      `00-${ID.toUpperCase()}-${SPAN}-01`, // upper case
      `00-${"0".repeat(32)}-${SPAN}-01`, // zero trace id
      `00-${ID}-${"0".repeat(16)}-01`, // zero span id
      `00-${ID.slice(1)}-${SPAN}-01`, // short
      `00-${ID}-${SPAN}-01-extra`, // version 00 has no more fields
      `00-${ID}-${SPAN}-1`,
      `00-${ID}-${SPAN}-01\nx`,
      "x".repeat(600),
    ]
  ) {
    assertEquals(parseTraceContext(bad, undefined), undefined, bad);
  }
});

Deno.test("trace context: a future version keeps its known fields", () => {
  assertEquals(
    parseTraceContext(`01-${ID}-${SPAN}-01-future`, undefined)?.traceparent,
    `01-${ID}-${SPAN}-01`,
  );
});

Deno.test("trace context: tracestate is kept when well-formed, dropped otherwise", () => {
  assertEquals(
    validTracestate("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"),
    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
  );
  assertEquals(validTracestate("tenant@vendor=x"), "tenant@vendor=x");
  assertEquals(validTracestate("a=1,a=2"), undefined); // duplicate key
  assertEquals(validTracestate("Upper=1"), undefined);
  assertEquals(validTracestate("a=1\u001b[2J"), undefined);
  assertEquals(validTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",")), undefined);
  const t = parseTraceContext(`00-${ID}-${SPAN}-01`, "bad state with spaces");
  assertEquals(t?.traceId, ID);
  assertEquals(t?.tracestate, undefined);
});

Deno.test("trace context: read from the environment", () => {
  const env: Record<string, string> = { TRACEPARENT: `00-${ID}-${SPAN}-01`, TRACESTATE: "k=v" };
  assertEquals(traceContextFromEnv((n) => env[n])?.tracestate, "k=v");
  assertEquals(traceContextFromEnv(() => undefined), undefined);
});
