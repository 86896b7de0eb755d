import { deepEqual, equal, match } from "node:assert/strict";
import { policyCheck } from "./policy_check.ts";
import { assertNoRawControl, HOSTILE } from "../../tests/support/hostile.ts";

async function run(opts: Parameters<typeof policyCheck>[0]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await policyCheck(opts, (l) => lines.push(l));
  return { code, lines };
}

const nodeless = "/nonexistent/policy.json";

Deno.test("policy check: one line per command, exit 0 when all are allowed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/policy.json`;
    await Deno.writeTextFile(file, JSON.stringify({ allow: ["* show", "route add dev=@pod"] }));
    const r = await run({
      policyFile: file,
      ifname: "net1",
      commands: ["ip route", "ip route add 10/8 dev CURRENT_INTERFACE"],
    });
    deepEqual(r, {
      code: 0,
      lines: [
        'allowed  ip route  (rule: node.allow[0] "* show")',
        'allowed  ip route add 10/8 dev CURRENT_INTERFACE  (rule: node.allow[1] "route add dev=@pod")',
      ],
    });
    const denied = await run({ policyFile: file, ifname: "net1", commands: ["ip route add 10/8 dev eth0"] });
    equal(denied.code, 1);
    const withPod = await run({
      policyFile: file,
      ifname: "net1",
      podInterfaces: ["eth0"],
      commands: ["ip route add 10/8 dev eth0"],
    });
    equal(withPod.code, 0);
    const yamlFile = `${dir}/p.yaml`;
    await Deno.writeTextFile(yamlFile, "allow: ['link show']\n");
    equal((await run({ policyFile: yamlFile, ifname: "net1", commands: ["ip l"] })).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("policy check: denials name the rule and reason, exit 1", async () => {
  const r = await run({ ifname: "net1", commands: ["ip netns exec x /bin/sh", "ip route", "ip 'oops"] });
  equal(r.code, 1);
  equal(
    r.lines[0],
    "denied   ip netns exec x /bin/sh  (rule: escape:netns-object: ip netns (any spelling: net, netn, ...) manages other namespaces)",
  );
  equal(r.lines[1], 'allowed  ip route  (rule: default.allow[0] "* show|get")');
  equal(
    r.lines[2].startsWith("denied   ip 'oops  (rule: parse:tokenize: unterminated single quote"),
    true,
    r.lines[2],
  );
});

Deno.test("policy check: bad policy or no commands exit 2", async () => {
  const missing = await run({ policyFile: nodeless, ifname: "net1", commands: ["ip route"] });
  equal(missing.code, 2);
  match(missing.lines[0], /^error: \/nonexistent\/policy.json: cannot read/);
  equal((await run({ ifname: "net1", commands: [] })).code, 2);
});

Deno.test("policy check: a chain policy narrows, namespaces apply", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const chain = `${dir}/chain.json`;
    await Deno.writeTextFile(chain, JSON.stringify({ allow: ["route show"], namespaces: ["ops"] }));
    const r = await run({
      chainFile: chain,
      ifname: "net1",
      namespace: "ops",
      commands: ["ip route", "ip addr"],
    });
    equal(r.code, 1);
    match(r.lines[1], /default-deny: no allow rule of the chain's policy matches/);
    const other = await run({ chainFile: chain, ifname: "net1", namespace: "dev", commands: ["ip route"] });
    match(other.lines[0], /namespace:not-allowed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("policy check: a command pasted from a hostile annotation prints as one line with nothing raw", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/policy.json`;
    await Deno.writeTextFile(file, JSON.stringify({ allow: ["* show"] }));
    const r = await run({ policyFile: file, ifname: "net1", commands: Object.values(HOSTILE) });
    equal(r.code, 1);
    equal(r.lines.length, Object.keys(HOSTILE).length);
    for (const line of r.lines) {
      assertNoRawControl(line, "policy check line");
      equal(line.includes("\n"), false, line);
      match(line, /^(allowed|denied) {2,3}/);
    }
    match(r.lines[0], /^denied {3}ip route\\n2026-11-23T12:00:00\.000Z ADD kube-system\/victim /);
    const bad = await run({
      policyFile: `${dir}/${HOSTILE.newline}`,
      ifname: "net1",
      commands: ["ip route"],
    });
    equal(bad.code, 2);
    equal(bad.lines.length, 1);
    assertNoRawControl(bad.lines[0], "policy check error");
    equal(bad.lines[0].includes("\n"), false, bad.lines[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("policy check: identity changes and -resolve are denied by default, allowed by the opt-in rules", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = `${dir}/plain.json`;
    await Deno.writeTextFile(plain, "{}"); // absent lists: the default policy's
    const attack = [
      "ip link set dev CURRENT_INTERFACE address 02:42:c0:00:02:63",
      "ip a a 10.99.0.99/24 dev CURRENT_INTERFACE",
      "ip -r route",
      "ip -d tuntap show",
    ];
    const denied = await run({ policyFile: plain, ifname: "net1", commands: attack });
    deepEqual(denied, {
      code: 1,
      lines: [
        "denied   ip link set dev CURRENT_INTERFACE address 02:42:c0:00:02:63  (rule: default-deny: no allow rule matches)",
        "denied   ip a a 10.99.0.99/24 dev CURRENT_INTERFACE  (rule: default-deny: no allow rule matches)",
        'denied   ip -r route  (rule: default-deny: -resolve is not granted by "* show|get": it resolves addresses to ' +
        "names with the node's /etc/hosts and resolver, sending DNS queries from the pod's network namespace; a " +
        "rule must name -resolve to allow it)",
        "denied   ip -d tuntap show  (rule: escape:reads-host-proc: ip tuntap reads the host's /proc and /sys (it " +
        "would list host processes) and opens /dev/net/tun)",
      ],
    });
    const optIn = `${dir}/opt-in.json`;
    await Deno.writeTextFile(
      optIn,
      JSON.stringify({
        allow: [
          "link set dev=@pod address|broadcast",
          "address add|replace|change dev=@pod",
          "* show|get -resolve",
        ],
        deny: ["route flush"],
      }),
    );
    const allowed = await run({ policyFile: optIn, ifname: "net1", commands: attack });
    equal(allowed.code, 1);
    deepEqual(
      allowed.lines.map((l) => `${l.slice(0, l.indexOf("  (rule: "))} ${/\(rule: (\S+?):? /.exec(l)?.[1]}`),
      [
        "allowed  ip link set dev CURRENT_INTERFACE address 02:42:c0:00:02:63 node.allow[0]",
        "allowed  ip a a 10.99.0.99/24 dev CURRENT_INTERFACE node.allow[1]",
        "allowed  ip -r route node.allow[2]",
        "denied   ip -d tuntap show escape:reads-host-proc",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
