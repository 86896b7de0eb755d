/**
 * The plugin's plain check of chainsaw's chain keys against the zod schema the daemon decodes them with
 * (`chain_conf_schema.ts`, the source of truth): same acceptance, same decoded result, same code and message.
 */
import * as fc from "fast-check";
import { assertProperty, assertReached } from "../../tests/support/property.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { junk, outcome } from "../../tests/support/strict_parity.ts";
import {
  CHAIN_CONF_KEYS,
  chainConfKeys,
  decodeChainsawConf,
  DEFAULT_ON_ERROR,
  DRIFT_MODES,
  MODES,
  ON_ERROR_MODES,
  plainChainsawConf,
} from "./chain_conf.ts";
import { ChainConfSchema, decodeChainsawConfStrict } from "./chain_conf_schema.ts";

const path = fc.oneof(
  fc.constantFrom("/etc/kube.conf", "/usr/sbin/ip", "/", "relative/ip", ""),
  fc.string(),
  junk,
);
/** Keys the plain check takes, by construction (absolute paths, a known mode, a timeout in range). */
const validKeys = fc.record(
  {
    kubeconfig: fc.constantFrom("/etc/kube.conf", "/"),
    onError: fc.constantFrom(...ON_ERROR_MODES),
    mode: fc.constantFrom(...MODES),
    drift: fc.constantFrom(...DRIFT_MODES),
    apiTimeoutMs: fc.integer({ min: 1, max: 120_000 }),
    ipPath: fc.constantFrom("/usr/sbin/ip", "/sbin/ip"),
    nsenterPath: fc.constant("/usr/bin/nsenter"),
    daemonSocket: fc.string(),
    policy: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const anyKeys = fc.record(
  {
    kubeconfig: path,
    onError: fc.oneof(fc.constantFrom(...ON_ERROR_MODES), fc.constantFrom("Fail", ""), junk),
    mode: fc.oneof(fc.constantFrom(...MODES), fc.constantFrom("Declarative", ""), junk),
    drift: fc.oneof(fc.constantFrom(...DRIFT_MODES), fc.constantFrom("Heal", ""), junk),
    apiTimeoutMs: fc.oneof(
      fc.integer({ min: -5, max: 130_000 }),
      fc.constantFrom(1, 120_000, 120_001, 0, 1.5, Number.MAX_SAFE_INTEGER + 2, "5000"),
      junk,
    ),
    ipPath: path,
    nsenterPath: path,
    daemonSocket: fc.oneof(fc.constantFrom("/run/chainsaw/chainsaw.sock", ""), junk),
    policy: fc.jsonValue(),
    foo: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
const chainKeys = fc.oneof(validKeys, anyKeys).map(asJson);

Deno.test("plainChainsawConf accepts only what ChainConfSchema accepts; decodeChainsawConf answers as the daemon's decoder", async () => {
  const runs = 3000;
  let accepted = 0;
  const check = async (raw: Record<string, unknown>) => {
    const plain = plainChainsawConf(raw);
    if (plain) {
      accepted++;
      assert(ChainConfSchema.safeParse({ ...raw, foo: undefined }).success, JSON.stringify(raw));
    }
    assertEquals(
      await outcome(() => decodeChainsawConf(raw)),
      await outcome(() => decodeChainsawConfStrict(raw)),
    );
    return plain !== undefined;
  };
  await assertProperty(
    fc.asyncProperty(chainKeys, validKeys.map(asJson), async (raw, valid) => {
      await check(raw);
      // The plain path is reached every run: keys it takes by construction.
      assert(await check(valid), `plainChainsawConf refused ${JSON.stringify(valid)}`);
    }),
    { numRuns: runs },
  );
  assertReached(accepted, runs, "the plain path");
});

Deno.test("decodeChainsawConf: defaults when absent, code 7 naming the key when bad", async () => {
  assertEquals(await decodeChainsawConf({}), {
    kubeconfig: undefined,
    onError: DEFAULT_ON_ERROR,
    mode: "declarative",
    drift: "report",
    apiTimeoutMs: 5000,
    ipPath: undefined,
    nsenterPath: undefined,
    daemonSocket: undefined,
    policy: undefined,
  });
  const bad = await outcome(() => decodeChainsawConf({ ipPath: "ip" }));
  assertEquals(bad, {
    code: 7,
    msg: "invalid chainsaw config key ipPath: must be an absolute path",
    details: "",
  });
});

Deno.test("CHAIN_CONF_KEYS are the schema's keys; chainConfKeys keeps those given and nothing else", () => {
  assertEquals([...CHAIN_CONF_KEYS].sort(), Object.keys(ChainConfSchema.shape).sort());
  const given = Object.fromEntries(CHAIN_CONF_KEYS.map((k, i) => [k, `v${i}`]));
  assertEquals(chainConfKeys({ ...given, name: "net", type: "chainsaw", prevResult: {} }), given);
  assertEquals(chainConfKeys({ name: "net", ipPath: undefined }), {});
});
