import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import {
  kubeconfigToken as tokenIn,
  publishServiceAccount as publish,
  TEST_CA as CA,
} from "../../tests/support/service_account.ts";
import { startCredentialSync, syncKubeconfig, type SyncResult } from "./credential_sync.ts";

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
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
