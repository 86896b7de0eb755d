import { assertEquals, assertRejects, assertThrows } from "../../tests/support/assert.ts";
import { parseKubeconfig } from "../kube/kubeconfig.ts";
import {
  CredentialsError,
  inClusterServer,
  kubeconfigPath,
  readServiceAccount,
  renderPluginKubeconfig,
  writePluginKubeconfig,
} from "./plugin_kubeconfig.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

Deno.test("the server URL comes from KUBERNETES_SERVICE_HOST/PORT, IPv6 bracketed", () => {
  const env = (h: string, p: string) => (n: string) =>
    ({ KUBERNETES_SERVICE_HOST: h, KUBERNETES_SERVICE_PORT: p })[n];
  assertEquals(inClusterServer(env("10.96.0.1", "443")), "https://10.96.0.1:443");
  assertEquals(inClusterServer(env("fd00:10:96::1", "443")), "https://[fd00:10:96::1]:443");
  assertEquals(inClusterServer(env("2001:db8::1", "6443")), "https://[2001:db8::1]:6443");
  assertThrows(() => inClusterServer(() => undefined), CredentialsError, "--no-kubeconfig");
  assertThrows(() => inClusterServer(env("10.96.0.1", "")), CredentialsError);
});

Deno.test("the rendered kubeconfig embeds token and CA and reads back with the plugin's loader", async () => {
  for (const server of ["https://10.96.0.1:443", "https://[fd00:10:96::1]:443"]) {
    const text = renderPluginKubeconfig({ server, caPem: CA, token: "tok-123" });
    JSON.parse(text); // JSON, not YAML: no YAML parser on the plugin's path
    const creds = await parseKubeconfig(text, "/etc/cni/net.d/chainsaw.d/chainsaw.kubeconfig");
    assertEquals([creds.server, creds.token, creds.caPem, creds.tokenFile], [
      server,
      "tok-123",
      CA,
      undefined,
    ]);
  }
  assertEquals(kubeconfigPath("/host/etc/cni/net.d/"), "/host/etc/cni/net.d/chainsaw.d/chainsaw.kubeconfig");
});

Deno.test("service account files are read and checked; the kubeconfig is written 0600 only when changed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-kc-" });
  try {
    await assertRejects(() => readServiceAccount(dir), CredentialsError, "token");
    await Deno.writeTextFile(`${dir}/token`, "  \n");
    await Deno.writeTextFile(`${dir}/ca.crt`, CA);
    await assertRejects(() => readServiceAccount(dir), CredentialsError, "empty");
    await Deno.writeTextFile(`${dir}/token`, "abc\n");
    assertEquals(await readServiceAccount(dir), { token: "abc", caPem: CA });

    const target = `${dir}/net.d/chainsaw.d/chainsaw.kubeconfig`;
    assertEquals(await writePluginKubeconfig(target, "one"), "written");
    assertEquals((await Deno.stat(target)).mode! & 0o777, 0o600);
    const ino = (await Deno.stat(target)).ino;
    assertEquals(await writePluginKubeconfig(target, "one"), "unchanged");
    assertEquals((await Deno.stat(target)).ino, ino);
    assertEquals(await writePluginKubeconfig(target, "two"), "written");
    assertEquals(await Deno.readTextFile(target), "two");
    assertEquals([...Deno.readDirSync(`${dir}/net.d/chainsaw.d`)].map((e) => e.name), [
      "chainsaw.kubeconfig",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
