import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { daemonCredentials } from "./api_credentials.ts";

Deno.test("daemonCredentials: --kubeconfig first, then the in-cluster service account, else none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kc = `${dir}/kc.json`;
    await Deno.writeTextFile(
      kc,
      JSON.stringify({ clusters: [{ name: "c", cluster: { server: "https://10.0.0.1:6443/" } }], users: [] }),
    );
    const env = (vars: Record<string, string>) => (n: string) => vars[n];
    assertEquals((await daemonCredentials(kc, env({})))?.server, "https://10.0.0.1:6443");
    const failed = await daemonCredentials(`${dir}/missing`, env({})).then(() => "loaded", (e) => String(e));
    assertStringIncludes(failed, `${dir}/missing`);
    assertEquals(await daemonCredentials(undefined, env({})), undefined);
    await Deno.writeTextFile(`${dir}/token`, "t");
    await Deno.writeTextFile(`${dir}/ca.crt`, "CA");
    const inCluster = await daemonCredentials(
      undefined,
      env({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }),
      dir,
    );
    assertEquals([inCluster?.server, inCluster?.tokenFile], ["https://10.96.0.1:443", `${dir}/token`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daemonCredentials: an unreadable or malformed --kubeconfig is a KubeconfigError with the cause kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await assertRejects(() => daemonCredentials(`${dir}/absent`, () => undefined));
    assertEquals([(missing as Error).name, (missing as Error).cause instanceof Deno.errors.NotFound], [
      "KubeconfigError",
      true,
    ]);
    assertStringIncludes((missing as Error).message, `${dir}/absent`);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    const bad = await assertRejects(() => daemonCredentials(`${dir}/bad.json`, () => undefined));
    assertEquals((bad as Error).cause instanceof SyntaxError, true);
    assertStringIncludes((bad as Error).message, "is not valid JSON or YAML");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
