/**
 * chainsaw in a real chain driven by real libcni (tests/support/cnidriver): bridge + host-local, then chainsaw,
 * in real network namespaces, with the pod's annotation from the runtime or from a fake API server over TLS.
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { requireRoot, sleeperInNetns } from "./support/netns.ts";
import { scopedTempDir } from "./support/plugin.ts";
import { ANNOTATION, type Fixture, fixture, runtimeAnnotations } from "./support/chain_fixture.ts";
import { type FakeApiServer, makePod, startFakeApiServer } from "./support/fake_apiserver.ts";

const SEED = '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip route"]';

for (const version of ["0.4.0", "1.0.0"]) {
  Deno.test({
    name: `real chain ${version}: ADD runs the seed's commands in the pod netns; CHECK, DEL, DEL succeed`,
    ...requireRoot(),
    async fn() {
      const f = await fixture(
        "seed",
        { capabilities: { "io.kubernetes.cri.pod-annotations": true } },
        version,
      );
      try {
        const cap = runtimeAnnotations(SEED);
        const add = await f.chain("add", { cap });
        assertEquals(add.code, 0, add.stdout + add.stderr);
        assertEquals(add.json?.cniVersion, version);
        const eth0 = add.json?.interfaces?.find((i) => i.name === "eth0");
        assertEquals(eth0?.sandbox, f.ns.path);
        assertStringIncludes(await f.ns.routes(), "192.0.3.0/24 dev eth0");
        assertStringIncludes(add.stderr, "Running ip route add 192.0.3.0/24 dev eth0");
        assertStringIncludes(add.stderr, "Result: applied");
        assertEquals((await f.chain("check", { cap })).code, 0);
        const del1 = await f.chain("del", { cap });
        assertEquals(del1.code, 0, del1.stdout + del1.stderr);
        const del2 = await f.chain("del", { cap });
        assertEquals(del2.code, 0, del2.stdout + del2.stderr);
      } finally {
        await f.cleanup.run();
      }
    },
  });
}

Deno.test({
  name: "real chain: the /proc/PID/ns/net form of CNI_NETNS works too",
  ...requireRoot(),
  async fn() {
    const f = await fixture("proc", { capabilities: { "io.kubernetes.cri.pod-annotations": true } });
    try {
      const sleeper = await sleeperInNetns(f.ns);
      f.cleanup.defer(() => sleeper.kill(), "sleeper");
      const cap = runtimeAnnotations('["route add 198.51.100.0/24 dev CURRENT_INTERFACE"]');
      const add = await f.chain("add", { netns: sleeper.procPath, cap });
      assertEquals(add.code, 0, add.stdout + add.stderr);
      assertStringIncludes(await f.ns.routes(), "198.51.100.0/24 dev eth0");
      assertEquals((await f.chain("del", { netns: sleeper.procPath, cap })).code, 0);
    } finally {
      await f.cleanup.run();
    }
  },
});

Deno.test({
  name: "real chain: a failing command fails ADD with code 100 naming command, exit code and stderr",
  ...requireRoot(),
  async fn() {
    const f = await fixture("fail", { capabilities: { "io.kubernetes.cri.pod-annotations": true } });
    try {
      const cap = runtimeAnnotations(
        '["ip route del 192.0.3.99/32 dev CURRENT_INTERFACE", "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]',
      );
      const add = await f.chain("add", { cap });
      assertEquals(add.code, 1);
      assertEquals(add.json?.code, 100, add.stdout);
      assertStringIncludes(
        String(add.json?.msg),
        'command "ip route del 192.0.3.99/32 dev CURRENT_INTERFACE" exited with code 2: RTNETLINK answers: No such process',
      );
      assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "later commands must not run");
    } finally {
      await f.cleanup.run();
    }
  },
});

Deno.test({
  name: 'real chain: with "onError": "continue" a failing command is reported and the rest still runs',
  ...requireRoot(),
  async fn() {
    const f = await fixture("cont", {
      capabilities: { "io.kubernetes.cri.pod-annotations": true },
      onError: "continue",
    });
    try {
      const cap = runtimeAnnotations(
        '["ip route del 192.0.3.99/32 dev CURRENT_INTERFACE", "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE"]',
      );
      const add = await f.chain("add", { cap });
      assertEquals(add.code, 0, add.stdout + add.stderr);
      assertStringIncludes(await f.ns.routes(), "192.0.3.0/24 dev eth0");
      assertStringIncludes(add.stderr, "Result: failed (code 100");
    } finally {
      await f.cleanup.run();
    }
  },
});

Deno.test({
  name: "real chain: one rejected command means none runs (code 101 naming the rule)",
  ...requireRoot(),
  async fn() {
    const f = await fixture("rej", { capabilities: { "io.kubernetes.cri.pod-annotations": true } });
    try {
      const cap = runtimeAnnotations(
        '["ip route add 192.0.3.0/24 dev CURRENT_INTERFACE", "ip netns exec x /bin/sh"]',
      );
      const add = await f.chain("add", { cap });
      assertEquals(add.code, 1);
      assertEquals(add.json?.code, 101, add.stdout);
      assertStringIncludes(String(add.json?.msg), '"ip netns exec x /bin/sh"');
      assertStringIncludes(String(add.json?.msg), "escape:");
      assert(!(await f.ns.routes()).includes("192.0.3.0/24"), "nothing may run when one command is rejected");
    } finally {
      await f.cleanup.run();
    }
  },
});

async function withApi(
  tag: string,
  annotation: string | undefined,
  body: (f: Fixture, api: FakeApiServer, kubeconfig: string) => Promise<void>,
  chainsawExtra: Record<string, unknown> = {},
  podUid = "uid-1",
): Promise<void> {
  const api = await startFakeApiServer({
    pods: [makePod({
      namespace: "default",
      name: "p1",
      uid: podUid,
      annotations: annotation === undefined ? {} : { [ANNOTATION]: annotation },
    })],
  });
  let f: Fixture | undefined;
  try {
    const dir = await scopedTempDir();
    const kubeconfig = `${dir.path}/chainsaw.kubeconfig`;
    await Deno.writeTextFile(kubeconfig, api.kubeconfig());
    f = await fixture(tag, { kubeconfig, ...chainsawExtra });
    f.cleanup.defer(() => dir.remove(), "kubeconfig dir");
    await body(f, api, kubeconfig);
  } finally {
    await f?.cleanup.run();
    await api.close();
  }
}

Deno.test({
  name: "real chain + API server over TLS: the annotation is read with the kubeconfig's token",
  ...requireRoot(),
  async fn() {
    await withApi("api", SEED, async (f, api) => {
      const add = await f.chain("add");
      assertEquals(add.code, 0, add.stdout + add.stderr);
      assertStringIncludes(await f.ns.routes(), "192.0.3.0/24 dev eth0");
      const gets = api.requests.filter((r) =>
        r.method === "GET" && r.path === "/api/v1/namespaces/default/pods/p1"
      );
      assertEquals(gets.length, 1);
      assertEquals((await f.chain("del")).code, 0);
    });
  },
});

Deno.test({
  name: "real chain + API server: 401, 403, 404 fail ADD with code 102; nothing runs",
  ...requireRoot(),
  async fn() {
    await withApi("apierr", SEED, async (f, api) => {
      api.tokens.clear();
      const unauth = await f.chain("add");
      assertEquals(unauth.json?.code, 102, unauth.stdout);
      assertStringIncludes(String(unauth.json?.msg), "401");
      api.tokens.add(api.token);
      assertEquals((await f.chain("del")).code, 0); // a runtime cleans up a failed ADD with DEL
      api.forbid("/api/v1/namespaces/default/pods");
      const forbidden = await f.chain("add");
      assertEquals(forbidden.json?.code, 102, forbidden.stdout);
      assertStringIncludes(String(forbidden.json?.msg), "403");
      api.unforbid("/api/v1/namespaces/default/pods");
      assertEquals((await f.chain("del")).code, 0);
      api.deletePod("default", "p1");
      const gone = await f.chain("add");
      assertEquals(gone.json?.code, 102, gone.stdout);
      assertStringIncludes(String(gone.json?.msg), "pod default/p1 lookup not found");
      assert(!(await f.ns.routes()).includes("192.0.3.0/24"));
      assertEquals((await f.chain("del")).code, 0, "DEL succeeds when the pod is gone");
    });
  },
});

Deno.test({
  name: "real chain + API server: an API server that does not answer within apiTimeoutMs is code 11",
  ...requireRoot(),
  async fn() {
    await withApi("slow", SEED, async (f, api) => {
      // The server holds the answer until the plugin has given up: the code 11 is the deadline's.
      const release = api.hold();
      const slow = await f.chain("add");
      release();
      assertEquals(slow.json?.code, 11, slow.stdout);
      assertStringIncludes(String(slow.json?.msg), "no answer within 500 ms");
      assert(!(await f.ns.routes()).includes("192.0.3.0/24"));
      assertEquals((await f.chain("del")).code, 0);
    }, { apiTimeoutMs: 500 });
  },
});

Deno.test({
  name: "real chain + API server: a failing API server (503) is code 11; DEL succeeds with it down",
  ...requireRoot(),
  async fn() {
    // The default deadline: on a loaded machine the 503 must arrive as a 503, not as a timeout.
    await withApi("unavail", SEED, async (f, api) => {
      api.failNext(503, 1);
      const unavailable = await f.chain("add");
      assertEquals(unavailable.json?.code, 11, unavailable.stdout);
      assertStringIncludes(String(unavailable.json?.msg), "503");
      assert(!(await f.ns.routes()).includes("192.0.3.0/24"));
      // DEL does not ask the API server: it succeeds while nothing answers.
      const release = api.hold();
      try {
        assertEquals((await f.chain("del")).code, 0, "DEL succeeds with the API server down");
      } finally {
        release();
      }
    });
  },
});

Deno.test({
  name: "real chain + API server: a pod whose UID changed is stale; nothing runs (code 102)",
  ...requireRoot(),
  async fn() {
    await withApi(
      "uid",
      SEED,
      async (f) => {
        const add = await f.chain("add");
        assertEquals(add.json?.code, 102, add.stdout);
        assertStringIncludes(String(add.json?.msg), "stale pod");
        assert(!(await f.ns.routes()).includes("192.0.3.0/24"));
      },
      {},
      "uid-2",
    );
  },
});

Deno.test({
  name: "real chain + API server: a pod without the annotation passes through untouched",
  ...requireRoot(),
  async fn() {
    await withApi("none", undefined, async (f) => {
      const add = await f.chain("add");
      assertEquals(add.code, 0, add.stdout + add.stderr);
      assertEquals(add.json?.ips?.[0]?.address, "10.99.0.2/24");
      assertEquals(add.stderr.includes("Running ip"), false);
    });
  },
});
