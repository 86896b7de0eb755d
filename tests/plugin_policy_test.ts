/**
 * Policy in a real chain: the node ceiling beats a permissive chain config, limits bound runaway commands, and a
 * denied command leaves the netns untouched.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { requireRoot } from "./support/netns.ts";
import { scopedTempDir } from "./support/plugin.ts";
import { ANNOTATION, fixture, runtimeAnnotations } from "./support/chain_fixture.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";

const CAP = { capabilities: { "io.kubernetes.cri.pod-annotations": true } };

async function withNodePolicy(
  doc: unknown,
  body: (env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const dir = await scopedTempDir();
  try {
    await Deno.writeTextFile(`${dir.path}/policy.json`, JSON.stringify(doc));
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
