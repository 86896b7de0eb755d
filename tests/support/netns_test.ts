import assert from "node:assert/strict";
import {
  bridgeConflist,
  Cleanup,
  createNetns,
  deleteLink,
  IP,
  linkExists,
  requireRoot,
  run,
  runChain,
  sleeperInNetns,
  uniqueName,
} from "./netns.ts";

const K8S_ARGS = { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: "p1", K8S_POD_UID: "abc" };

Deno.test("Cleanup runs steps in reverse and never throws", async () => {
  const order: number[] = [];
  const cleanup = new Cleanup();
  cleanup.defer(() => order.push(1));
  cleanup.defer(() => {
    throw new Error("boom");
  }, "failing step");
  cleanup.defer(async () => {
    await Promise.resolve();
    order.push(3);
  });
  const originalError = console.error;
  console.error = () => {};
  try {
    const failures = await cleanup.run();
    assert.deepEqual(order, [3, 1]);
    assert.equal(failures.length, 1);
    assert.match(failures[0], /failing step.*boom/);
  } finally {
    console.error = originalError;
  }
  assert.deepEqual(await cleanup.run(), []);
});

Deno.test({
  name: "bridge + host-local chain through libcni: ADD, CHECK, DEL via /proc/PID/ns/net",
  ...requireRoot(),
  fn: async () => {
    await using cleanup = new Cleanup();
    const ns = await createNetns("support");
    cleanup.defer(() => ns.delete(), "delete netns");
    const sleeper = await sleeperInNetns(ns);
    cleanup.defer(() => sleeper.kill(), "kill sleeper");
    const bridge = uniqueName("csbr");
    cleanup.defer(() => deleteLink(bridge), "delete bridge");
    const dataDir = await Deno.makeTempDir({ prefix: "cs-ipam-" });
    cleanup.defer(() => Deno.remove(dataDir, { recursive: true }), "remove ipam dir");
    const conflist = bridgeConflist({ bridge, dataDir, subnet: "10.99.0.0/24" });
    const common = { conflist, netns: sleeper.procPath, id: `c-${bridge}`, args: K8S_ARGS };

    const add = await runChain({ ...common, cmd: "add" });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json?.cniVersion, "1.0.0");
    const ip = add.json?.ips?.[0]?.address;
    assert.match(ip ?? "", /^10\.99\.0\.\d+\/24$/);
    const eth0 = add.json?.interfaces?.find((i) => i.name === "eth0");
    assert.equal(eth0?.sandbox, sleeper.procPath);

    assert.match(await ns.addrs(), new RegExp(`eth0\\s+inet ${ip!.replace(/\./g, "\\.")}`));
    assert.match(await ns.routes(), /default via 10\.99\.0\.1 dev eth0/);
    const inside = await ns.exec([IP, "-o", "link", "show", "eth0"]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.ok(await linkExists(bridge));

    const check = await runChain({ ...common, cmd: "check" });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal(check.json, null);

    const del = await runChain({ ...common, cmd: "del" });
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.doesNotMatch(await ns.addrs(), /eth0/);
    // A second DEL (no cached result any more) must succeed too.
    const del2 = await runChain({ ...common, cmd: "del" });
    assert.equal(del2.code, 0, del2.stdout + del2.stderr);

    await cleanup.run();
    assert.equal(await linkExists(bridge), false);
    const list = await run([IP, "netns", "list"]);
    assert.doesNotMatch(list.stdout, new RegExp(ns.name));
  },
});

Deno.test({
  name: "driver: Go pass-through, version, repeat timings and error JSON",
  ...requireRoot(),
  fn: async () => {
    await using cleanup = new Cleanup();
    const ns = await createNetns("support");
    cleanup.defer(() => ns.delete(), "delete netns");
    const bridge = uniqueName("csbr");
    cleanup.defer(() => deleteLink(bridge), "delete bridge");
    const dataDir = await Deno.makeTempDir({ prefix: "cs-ipam-" });
    cleanup.defer(() => Deno.remove(dataDir, { recursive: true }), "remove ipam dir");
    const conflist = bridgeConflist({
      bridge,
      dataDir,
      subnet: "192.0.2.0/24",
      cniVersion: "0.4.0",
      plugins: [{ type: "passthrough" }],
    });
    const common = { conflist, netns: ns.path, id: `c-${bridge}`, args: K8S_ARGS };

    const version = await runChain({ ...common, cmd: "version" });
    assert.equal(version.code, 0, version.stdout + version.stderr);
    assert.ok(
      (version.json?.passthrough as { supportedVersions: string[] }).supportedVersions.includes("1.0.0"),
    );

    const add = await runChain({ ...common, cmd: "add" });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json?.cniVersion, "0.4.0");
    assert.equal(add.json?.ips?.[0]?.version, "4");
    assert.match(add.json?.ips?.[0]?.address ?? "", /^192\.0\.2\.\d+\/24$/);
    const del = await runChain({ ...common, cmd: "del" });
    assert.equal(del.code, 0, del.stdout + del.stderr);

    const timed = await runChain({ ...common, cmd: "adddel", repeat: 3 });
    assert.equal(timed.code, 0, timed.stdout + timed.stderr);
    assert.equal(timed.timingsUs.length, 3);
    assert.ok(timed.timingsUs.every((t) => t > 0));

    const missing = await runChain({ ...common, cmd: "add", netns: `/var/run/netns/${ns.name}-missing` });
    assert.equal(missing.code, 1);
    assert.equal(typeof missing.json?.code, "number");
    assert.match(missing.json?.msg ?? "", /failed to open netns/);
    await runChain({ ...common, cmd: "del", netns: `/var/run/netns/${ns.name}-missing` });

    const noPlugin = await runChain({
      ...common,
      conflist: { ...conflist, plugins: [{ type: "nope-cs" }] },
      cmd: "add",
    });
    assert.equal(noPlugin.code, 1);
    assert.equal(noPlugin.json?.code, 999);
    assert.match(noPlugin.json?.msg ?? "", /failed to find plugin "nope-cs"/);
  },
});

Deno.test("uniqueName: names of one process never collide (16^4 of them with the default length)", () => {
  const names = Array.from({ length: 16 ** 4 }, () => uniqueName("cs"));
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.every((n) => /^cs[0-9a-f]{4}$/.test(n)));
});
