import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { syncNodePolicy } from "./policy_sync.ts";

Deno.test("syncNodePolicy mirrors a YAML ConfigMap as JSON, keeps the last good one, removes on absence", async () => {
  const root = await Deno.makeTempDir();
  const src = `${root}/cm`;
  const host = `${root}/host/etc/cni/chainsaw`;
  await Deno.mkdir(src, { recursive: true });
  try {
    assertEquals((await syncNodePolicy(src, host) as { outcome: string }).outcome, "absent");
    await Deno.writeTextFile(`${src}/policy.yaml`, 'allow:\n  - "* show|get"\nlimits:\n  maxCommands: 4\n');
    const first = await syncNodePolicy(src, host);
    assert("outcome" in first && first.outcome === "written");
    const doc = JSON.parse(await Deno.readTextFile(`${host}/policy.json`));
    assertEquals(doc, { allow: ["* show|get"], limits: { maxCommands: 4 } });
    assertEquals((await syncNodePolicy(src, host) as { outcome: string }).outcome, "unchanged");

    await Deno.writeTextFile(`${src}/policy.yaml`, 'allow:\n  - "route frobnicate"\n');
    const bad = await syncNodePolicy(src, host);
    assert("error" in bad);
    assert(bad.error.message.includes("policy.yaml"), bad.error.message);
    assertEquals(JSON.parse(await Deno.readTextFile(`${host}/policy.json`)).limits.maxCommands, 4);

    await Deno.remove(`${src}/policy.yaml`);
    assertEquals((await syncNodePolicy(src, host) as { outcome: string }).outcome, "removed");
    assertEquals(await Deno.stat(`${host}/policy.json`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
