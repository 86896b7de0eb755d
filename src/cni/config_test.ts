/**
 * The plain checks of `config.ts` against the zod schemas of `config_schema.ts` (the source of truth): whenever a
 * plain check accepts, the schema accepts the same value with the same decoded result, and the plugin's decoders
 * answer every input (valid or not) exactly as the strict decoders do: same result, or same code and message.
 */
import * as fc from "fast-check";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { outcome } from "../../tests/support/strict_parity.ts";
import { decodeNetConf, decodePrevResult, plainNetConf, plainPrevResult } from "./config.ts";
import {
  BaseConfSchema,
  decodeNetConfStrict,
  decodePrevResultStrict,
  PrevResultSchema,
} from "./config_schema.ts";

/** A value that is often what the schema wants and often not. */
const str = fc.oneof(
  fc.constantFrom("", "1.0.0", "0.4.0", "eth0", "net1", "10.0.0.2/24", "/var/run/netns/x"),
  fc.string(),
);
const loose = fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue());
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const extra = fc.dictionary(
  fc.constantFrom("foo", "args", "runtimeConfig", "ipam", "dns", "x"),
  fc.jsonValue(),
  {
    maxKeys: 3,
  },
);

const netConf = fc.record(
  {
    cniVersion: fc.oneof(str, loose),
    name: fc.oneof(fc.constantFrom("mynet", "a.b-c_d", "-bad", "bad name", "ünicode", ""), str, loose),
    type: fc.oneof(fc.constant("chainsaw"), loose),
  },
  { requiredKeys: [] },
).chain((base) => extra.map((e) => ({ ...e, ...base })));

/** NetConfs the plain check takes, by construction: a libcni name, string or absent cniVersion and type, extras. */
const plainNetConfs = fc.record(
  {
    cniVersion: str,
    name: fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}$/), // libcni's rule, written independently
    type: fc.oneof(fc.constant("chainsaw"), str),
  },
  { requiredKeys: ["name"] },
).chain((base) => extra.map((e) => ({ ...e, ...base })));

const element = (key: string, optKey?: string) =>
  fc.oneof(
    fc.record({ [key]: str, ...(optKey ? { [optKey]: maybe(str) } : {}) }, { requiredKeys: [key] }),
    fc.record({
      [key]: loose,
      ...(optKey ? { [optKey]: loose } : {}),
      more: fc.jsonValue(),
      ["__proto__"]: fc.jsonValue(),
    }, {
      requiredKeys: [],
    }),
    loose,
  ).map((v) => JSON.parse(JSON.stringify(v ?? null)));
const validPrev = fc.record(
  {
    cniVersion: str,
    interfaces: fc.array(fc.record({ name: str, sandbox: maybe(str), mac: str }, { requiredKeys: ["name"] })),
    ips: fc.array(fc.record({ address: str, gateway: maybe(str), interface: maybe(fc.nat()) })),
    routes: fc.array(fc.record({ dst: str, gw: maybe(str) })),
    dns: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
/** prevResults the plain check takes, by construction: strings where it reads them, any JSON elsewhere. */
const plainPrevResults = fc.record(
  {
    cniVersion: str,
    interfaces: fc.array(
      fc.record({ name: str, sandbox: maybe(str), mac: fc.jsonValue() }, { requiredKeys: ["name"] }),
      { maxLength: 4 },
    ),
    ips: fc.array(fc.record({ address: str, gateway: fc.jsonValue() }, { requiredKeys: ["address"] }), {
      maxLength: 3,
    }),
    routes: fc.array(fc.record({ dst: str, gw: fc.jsonValue() }, { requiredKeys: ["dst"] }), {
      maxLength: 3,
    }),
    dns: fc.jsonValue(),
  },
  { requiredKeys: [] },
).map((v) => JSON.parse(JSON.stringify(v)));
const prevResult = fc.oneof(
  validPrev,
  fc.record(
    {
      cniVersion: fc.oneof(str, loose),
      interfaces: fc.oneof(fc.array(element("name", "sandbox"), { maxLength: 4 }), loose),
      ips: fc.oneof(fc.array(element("address"), { maxLength: 3 }), loose),
      routes: fc.oneof(fc.array(element("dst"), { maxLength: 3 }), loose),
      dns: fc.jsonValue(),
      ["__proto__"]: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  loose,
).map((v) => JSON.parse(JSON.stringify(v ?? null)));

Deno.test("plainNetConf accepts only what BaseConfSchema accepts, with the same decoded result", async () => {
  const runs = 2000;
  let accepted = 0;
  const check = async (conf: unknown) => {
    const text = JSON.stringify(conf);
    const data = JSON.parse(text);
    const plain = plainNetConf(data);
    if (plain) {
      accepted++;
      assert(BaseConfSchema.safeParse(data).success, text);
    }
    assertEquals(
      await outcome(() => decodeNetConf(text)),
      await outcome(() => decodeNetConfStrict(text)),
      text,
    );
    return plain !== undefined;
  };
  await assertProperty(
    fc.asyncProperty(netConf, plainNetConfs, async (conf, plainConf) => {
      await check(conf);
      // The plain path is reached every run: a configuration it takes by construction.
      assert(await check(plainConf), `plainNetConf refused ${JSON.stringify(plainConf)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});

Deno.test("decodeNetConf words non-JSON, non-objects and bad names exactly as the schema's decoder", async () => {
  for (
    const text of [
      "",
      "{",
      "[]",
      "null",
      "3",
      '"x"',
      "{}",
      '{"name":3}',
      '{"name":"a b"}',
      '{"name":"n","cniVersion":1}',
    ]
  ) {
    const got = await outcome(() => decodeNetConf(text));
    assert(!("ok" in got), text);
    assertEquals(got, await outcome(() => decodeNetConfStrict(text)), text);
  }
  assertEquals(await decodeNetConf('{"name":"n"}'), { cniVersion: "0.1.0", name: "n", raw: { name: "n" } });
});

Deno.test("plainPrevResult accepts only what PrevResultSchema accepts, and decodes to the same value", async () => {
  const runs = 2000;
  let accepted = 0;
  const check = async (prev: unknown) => {
    const plain = plainPrevResult(prev);
    if (plain) {
      accepted++;
      const r = PrevResultSchema.safeParse(prev);
      assert(r.success, JSON.stringify(prev));
      assertEquals(plain, r.data);
    }
    const raw = { name: "n", prevResult: prev };
    assertEquals(
      await outcome(() => decodePrevResult(raw)),
      await outcome(() => decodePrevResultStrict(raw)),
    );
    return plain !== undefined;
  };
  await assertProperty(
    fc.asyncProperty(prevResult, plainPrevResults, async (prev, plainPrev) => {
      await check(prev);
      // The plain path is reached every run: a prevResult it takes by construction.
      assert(await check(plainPrev), `plainPrevResult refused ${JSON.stringify(plainPrev)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});
