/** The attachment store: ADD/DEL bookkeeping, atomic 0600 state file, corrupt files, netns pruning. */
import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import type { AttachmentRegistration } from "../../wire/attachment.ts";
import { attachmentNameOf, AttachmentStore } from "./attachment_store.ts";
import { removeStaleTemps } from "../../host/atomic_file.ts";

const pathExists = (p: string): Promise<boolean> => Deno.lstat(p).then(() => true, () => false);

/** A registration as the plugin or the daemon's ADD route sends it (`applied` only when given). */
function reg(extra: Partial<AttachmentRegistration> = {}, applied?: string): AttachmentRegistration {
  const r: AttachmentRegistration = {
    pod: { namespace: "ns", name: "p", uid: "u1" },
    containerId: "c1",
    netns: "/var/run/netns/cni-1",
    ifname: "net1",
    network: "a",
    podInterfaces: [],
    onError: "fail",
    ...extra,
  };
  if (applied !== undefined) r.applied = applied;
  return r;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("attachments: add from registrations, keyed by container and interface; remove on forget", async () => {
  await withDir(async (dir) => {
    const store = await AttachmentStore.load(`${dir}/none.json`);
    assertEquals(store.size, 0);
    assertEquals(store.add(reg({ netns: "" })), undefined);
    assertEquals(store.add(reg({ containerId: "" })), undefined);
    assertEquals(store.size, 0);
    assertEquals(store.add(reg({}, "ip r")), {
      containerId: "c1",
      netns: "/var/run/netns/cni-1",
      ifname: "net1",
      network: "a",
      podUid: "u1",
      namespace: "ns",
      name: "p",
      podInterfaces: [],
      onError: "fail",
      applied: "ip r",
    });
    store.add(reg({ ifname: "net2", network: "b" }));
    store.add(reg({ ifname: "net1", netns: "/var/run/netns/cni-1b" })); // replaces
    store.add(reg({ containerId: "c2", pod: { namespace: "ns", name: "q", uid: "u2" } }));
    assertEquals(store.size, 3);
    assertEquals(store.forPod("u1").map((a) => `${a.ifname} ${a.netns} ${a.applied}`), [
      "net1 /var/run/netns/cni-1b undefined",
      "net2 /var/run/netns/cni-1 undefined",
    ]);
    assertEquals(store.forPod(""), []);
    assertEquals(store.forPodName("ns", "q").length, 1);
    assertEquals(store.remove("c1", "net2"), 1);
    assertEquals(store.remove("c1", "net2"), 0);
    assertEquals(store.remove("c2"), 1);
    assertEquals(store.size, 1);
    // copies: mutating a returned attachment changes nothing
    store.forPod("u1")[0].applied = "x";
    assertEquals(store.forPod("u1")[0].applied, undefined);
  });
});

Deno.test("attachments: saved atomically with mode 0600 and a version, reloaded with applied values", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/state/attachments.json`; // the directory is created
    const store = await AttachmentStore.load(path);
    store.add(reg());
    store.add(reg({ containerId: "c2", ifname: "eth0", pod: { namespace: "ns", name: "q", uid: "u2" } }));
    assertEquals(store.markApplied("c1", "net1", '["ip r"]'), true);
    assertEquals(store.markApplied("c9", "net1", "x"), false);
    await Promise.all([store.save(), store.save(), store.save()]);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals([...Deno.readDirSync(`${dir}/state`)].map((e) => e.name), ["attachments.json"]); // no temp files
    const data = JSON.parse(await Deno.readTextFile(path));
    assertEquals(data.version, 1);
    assertEquals(data.attachments.length, 2);
    const again = await AttachmentStore.load(path);
    assertEquals(again.all(), store.all());
    assertEquals(again.forPod("u1")[0].applied, '["ip r"]');
  });
});

Deno.test("attachments: a corrupt, foreign or unknown-version file is logged and treated as empty", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/attachments.json`;
    for (
      const [text, expect] of [
        ["{not json", "not valid JSON"],
        ['{"version": 2, "attachments": []}', "version"],
        ['{"version": 1, "attachments": [{"containerId": 3}]}', "(attachments[0].containerId: "],
        ["[]", "state file (Invalid input"], // a root issue: the message alone (src/text/zod_issue.ts),
      ]
    ) {
      await Deno.writeTextFile(path, text);
      const logs: string[] = [];
      const store = await AttachmentStore.load(path, { log: (m) => logs.push(m) });
      assertEquals(store.size, 0, text);
      assertEquals(logs.length, 1, text);
      assertStringIncludes(logs[0], expect);
      assertStringIncludes(logs[0], path);
      store.add(reg());
      await store.save(); // the next save replaces the bad file
      assertEquals((await AttachmentStore.load(path)).size, 1);
    }
  });
});

Deno.test("attachments: one attachment that cannot be read is dropped, the node's others are kept", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/attachments.json`;
    const good = new AttachmentStore(path);
    good.add(reg({ containerId: "c1", mode: "declarative" }, ""));
    good.add(reg({ containerId: "c2", mode: "declarative" }, ""));
    await good.save();
    const file = JSON.parse(await Deno.readTextFile(path));
    // An effect item over the schema's bounds (a `by` text longer than it allows), as a hostile or future writer
    // could leave it.
    file.attachments[1].effect = {
      items: [{
        key: "route v4 main 192.0.3.0/24",
        kind: "route",
        base: [],
        set: [],
        by: ["x".repeat(9000)],
      }],
    };
    await Deno.writeTextFile(path, JSON.stringify(file));
    const logs: string[] = [];
    const store = await AttachmentStore.load(path, { log: (m) => logs.push(m) });
    assertEquals(store.all().map((a) => a.containerId), ["c1"]);
    assertEquals(logs.length, 1);
    assertStringIncludes(
      logs[0],
      "dropped an attachment that is not valid (attachments[1].effect.items[0].by[0]: ",
    );
  });
});

Deno.test("attachments: entries whose netns is gone are pruned", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ns1`, "");
    const store = new AttachmentStore(`${dir}/a.json`);
    store.add(reg({ netns: `${dir}/ns1` }));
    store.add(reg({ containerId: "c2", netns: `${dir}/ns2` }));
    const gone = await store.pruneMissingNetns();
    assertEquals(gone.map((a) => a.containerId), ["c2"]);
    assertEquals(store.all().map((a) => a.containerId), ["c1"]);
    const checked: string[] = [];
    await store.pruneMissingNetns((p) => {
      checked.push(p);
      return Promise.resolve(true);
    });
    assertEquals(checked, [`${dir}/ns1`]);
    assertEquals(await pathExists(`${dir}/ns1`), true);
    assertEquals(await pathExists(`${dir}/nope`), false);
  });
});

Deno.test("attachments: the ADD's pod interfaces, chain policy, onError and binaries are kept and survive a reload", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/state/attachments.json`;
    const store = await AttachmentStore.load(path);
    const policy = { allow: ["route add|del dev=@current"], limits: { maxCommands: 2 } };
    const a = store.add(
      reg({
        podInterfaces: ["eth0", "net1"],
        chainPolicy: policy,
        onError: "continue",
        ipPath: "/usr/sbin/ip",
        nsenterPath: "/usr/bin/nsenter",
      }, ""),
    );
    assertEquals(a?.podInterfaces, ["eth0", "net1"]);
    assertEquals(a?.chainPolicy, policy);
    assertEquals(a?.onError, "continue");
    assertEquals([a?.ipPath, a?.nsenterPath, a?.applied], ["/usr/sbin/ip", "/usr/bin/nsenter", ""]);
    const b = store.add(reg({ containerId: "c2" }));
    assertEquals([b?.chainPolicy, b?.ipPath, b?.nsenterPath, b?.applied], [
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    await store.save();
    const again = await AttachmentStore.load(path);
    assertEquals(again.all(), store.all());
  });
});

Deno.test("attachments: temporary files of writes interrupted by a kill are removed on load, fresh ones kept", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/attachments.json`;
    const stale = `${dir}/.attachments.json.tmp-123456`;
    const fresh = `${dir}/.attachments.json.tmp-789012`;
    const other = `${dir}/.other.json.tmp-123456`;
    for (const f of [stale, fresh, other]) await Deno.writeTextFile(f, "{");
    const old = new Date(Date.now() - 60 * 60 * 1000);
    await Deno.utime(stale, old, old);
    await Deno.utime(other, old, old);
    const logs: string[] = [];
    await AttachmentStore.load(path, { log: (m) => logs.push(m) });
    assertEquals([await pathExists(stale), await pathExists(fresh), await pathExists(other)], [
      false,
      true,
      true,
    ]);
    assertStringIncludes(logs.join("\n"), "removed 1 temporary file");
    assertEquals(await removeStaleTemps(`${dir}/missing/attachments.json`), 0);
  });
});

Deno.test("attachments: every removal (one interface, a container, a gone netns) is told to onRemove listeners", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ns1`, "");
    const store = new AttachmentStore(`${dir}/a.json`);
    const removed: string[] = [];
    store.onRemove((a) => removed.push(`${a.containerId} ${a.ifname}`));
    store.add(reg({ netns: `${dir}/ns1` }));
    store.add(reg({ netns: `${dir}/ns1`, ifname: "net2" }));
    store.add(reg({ containerId: "c2", netns: `${dir}/ns1` }));
    store.add(reg({ containerId: "c3", netns: `${dir}/gone` }));
    assertEquals(store.remove("c1", "net2"), 1);
    assertEquals(store.remove("c1", "net2"), 0);
    assertEquals(store.remove("c2"), 1);
    await store.pruneMissingNetns();
    assertEquals(removed, ["c1 net2", "c2 net1", "c3 net1"]);
    assertEquals(store.all().map((a) => `${a.containerId} ${a.ifname}`), ["c1 net1"]);
  });
});

Deno.test("attachments: a netns naming the daemon's own (any spelling) is neither recorded nor loaded", async () => {
  await withDir(async (dir) => {
    const logs: string[] = [];
    const store = await AttachmentStore.load(`${dir}/a.json`, { log: (m) => logs.push(m) });
    for (const netns of ["/proc/self/ns/net", "//proc/self/ns/net", `/proc/${Deno.pid}/ns/net`, "rel/ns"]) {
      assertEquals(store.add(reg({ netns })), undefined, netns);
    }
    assertEquals([store.size, logs.length], [0, 4]);
    assertStringIncludes(
      logs[0],
      'not recording ns/p net1 (container c1): its netns "/proc/self/ns/net" is a /proc path',
    );
    // Recorded paths are normalised; a pod's /proc/PID path is kept (it is never re-applied).
    assertEquals(store.add(reg({ netns: "/var/run/netns//cni-1/" }))?.netns, "/var/run/netns/cni-1");
    assertEquals(
      store.add(reg({ containerId: "c2", netns: "/proc/77/ns/net" }))?.netns,
      "/proc/77/ns/net",
    );
    // A tampered state file: the bad entry is dropped at load, the good one kept.
    const file = `${dir}/tampered.json`;
    const entry = {
      containerId: "c1",
      ifname: "net1",
      network: "a",
      podUid: "u1",
      namespace: "ns",
      name: "p",
    };
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        version: 1,
        attachments: [
          { ...entry, netns: "/proc/./self/ns/net" },
          { ...entry, containerId: "c2", netns: "/var/run/netns/x" },
        ],
      }),
    );
    const loaded = await AttachmentStore.load(file, { log: (m) => logs.push(m) });
    assertEquals(loaded.all().map((a) => a.containerId), ["c2"]);
    assertStringIncludes(logs.at(-1)!, 'dropped ns/p net1 (container c1): its netns "/proc/./self/ns/net"');
  });
});

Deno.test("attachments: the mode and the declarative effect are kept, saved and reloaded; markApplied replaces it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/attachments.json`;
    const store = new AttachmentStore(path);
    const item = {
      key: "route v4 main 192.0.3.0/24",
      kind: "route" as const,
      base: [],
      set: [{ dst: "192.0.3.0/24" }],
      by: ["route add 192.0.3.0/24 dev net1"],
    };
    store.add(reg({ mode: "declarative", drift: "heal", effect: { items: [item] } }, "x"));
    await store.save();
    const back = await AttachmentStore.load(path);
    assertEquals(back.all()[0].mode, "declarative");
    assertEquals(back.all()[0].drift, "heal", "the chain's drift key is kept");
    assertEquals(back.all()[0].effect, { items: [item] });
    back.markApplied("c1", "net1", "", []);
    assertEquals(back.all()[0].effect, undefined, "chainsaw owns nothing any more");
    back.markApplied("c1", "net1", "x", [item]);
    await back.save();
    assertEquals((await AttachmentStore.load(path)).all()[0].effect, { items: [item] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("attachments: the NAD read at ADD is kept, survives a reload and names the attachment for the keys", async () => {
  await withDir(async (dir) => {
    const store = await AttachmentStore.load(`${dir}/a.json`);
    store.add(reg({ nad: "ns/test-chainsaw" }));
    store.add(reg({ ifname: "eth0" }));
    await store.save();
    const again = await AttachmentStore.load(`${dir}/a.json`);
    assertEquals(again.all().map(attachmentNameOf).sort((x, y) => x.ifname < y.ifname ? 1 : -1), [
      { ifname: "net1", network: "a", nad: "ns/test-chainsaw", podNamespace: "ns" },
      { ifname: "eth0", network: "a", podNamespace: "ns" },
    ]);
  });
});

Deno.test("attachments: a burst of saves coalesces, and every save's promise resolves after a write that has its change", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/attachments.json`;
    const store = new AttachmentStore(path);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      // Some changes arrive while a write is running, others while one waits behind it.
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      store.add(reg({ containerId: `c${i}` }));
      const n = i + 1;
      // What this save's promise promises: a file with at least the first n attachments.
      saves.push(
        store.save().then(async () => {
          const saved = JSON.parse(await Deno.readTextFile(path)).attachments.length;
          if (saved < n) throw new Error(`save ${n} resolved with ${saved} attachments written`);
        }),
      );
    }
    await Promise.all(saves);
    assertEquals((await AttachmentStore.load(path)).size, 20);
  });
});

Deno.test("attachments: the state file holds one attachment per line, and reads back the same", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/state.json`;
    const store = await AttachmentStore.load(path);
    assertEquals(store.serialize(), '{"version":1,"attachments":[]}\n');
    store.add(reg({}, "ip r"));
    store.add(reg({ containerId: "c0", ifname: "eth0" }, 'x\n"y"'));
    await store.save();
    const text = await Deno.readTextFile(path);
    const lines = text.split("\n");
    assertEquals(lines.length, 5); // head, two attachments, tail, the final newline
    assertEquals([lines[0], lines[3], lines[4]], ['{"version":1,"attachments":[', "]}", ""]);
    const parsed = JSON.parse(text);
    assertEquals(parsed.version, 1);
    assertEquals(parsed.attachments.map((a: { containerId: string }) => a.containerId), ["c0", "c1"]);
    assertEquals(JSON.parse(lines[1].replace(/,$/, "")).applied, 'x\n"y"');
    const again = await AttachmentStore.load(path);
    assertEquals(JSON.parse(again.serialize()), parsed);
  });
});
