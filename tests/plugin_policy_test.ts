/**
 * Policy in a real chain: the node ceiling beats a permissive chain config, limits bound runaway commands, and a
 * denied command leaves the netns untouched.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { requireRoot } from "./support/netns.ts";
import { scopedTempDir } from "./support/plugin.ts";
import { ANNOTATION, type Fixture, fixture, runtimeAnnotations } from "./support/chain_fixture.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { DEFAULT_ALLOW, OPT_IN_RULES } from "../src/policy/default_policy.ts";

const CAP = { capabilities: { "io.kubernetes.cri.pod-annotations": true } };

/** Runs `body` with CHAINSAW_POLICY_DIR naming a node policy dir holding `doc` (none: an empty dir, the default). */
async function withNodePolicy(
  doc: unknown,
  body: (env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const dir = await scopedTempDir();
  try {
    if (doc !== undefined) await Deno.writeTextFile(`${dir.path}/policy.json`, JSON.stringify(doc));
    await body({ CHAINSAW_POLICY_DIR: dir.path });
  } finally {
    await dir.remove();
  }
}

Deno.test({
  name: "policy: the node ceiling beats a permissive chain policy; nothing runs",
  ...requireRoot(),
  async fn() {
    await withNodePolicy({ allow: ["* show|get"] }, async (env) => {
      const f = await fixture("ceil", { ...CAP, policy: { allow: ["* *"] } });
      try {
        const add = await f.chain("add", {
          env,
          cap: runtimeAnnotations('["ip route", "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]'),
        });
        assertEquals(add.json?.code, 101, add.stdout);
        assertStringIncludes(
          String(add.json?.msg),
          'command 2 "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"',
        );
        assert(!(await f.ns.routes()).includes("192.0.3.0/24"));
        assertEquals((await f.chain("del", { env })).code, 0);
      } finally {
        await f.cleanup.run();
      }
    });
  },
});

Deno.test({
  name: "policy: a chain policy narrows the default (route add outside its prefixes is denied)",
  ...requireRoot(),
  async fn() {
    const f = await fixture("narrow", {
      ...CAP,
      policy: { allow: ["route add to=198.51.100.0/24 dev=@current"] },
    });
    try {
      const denied = await f.chain("add", {
        cap: runtimeAnnotations('["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]'),
      });
      assertEquals(denied.json?.code, 101, denied.stdout);
      assertEquals((await f.chain("del")).code, 0);
      const allowed = await f.chain("add", {
        cap: runtimeAnnotations('["ip route add 198.51.100.0/25 dev CURRENT_INTERFACE"]'),
      });
      assertEquals(allowed.code, 0, allowed.stdout + allowed.stderr);
      assertStringIncludes(await f.ns.routes(), "198.51.100.0/25 dev eth0");
    } finally {
      await f.cleanup.run();
    }
  },
});

Deno.test({
  name: "limits: `ip monitor` is killed at the command timeout and the output is capped",
  ...requireRoot(),
  async fn() {
    await withNodePolicy(
      { allow: ["* show|get", "monitor *"], limits: { commandTimeoutMs: 300, maxOutputBytes: 64 } },
      async (env) => {
        const f = await fixture("limit", { ...CAP, onError: "continue" });
        try {
          const add = await f.chain("add", {
            env,
            cap: runtimeAnnotations('["ip monitor", "ip -d link show"]'),
          });
          assertEquals(add.code, 0, add.stdout + add.stderr);
          assertStringIncludes(add.stderr, 'command "ip monitor" timed out');
          assertStringIncludes(add.stderr, "output truncated");
        } finally {
          await f.cleanup.run();
        }
      },
    );
  },
});

Deno.test({
  name: "policy: an invalid node policy fails ADD with code 7 naming the file",
  ...requireRoot(),
  async fn() {
    await withNodePolicy({ allow: ["route frobnicate"] }, async (env) => {
      const f = await fixture("badpol", CAP);
      try {
        const add = await f.chain("add", { env, cap: runtimeAnnotations('["ip route"]') });
        assertEquals(add.json?.code, 7, add.stdout);
        assertStringIncludes(String(add.json?.msg), "policy.json");
      } finally {
        await f.cleanup.run();
      }
    });
  },
});

Deno.test({
  name: "policy: namespaceLabels scope chainsaw to labelled namespaces (the plugin reads the labels)",
  ...requireRoot(),
  async fn() {
    const label = "chainsaw.cni.cncf.io/enabled";
    const api = await startFakeApiServer({
      pods: [makePod({
        namespace: "default",
        name: "p1",
        uid: "uid-1",
        annotations: { [ANNOTATION]: '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]' },
      })],
    });
    try {
      await withNodePolicy({ namespaceLabels: { [label]: "true" } }, async (env) => {
        const kubeconfig = `${env.CHAINSAW_POLICY_DIR}/chainsaw.kubeconfig`;
        await Deno.writeTextFile(kubeconfig, api.kubeconfig());
        const f = await fixture("nslabel", { kubeconfig });
        try {
          const unlabelled = await f.chain("add", { env });
          assertEquals(unlabelled.json?.code, 101, unlabelled.stdout);
          assertStringIncludes(String(unlabelled.json?.msg), `lacks the label ${label}=true`);
          assertEquals((await f.chain("del", { env })).code, 0);
          api.setNamespace("default", { [label]: "true" });
          const labelled = await f.chain("add", { env });
          assertEquals(labelled.code, 0, labelled.stdout + labelled.stderr);
          assertStringIncludes(await f.ns.routes(), "192.0.3.0/24 dev eth0");
          assert(api.requests.some((r) => r.path === "/api/v1/namespaces/default"), "the namespace was read");
        } finally {
          await f.cleanup.run();
        }
      });
    } finally {
      await api.close();
    }
  },
});

Deno.test({
  name: "real chain: a malformed annotation and one over the command limit fail ADD with 101; nothing runs",
  ...requireRoot(),
  async fn() {
    await withNodePolicy({ limits: { maxCommands: 2 } }, async (env) => {
      const f = await fixture("malform", CAP);
      try {
        const bad = await f.chain("add", {
          env,
          cap: runtimeAnnotations('["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", '),
        });
        assertEquals(bad.json?.code, 101, bad.stdout);
        assertStringIncludes(String(bad.json?.msg), "is not valid JSON");
        assertEquals((await f.chain("del", { env })).code, 0);
        const many = await f.chain("add", {
          env,
          cap: runtimeAnnotations(
            '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route", "ip addr"]',
          ),
        });
        assertEquals(many.json?.code, 101, many.stdout);
        assertStringIncludes(String(many.json?.msg), "limit:max-commands");
        assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "nothing ran");
      } finally {
        await f.cleanup.run();
      }
    });
  },
});

/** Another pod on the same bridge (simulated): its MAC and IP are what an attacker would claim. */
const VICTIM_MAC = "02:42:c0:00:02:63";
const VICTIM_IP = "10.99.0.99"; // the fixture bridge's subnet
const ATTACK = [
  `ip link set dev CURRENT_INTERFACE address ${VICTIM_MAC}`,
  `ip addr add ${VICTIM_IP}/24 dev CURRENT_INTERFACE`,
];

/** The pod interface's MAC and addresses, and its neighbours (proxy entries too), as the netns has them. */
async function identity(f: Fixture): Promise<string> {
  const out = await Promise.all([
    ["-o", "link", "show", "dev", "eth0"],
    ["-o", "addr", "show", "dev", "eth0"],
    ["neigh", "show"],
    ["neigh", "show", "proxy"],
    ["route", "show", "table", "local"],
  ].map((args) => f.ns.exec(["/usr/sbin/ip", ...args])));
  return out.map((r) => r.stdout).join("");
}

/** Asserts the victim's MAC and IP appear nowhere in the pod's netns. */
async function assertUnclaimed(f: Fixture, what: string): Promise<void> {
  const now = await identity(f);
  assert(now.includes("link/ether"), `${what}: eth0 exists\n${now}`);
  assert(
    !now.includes(VICTIM_MAC) && !now.includes(VICTIM_IP),
    `${what}: the victim's identity was claimed\n${now}`,
  );
}

Deno.test({
  name:
    "identity: the default policy refuses the MAC-spoof + IP-claim attack in every spelling; nothing runs",
  ...requireRoot(),
  async fn() {
    await withNodePolicy(undefined, async (env) => {
      const f = await fixture("idspoof", CAP);
      try {
        const attack = await f.chain("add", {
          env,
          cap: runtimeAnnotations(
            JSON.stringify(["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", ...ATTACK]),
          ),
        });
        assertEquals(attack.json?.code, 101, attack.stdout);
        assertStringIncludes(
          String(attack.json?.msg),
          `command 2 "${ATTACK[0]}" is not allowed (default-deny`,
        );
        await assertUnclaimed(f, "the attack");
        assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "nothing ran, not even the allowed route");
        assertEquals((await f.chain("del", { env })).code, 0);
        const spellings: [string, string][] = [
          [`ip l s CURRENT_INTERFACE a ${VICTIM_MAC}`, "default-deny"],
          [`ip link change CURRENT_INTERFACE addr ${VICTIM_MAC}`, "default-deny"],
          [`ip a a ${VICTIM_IP}/24 dev CURRENT_INTERFACE`, "default-deny"],
          [`ip address replace ${VICTIM_IP}/24 dev CURRENT_INTERFACE`, "default-deny"],
          [`ip n r ${VICTIM_IP} lladdr ${VICTIM_MAC} dev CURRENT_INTERFACE`, "default-deny"],
          [`ip neigh add proxy ${VICTIM_IP} dev CURRENT_INTERFACE`, "default-deny"],
          [`ip route add local ${VICTIM_IP} dev CURRENT_INTERFACE table local`, "default-deny"],
          [`ip route add +2 ${VICTIM_IP} dev CURRENT_INTERFACE`, "default-deny"],
          ["ip -r route", "-resolve is not granted"],
          ["ip -re neigh", "-resolve is not granted"],
          ["ip -resolve addr", "-resolve is not granted"],
          ["ip --resolve route", "-resolve is not granted"],
        ];
        for (const [command, why] of spellings) {
          const add = await f.chain("add", {
            env,
            cap: runtimeAnnotations(
              JSON.stringify(["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", command]),
            ),
          });
          assertEquals(add.json?.code, 101, `${command}: ${add.stdout}`);
          assertStringIncludes(String(add.json?.msg), `command 2 "${command}" is not allowed`);
          assertStringIncludes(String(add.json?.msg), why);
          assert(!(await f.ns.routes()).includes("192.0.3.0/24"), `${command}: nothing ran`);
          await assertUnclaimed(f, command);
          assertEquals((await f.chain("del", { env })).code, 0);
        }
      } finally {
        await f.cleanup.run();
      }
    });
  },
});

Deno.test({
  name: "identity: a node policy opts in with the documented rules; then the attack runs",
  ...requireRoot(),
  async fn() {
    const allow = [...DEFAULT_ALLOW, OPT_IN_RULES["link-address"], OPT_IN_RULES["addresses"]];
    await withNodePolicy({ allow }, async (env) => {
      const f = await fixture("idoptin", CAP);
      try {
        const add = await f.chain("add", { env, cap: runtimeAnnotations(JSON.stringify(ATTACK)) });
        assertEquals(add.code, 0, add.stdout + add.stderr);
        const now = await identity(f);
        assertStringIncludes(now, `link/ether ${VICTIM_MAC}`);
        assertStringIncludes(now, `inet ${VICTIM_IP}/24`);
      } finally {
        await f.cleanup.run();
      }
    });
  },
});

Deno.test({
  name: "built-in denies: a node policy with its own deny list still refuses tuntap (nothing runs)",
  ...requireRoot(),
  async fn() {
    await withNodePolicy({ allow: ["* *"], deny: ["route flush"] }, async (env) => {
      const f = await fixture("tuntap", CAP);
      try {
        for (const command of ["ip -d tuntap show", "ip tap add tap0 mode tap"]) {
          const add = await f.chain("add", {
            env,
            cap: runtimeAnnotations(
              JSON.stringify(["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", command]),
            ),
          });
          assertEquals(add.json?.code, 101, `${command}: ${add.stdout}`);
          assertStringIncludes(
            String(add.json?.msg),
            `command 2 "${command}" is not allowed (escape:reads-host-proc`,
          );
          assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "nothing ran");
          assertEquals((await f.chain("del", { env })).code, 0);
        }
        const links = await f.ns.exec(["/usr/sbin/ip", "-o", "link", "show"]);
        assert(!links.stdout.includes("tap0"), links.stdout);
      } finally {
        await f.cleanup.run();
      }
    });
  },
});
