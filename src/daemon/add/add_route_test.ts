import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { sampleCommand } from "../../../tests/daemon_fixtures.ts";
import { defaultPolicy } from "../../policy/default_policy.ts";
import type { Report } from "../../report/report.ts";
import type { AddRequest } from "../../wire/add.ts";
import type { AttachmentRegistration } from "../../wire/attachment.ts";
import { ADD_ANSWER_WAIT_MS, ROUTES } from "../../wire/routes.ts";
import { ADD_ANSWER_RESERVE_MS, type AddRouteDeps, createAddRoute, fitListDeadline } from "./add_route.ts";

const KEY = "k8s.v1.cni.cncf.io/chainsaw";

function request(over: Partial<AddRequest> = {}): AddRequest {
  return {
    env: {
      containerId: "c1",
      netns: "/var/run/netns/x",
      ifname: "net1",
      args: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u1",
    },
    network: "net-a",
    cniVersion: "1.0.0",
    conf: {},
    pod: { namespace: "ns", name: "p", uid: "u1" },
    runtimeAnnotations: { [KEY]: "ip route" },
    podInterfaces: ["eth0", "net1"],
    ...over,
  };
}

function setup(draining = false, apiAccess = true) {
  const seen = {
    registered: [] as AttachmentRegistration[],
    reports: [] as Report[],
    ran: 0,
    snapshots: [] as string[],
    batches: [] as string[][],
  };
  const empty = (netns: string) => ({
    netns,
    links: [],
    addresses: [],
    routes: [],
    rules: [],
    neighbours: [],
    tentative: [],
  });
  const deps: AddRouteDeps = {
    now: () => new Date(0),
    loadPolicy: () => Promise.resolve(defaultPolicy()),
    run: (command, argv) => {
      seen.ran++;
      return Promise.resolve(sampleCommand({ command, argv: [...argv], exitCode: 0 }));
    },
    netnsState: () => Promise.resolve("present"),
    fileExists: () => true,
    // onError "rollback" (the default) snapshots the netns before the list: a stub, no netns here.
    snapshot: (netns) => {
      seen.snapshots.push(netns);
      return Promise.resolve(empty(netns));
    },
    // Declarative mode (the default) runs a list that writes as one batch process: a stub, no netns here.
    batch: (input) => {
      seen.batches.push(input.commands.map((c) => c.source));
      return Promise.resolve({
        before: empty(input.netns),
        results: input.commands.map((c) =>
          sampleCommand({ command: c.source, argv: [...c.argv], exitCode: 0 })
        ),
        after: input.commands.map(() => empty(input.netns)),
        dumped: [0, 1, 2, 3, 4],
        timedOut: false,
        durationMs: 1,
      });
    },
    lookUp: () => Promise.resolve({ annotations: { [KEY]: "ip route" }, uid: "u1", source: "daemon" }),
    register: (r) => void seen.registered.push(r),
    accept: (r) => void seen.reports.push(r),
    draining: () => draining,
    apiAccess,
  };
  const post = async (body: unknown) => {
    const url = new URL(`http://chainsaw${ROUTES.add.path}`);
    const res = await createAddRoute(deps)(
      new Request(url, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) }),
      url,
    );
    return { status: res.status, body: await res.json() };
  };
  return { seen, post, deps };
}

Deno.test("add route: runs, registers, reports, answers ran", async () => {
  const { seen, post } = setup();
  assertEquals(await post(request()), { status: 200, body: { ran: true } });
  assertEquals([seen.ran, seen.registered.length, seen.reports.length], [1, 1, 1]);
  assertEquals(seen.snapshots, [], "a list that only reads takes no snapshot");
  assertEquals(seen.registered[0].applied, "ip route");
  assertEquals(seen.reports[0].source, "runtime");
  const writes = setup();
  const list = "ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE";
  assertEquals((await writes.post(request({ runtimeAnnotations: { [KEY]: list } }))).body, { ran: true });
  assertEquals(writes.seen.batches, [[list]], "declarative (the default): one batch process");
  assertEquals([writes.seen.snapshots, writes.seen.ran], [[], 0], "and nothing else");
  assertEquals(writes.seen.registered[0].mode, "declarative");
  assertEquals(writes.seen.registered[0].drift, "report", "the chain's drift key (default) is registered");
  const imperative = setup();
  const conf = { mode: "imperative" };
  assertEquals((await imperative.post(request({ conf, runtimeAnnotations: { [KEY]: list } }))).body, {
    ran: true,
  });
  assertEquals(
    imperative.seen.snapshots,
    ["/var/run/netns/x"],
    "the default onError (rollback) snapshots first",
  );
  assertEquals([imperative.seen.ran, imperative.seen.batches.length], [1, 0]);
});

Deno.test("add route: the plugin's checks apply to the request (env syntax, own netns, chain config)", async () => {
  const { seen, post } = setup();
  const bad: Array<[Partial<AddRequest>, number]> = [
    [{ env: { ...request().env, containerId: "x;y" } }, 4],
    [{ env: { ...request().env, ifname: "a/b" } }, 4],
    [{ env: { ...request().env, netns: "/var/run/netns/../../proc/self/ns/net" } }, 4],
    [{ conf: { onError: "sometimes" as never } }, 7],
    [{ conf: { ipPath: "/tmp/ip" } }, 7],
    // The pod must be the one CNI_ARGS names (the plugin takes it from there): not another pod's annotation.
    [{ pod: { namespace: "ns", name: "other", uid: "u1" } }, 4],
    [{ pod: { namespace: "kube-system", name: "p", uid: "u1" } }, 4],
    [{ pod: { namespace: "ns", name: "p", uid: "u9" } }, 4],
    [{ pod: { namespace: "ns", name: "p", uid: "" } }, 4],
    [{ env: { ...request().env, args: "garbage" } }, 4],
  ];
  for (const [over, code] of bad) {
    const r = await post(request(over));
    assertEquals([r.status, r.body.ran, r.body.error?.code], [200, true, code], JSON.stringify(over));
  }
  assertEquals(seen.ran, 0);
  // CNI_ARGS without the pod keys (args.cni supplied them in the plugin): the request's pod is taken as given.
  const fromConf = await post(request({ env: { ...request().env, args: "IgnoreUnknown=1" } }));
  assertEquals([fromConf.body.ran, fromConf.body.error, seen.ran], [true, undefined, 1]);
});

Deno.test("add route: /proc netns and shutdown are declined before anything runs", async () => {
  const proc = setup();
  const r = await proc.post(request({ env: { ...request().env, netns: "/proc/4242/ns/net" } }));
  assertEquals([r.body.ran, proc.seen.ran, proc.seen.registered.length], [false, 0, 0]);
  const draining = setup(true);
  assertEquals((await draining.post(request())).body.ran, false);
});

Deno.test("add route: malformed bodies are 400 and run nothing", async () => {
  const { seen, post } = setup();
  assertEquals((await post("{not json")).status, 400);
  assertEquals((await post({ ...request(), env: undefined })).status, 400);
  assertEquals(seen.ran, 0);
});

Deno.test("add route: a stale pod from the cache is 102 and nothing runs", async () => {
  const { seen, post } = setup();
  const r = await post(
    request({
      runtimeAnnotations: undefined,
      env: { ...request().env, args: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u2" },
      pod: { namespace: "ns", name: "p", uid: "u2" },
    }),
  );
  assertEquals([r.body.error?.code, seen.ran], [102, 0]);
});

Deno.test("add route: the list's deadline is cut to fit the plugin's wait (a 300 s policy bound cannot outlive it)", async () => {
  // Before: the daemon ran the list with the policy's own bound (up to 300 s); the plugin gave up after 60 s
  // (code 11, "it may have run") while the list went on here, and the rollback after it.
  const timeouts: number[] = [];
  const slow = defaultPolicy();
  const policy = { ...slow, limits: { ...slow.limits, listTimeoutMs: 300_000, commandTimeoutMs: 300_000 } };
  const route = createAddRoute({
    now: () => new Date(0),
    loadPolicy: () => Promise.resolve(policy),
    run: (command, argv, opts) => {
      timeouts.push(opts.timeoutMs);
      return Promise.resolve(sampleCommand({ command, argv: [...argv], exitCode: 0 }));
    },
    netnsState: () => Promise.resolve("present"),
    fileExists: () => true,
    snapshot: (netns) =>
      Promise.resolve({
        netns,
        links: [],
        addresses: [],
        routes: [],
        rules: [],
        neighbours: [],
        tentative: [],
      }),
    lookUp: () => Promise.reject(new Error("not asked")),
    register: () => {},
    accept: () => {},
    draining: () => false,
    apiAccess: true,
  });
  const url = new URL(`http://chainsaw${ROUTES.add.path}`);
  const res = await route(new Request(url, { method: "POST", body: JSON.stringify(request()) }), url);
  assertEquals((await res.json()).ran, true);
  assertEquals(timeouts.length, 1);
  const cap = ADD_ANSWER_WAIT_MS - ADD_ANSWER_RESERVE_MS;
  assert(timeouts[0] <= cap && timeouts[0] > cap - 5_000, `command timeout ${timeouts[0]} ms, cap ${cap} ms`);
  // A policy bound already inside the wait is kept as it is.
  assertEquals(fitListDeadline(policy, 1e9), policy);
  assertEquals(fitListDeadline(policy, -5).limits.listTimeoutMs, 1);
});

Deno.test("add route: a netns not pinned under /var/run/netns is declined (the DaemonSet mounts only that)", async () => {
  for (
    const netns of ["/run/containerd/io.containerd.grpc.v1.cri/netns/cni-1", "/var/run/netns2/x", "/tmp/ns"]
  ) {
    const t = setup();
    const r = await t.post(request({ env: { ...request().env, netns } }));
    assertEquals([r.body.ran, t.seen.ran, t.seen.registered.length], [false, 0, 0], netns);
  }
  const pinned = setup();
  assertEquals(
    (await pinned.post(request({ env: { ...request().env, netns: "/run/netns/cni-2" } }))).body.ran,
    true,
  );
});

Deno.test("add route: a daemon without API access declines (the plugin has its own kubeconfig)", async () => {
  const t = setup(false, false);
  const r = await t.post(request());
  assertEquals([r.body.ran, t.seen.ran], [false, 0]);
});

Deno.test("add route: an ADD that owns something is answered only once its registration is in the state file", async () => {
  for (const owns of [true, false]) {
    const { seen, post, deps } = setup();
    let release!: () => void;
    const saved = new Promise<void>((r) => release = r);
    deps.register = (r) => {
      seen.registered.push(r);
      return saved;
    };
    if (owns) {
      // The batch's dump after the command has a route its dump before did not: the ADD owns it.
      const batch = deps.batch!;
      deps.batch = async (input) => {
        const out = await batch(input);
        const route = { family: 4, type: "unicast", dst: "192.0.3.0/24", dev: "net1", table: "main" };
        return { ...out, after: out.after.map((a) => ({ ...a, routes: [route] })) };
      };
    }
    const list = "ip route replace 192.0.3.0/24 dev CURRENT_INTERFACE";
    let answered = false;
    const answer = post(request({ runtimeAnnotations: { [KEY]: list } })).then((a) => {
      answered = true;
      return a;
    });
    await waitUntil(() => seen.registered.length === 1);
    assertEquals(seen.registered[0].effect !== undefined, owns);
    // A few turns of the event loop: an ADD owning something still waits for the write.
    for (let i = 0; i < 20 && !answered; i++) await new Promise((r) => setTimeout(r, 0));
    assertEquals(answered, !owns, owns ? "waits for the state file" : "nothing owned: answered at once");
    release();
    assertEquals((await answer).body, { ran: true });
  }
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
  assert(cond(), "condition never held");
}
