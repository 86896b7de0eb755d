/**
 * Snapshot and restore when the netns holds state its pod chose (a pod with NET_ADMIN, an earlier plugin, an
 * earlier list): interface names that look like `ip` options or keywords (`-batch`, `help`) and an alias with
 * control characters, quotes and backslashes. iproute2 6.1 prints such an alias's control characters raw inside
 * its JSON strings (only \t \n \r \f \b \\ \" are escaped), which `JSON.parse` refuses: the snapshot failed,
 * so every `onError: "rollback"` list of that pod failed closed (code 100) — at ADD and on every re-apply.
 * Restore must also bring such names and values back exactly, as argv words, never read as options.
 */
import { diffSnapshots, restoreNetns, snapshotNetns } from "../src/exec/netns_snapshot.ts";
import type { SnapshotBinaries } from "../src/exec/netns_snapshot.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { Cleanup, createNetns, IP, NSENTER, requireRoot } from "./support/netns.ts";
import { must } from "./support/plugin.ts";

const BINS: SnapshotBinaries = { ipPath: IP, nsenterPath: NSENTER };

/** Control characters, an ESC sequence, DEL, quotes, a backslash, a blank. */
const ALIAS = 'a\x01b\x1b[2Jc\x7f it\'s "q" \\ \x1f end';

Deno.test({
  name: "snapshot: hostile names and an alias with control characters are snapshotted and restored exactly",
  ...requireRoot(),
  sanitizeResources: false,
  fn: async () => {
    await using cleanup = new Cleanup();
    const ns = await createNetns("snh");
    cleanup.defer(() => ns.delete(), `delete ${ns.name}`);
    const ip = (...argv: string[]) => must([IP, "-n", ns.name, ...argv]);
    await ip("link", "add", "name", "-batch", "type", "veth", "peer", "name", "help");
    await ip("link", "set", "dev", "-batch", "alias", ALIAS);
    await ip("link", "set", "dev", "help", "up");
    await ip("link", "set", "dev", "-batch", "up");
    await ip("addr", "add", "192.0.2.1/24", "dev", "-batch");

    const before = await snapshotNetns(ns.path, BINS);
    const link = before.links.find((l) => l.ifname === "-batch");
    assertEquals(link?.ifalias, ALIAS, "the alias is read back exactly");

    // What a failing list might have changed on those links.
    await ip("link", "set", "dev", "-batch", "alias", "changed");
    await ip("link", "set", "dev", "-batch", "mtu", "1400");
    await ip("link", "set", "dev", "help", "down");
    await ip("link", "set", "dev", "help", "name", "-force");
    await ip("route", "add", "198.51.100.0/24", "dev", "-batch");
    assert(diffSnapshots(before, await snapshotNetns(ns.path, BINS)).length > 0);

    const outcome = await restoreNetns(before, BINS);
    const after = await snapshotNetns(ns.path, BINS);
    assertEquals(
      { ok: outcome.ok, diff: diffSnapshots(before, after) },
      { ok: true, diff: [] },
      `restore: ${JSON.stringify(outcome, null, 1)}`,
    );
    assertEquals(after.links.find((l) => l.ifname === "-batch")?.ifalias, ALIAS);
  },
});
