import * as fc from "fast-check";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { junk } from "../../tests/support/strict_parity.ts";
import { checkAnswerOf, MAX_CHECK_DIFFERENCES, MAX_CHECK_LINE, plainCheckAnswer } from "./check.ts";
import { CheckAnswerSchema, CheckRequestSchema } from "./check_schema.ts";
import { requestCheck } from "./client.ts";
import { ROUTES } from "./routes.ts";

Deno.test("plainCheckAnswer accepts only what CheckAnswerSchema accepts, with the same decoded answer", () => {
  const line = fc.oneof(fc.string(), fc.constant("x".repeat(MAX_CHECK_LINE)), fc.constant("x".repeat(513)));
  const count = fc.oneof(fc.nat(), fc.integer(), fc.constantFrom(1.5, 2 ** 60, -1), junk);
  const answer = fc.oneof(
    fc.record({
      verdict: fc.oneof(fc.constantFrom("holds", "unowned", "drifted", "unknown", "maybe"), junk),
      owned: count,
      differences: fc.oneof(fc.array(fc.oneof(line, junk), { maxLength: 10 }), junk),
      total: count,
      more: junk,
    }, { requiredKeys: [] }),
    junk,
  ).map((v) => JSON.parse(JSON.stringify(v ?? null)));
  /** Answers the plain check takes, by construction. */
  const plainAnswer = fc.record({
    verdict: fc.constantFrom("holds", "unowned", "drifted", "unknown"),
    owned: fc.nat(),
    differences: fc.array(fc.string({ maxLength: MAX_CHECK_LINE }), { maxLength: MAX_CHECK_DIFFERENCES }),
    total: fc.option(fc.nat(), { nil: undefined }),
    more: junk,
  }, { requiredKeys: ["verdict", "owned", "differences"] }).map((v) => JSON.parse(JSON.stringify(v)));
  const runs = 2000;
  let accepted = 0;
  const check = (body: unknown) => {
    const plain = plainCheckAnswer(body);
    const r = CheckAnswerSchema.safeParse(body);
    if (plain) {
      accepted++;
      assert(r.success, JSON.stringify(body));
      assertEquals(plain, r.data);
    }
    return plain !== undefined;
  };
  assertProperty(
    fc.property(answer, plainAnswer, (body, plainBody) => {
      check(body);
      assert(check(plainBody), `plainCheckAnswer refused ${JSON.stringify(plainBody)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});

Deno.test("checkAnswerOf: none is holds; lines are capped in number and length, the total kept", () => {
  assertEquals(checkAnswerOf(2, []), { verdict: "holds", owned: 2, differences: [] });
  const lines = Array.from({ length: 12 }, (_, i) => `line ${i} ${"x".repeat(i === 0 ? 600 : 0)}`);
  const a = checkAnswerOf(20, lines);
  assertEquals([a.verdict, a.owned, a.total, a.differences.length], [
    "drifted",
    20,
    12,
    MAX_CHECK_DIFFERENCES,
  ]);
  assertEquals(a.differences[0].length, MAX_CHECK_LINE);
  assert(a.differences[0].endsWith("…"));
  assertEquals(a.differences[1], "line 1 ");
  assert(CheckAnswerSchema.safeParse(a).success, "the daemon's answer passes the plugin's schema");
  assertEquals(plainCheckAnswer(a), a);
});

Deno.test("CheckRequestSchema: container, interface and network are required, non-empty, bounded", () => {
  const ok = { containerId: "c", ifname: "eth0", network: "n" };
  assert(CheckRequestSchema.safeParse(ok).success);
  for (
    const bad of [{ ...ok, containerId: "" }, { ifname: "eth0", network: "n" }, {
      ...ok,
      network: "x".repeat(5000),
    }]
  ) {
    assert(!CheckRequestSchema.safeParse(bad).success, JSON.stringify(bad).slice(0, 80));
  }
});

Deno.test("requestCheck: a verdict is answered; absent, 4xx/5xx, garbage and a malformed answer are no verdict", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/d.sock`;
  let mode = "drifted";
  const seen: unknown[] = [];
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    seen.push([req.method, new URL(req.url).pathname, await req.json()]);
    if (mode === "drifted") {
      return Response.json({
        verdict: "drifted",
        owned: 1,
        differences: ["route v4 main 192.0.3.0/24: gone"],
        total: 1,
      });
    }
    if (mode === "404") return new Response("no such path", { status: 404 });
    if (mode === "500") return new Response("boom", { status: 500 });
    if (mode === "garbage") return new Response("{", { status: 200 });
    return Response.json({ verdict: "drifted", owned: 1, differences: "gone" });
  });
  const req = { containerId: "c1", ifname: "eth0", network: "n" };
  try {
    assertEquals(await requestCheck(path, req, 2000), {
      state: "answered",
      answer: { verdict: "drifted", owned: 1, differences: ["route v4 main 192.0.3.0/24: gone"], total: 1 },
    });
    assertEquals(seen, [["POST", ROUTES.check.path, req]]);
    for (const m of ["404", "500", "garbage", "malformed"]) {
      mode = m;
      const x = await requestCheck(path, req, 2000);
      assertEquals(x.state, "none", `${m}: ${JSON.stringify(x)}`);
    }
    assertEquals(await requestCheck(`${dir}/none.sock`, req, 500), {
      state: "none",
      reason: "the daemon is not running",
    });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
