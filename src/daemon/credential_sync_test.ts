import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { parseKubeconfig } from "../kube/kubeconfig.ts";
import { startCredentialSync, syncKubeconfig, type SyncResult } from "./credential_sync.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Publishes token and CA the way the kubelet updates a projected volume: a new timestamped directory, then an
 * atomic swap of the `..data` symlink (token and ca.crt are symlinks through `..data`). */
async function publish(saDir: string, token: string, ca = CA): Promise<void> {
  const ts = `..${Date.now()}_${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(`${saDir}/${ts}`);
  await Deno.writeTextFile(`${saDir}/${ts}/token`, token);
  await Deno.writeTextFile(`${saDir}/${ts}/ca.crt`, ca);
  await Deno.symlink(ts, `${saDir}/..data_tmp`);
  await Deno.rename(`${saDir}/..data_tmp`, `${saDir}/..data`);
  for (const f of ["token", "ca.crt"]) {
    try {
      await Deno.lstat(`${saDir}/${f}`);
    } catch {
      await Deno.symlink(`..data/${f}`, `${saDir}/${f}`);
    }
  }
}

async function tokenIn(path: string): Promise<string | undefined> {
  try {
    return (await parseKubeconfig(await Deno.readTextFile(path), path)).token;
  } catch {
    return undefined;
  }
}

Deno.test("syncKubeconfig writes once and reports unchanged until the token changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-sync-" });
  try {
    const sa = `${dir}/sa`;
    await Deno.mkdir(sa);
    const target = `${dir}/net.d/chainsaw.d/chainsaw.kubeconfig`;
    await assertRejects(() => syncKubeconfig(sa, target, "https://10.0.0.1:443"));
    await publish(sa, "t1");
    assertEquals(await syncKubeconfig(sa, target, "https://10.0.0.1:443"), "written");
    assertEquals(await syncKubeconfig(sa, target, "https://10.0.0.1:443"), "unchanged");
    await publish(sa, "t2");
    assertEquals(await syncKubeconfig(sa, target, "https://10.0.0.1:443"), "written");
    assertEquals(await tokenIn(target), "t2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a projected-volume token swap is picked up by the watch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-sync-" });
  const sa = `${dir}/sa`;
  await Deno.mkdir(sa);
  await publish(sa, "first");
  const target = `${dir}/out/chainsaw.kubeconfig`;
  const results: SyncResult[] = [];
  const sync = startCredentialSync({
    saDir: sa,
    target,
    server: "https://[fd00::1]:443",
    pollMs: 3_600_000, // no poll: only the watch can notice
    onResult: (r) => results.push(r),
  });
  try {
    assertEquals(await sync.syncNow(), "written");
    await publish(sa, "second");
    await waitFor("the rotated token", async () => (await tokenIn(target)) === "second");
    assert(results.some((r) => "outcome" in r && r.outcome === "written"));
  } finally {
    sync.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a watch the poll rewrites a changed token and restores a deleted kubeconfig", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-sync-" });
  const sa = `${dir}/sa`;
  await Deno.mkdir(sa);
  await Deno.writeTextFile(`${sa}/token`, "p1");
  await Deno.writeTextFile(`${sa}/ca.crt`, CA);
  const target = `${dir}/out/chainsaw.kubeconfig`;
  const results: SyncResult[] = [];
  const sync = startCredentialSync({
    saDir: sa,
    target,
    server: "https://10.0.0.1:443",
    pollMs: 50,
    watch: false,
    onResult: (r) => results.push(r),
  });
  try {
    await sync.syncNow();
    await Deno.writeTextFile(`${sa}/token`, "p2");
    await waitFor("the poll to see p2", async () => (await tokenIn(target)) === "p2");
    await Deno.remove(target);
    await waitFor("the kubeconfig to come back", async () => (await tokenIn(target)) === "p2");
    await Deno.remove(`${sa}/token`);
    await waitFor("an error result", () => results.some((r) => "error" in r));
    assertEquals(await tokenIn(target), "p2"); // a missing token leaves the last good kubeconfig alone
  } finally {
    sync.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
