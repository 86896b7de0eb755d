import { equal } from "node:assert/strict";
import { DEFAULT_ALLOW, defaultPolicy, OPT_IN_RULES } from "./default_policy.ts";
import { evaluateCommand } from "./evaluate.ts";
import { effectivePolicy } from "./load.ts";

const ctx = { ifname: "net1", podInterfaces: ["eth0", "net1"] };

/** One command per opt-in that the default refuses and the opt-in's rule grants. */
const SAMPLES: Readonly<Record<string, string>> = {
  "link-address": "link set dev net1 address 02:42:c0:00:02:63",
  "link-flags": "link set net1 promisc on",
  "addrgenmode": "link set net1 addrgenmode random",
  "ipv6-token": "token set ::1/64 dev net1",
  "addresses": "addr add 10.99.0.99/24 dev net1",
  "neighbours": "neigh replace 10.99.0.1 lladdr 02:42:c0:00:02:63 dev net1 nud permanent",
  "proxy-neighbours": "neigh add proxy 10.99.0.99 dev net1",
  "local-routes": "route add local 10.99.0.99 dev net1 table local",
  "resolve": "-r route",
};

Deno.test("each opt-in grants what the default refuses, and only through its own rule", () => {
  equal(Object.keys(SAMPLES).sort().join(), Object.keys(OPT_IN_RULES).sort().join());
  for (const [name, rule] of Object.entries(OPT_IN_RULES)) {
    const argv = SAMPLES[name].split(" ");
    equal(evaluateCommand(argv, defaultPolicy(), ctx).allowed, false, `${name}: the default refuses`);
    const opted = evaluateCommand(argv, effectivePolicy({ allow: [...DEFAULT_ALLOW, rule] }, undefined), ctx);
    equal(opted.allowed && opted.rule, `node.allow[${DEFAULT_ALLOW.length}]`, name);
  }
  // The proxy opt-in is separate from plain neighbours.
  const neighbours = effectivePolicy({ allow: [OPT_IN_RULES.neighbours] }, undefined);
  equal(evaluateCommand(SAMPLES["proxy-neighbours"].split(" "), neighbours, ctx).allowed, false);
});

Deno.test("docs/policy.md lists every opt-in with its exact rule", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/policy.md", import.meta.url));
  for (const [name, rule] of Object.entries(OPT_IN_RULES)) {
    const row = new RegExp(`^\\| \`${name}\` +\\| \`([^\`]+)\` +\\|`, "m").exec(doc);
    equal(row?.[1].replaceAll("\\|", "|"), rule, name);
  }
});
