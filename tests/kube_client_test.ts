/** The thin Kubernetes client and kubeconfig loader against the fake API server (TLS, tokens, certificates). */
import { assertEquals, assertRejects, assertStringIncludes } from "./support/assert.ts";
import { makePod, startFakeApiServer } from "./support/fake_apiserver.ts";
import { hostPort, inClusterCredentials, KubeconfigError, parseKubeconfig } from "../src/kube/kubeconfig.ts";
import { KubeApiError, KubeClient } from "../src/kube/client.ts";

const b64 = (s: string) => btoa(s);

Deno.test("kubeconfig: YAML with token, JSON with client certificate data, files relative to the kubeconfig", async () => {
  const api = await startFakeApiServer({ pods: [makePod({ namespace: "ns", name: "a", uid: "u1" })] });
  const dir = await Deno.makeTempDir();
  try {
    const yamlCreds = await parseKubeconfig(api.kubeconfig(), `${dir}/k.yaml`);
    assertEquals(yamlCreds.server, api.url);
    const pod = await new KubeClient(yamlCreds).getPod("ns", "a");
    assertEquals(pod.metadata.uid, "u1");

    const json = JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "c",
      clusters: [{ name: "x", cluster: { server: api.url + "/", "certificate-authority": "ca.pem" } }],
      users: [{
        name: "u",
        user: { "client-certificate-data": b64(api.clientCertPem), "client-key": "key.pem" },
      }],
      contexts: [{ name: "c", context: { cluster: "x", user: "u" } }],
    });
    await Deno.writeTextFile(`${dir}/ca.pem`, api.caPem);
    await Deno.writeTextFile(`${dir}/key.pem`, api.clientKeyPem);
    const certCreds = await parseKubeconfig(json, `${dir}/k.json`);
    assertEquals(certCreds.server, api.url);
    const client = new KubeClient(certCreds);
    assertEquals((await client.getPod("ns", "a")).metadata.name, "a");
    client.close();
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubeconfig errors name the file and the key", async () => {
  await assertRejects(
    () => parseKubeconfig("{nope", "/x/k"),
    KubeconfigError,
    "/x/k is not valid JSON or YAML",
  );
  await assertRejects(() => parseKubeconfig('{"clusters": "x"}', "/x/k"), KubeconfigError, "clusters");
  await assertRejects(
    () =>
      parseKubeconfig(
        '{"current-context":"z","clusters":[{"name":"a","cluster":{"server":"https://h"}}]}',
        "/k",
      ),
    KubeconfigError,
    'current-context "z" not found',
  );
});

Deno.test("client maps API errors: 401, 403, 404 permanent; 500, 503 and timeouts transient", async () => {
  const api = await startFakeApiServer({ pods: [makePod({ namespace: "ns", name: "a" })] });
  const creds = await parseKubeconfig(api.kubeconfig(), "/k");
  // Ordinary answers get the default deadline (a loaded machine must not turn them into timeouts); the timeout
  // case has its own short one, against an answer the server holds until the client gave up.
  const client = new KubeClient(creds);
  const impatient = new KubeClient(creds, 300);
  try {
    const notFound = await assertRejects(() => client.getPod("ns", "b"), KubeApiError) as KubeApiError;
    assertEquals([notFound.status, notFound.reason, notFound.transient], [404, "NotFound", false]);
    api.failNext(500);
    const failed = await assertRejects(() => client.getPod("ns", "a")) as KubeApiError;
    assertEquals([failed.status, failed.transient], [500, true]);
    api.failNext(503);
    const unavailable = await assertRejects(() => client.getPod("ns", "a")) as KubeApiError;
    assertEquals([unavailable.status, unavailable.transient], [503, true]);
    api.forbid("/api/v1/namespaces/ns");
    assertEquals((await assertRejects(() => client.getPod("ns", "a")) as KubeApiError).status, 403);
    api.unforbid("/api/v1/namespaces/ns");
    const release = api.hold();
    const slow = await assertRejects(() => impatient.getPod("ns", "a")) as KubeApiError;
    release();
    assertEquals([slow.status, slow.reason, slow.transient], [0, "Timeout", true]);
    assertStringIncludes(slow.message, "no answer within 300 ms");
    api.tokens.clear();
    assertEquals((await assertRejects(() => client.getPod("ns", "a")) as KubeApiError).status, 401);
  } finally {
    client.close();
    impatient.close();
    await api.close();
  }
});

Deno.test("token files are re-read on every request (rotation)", async () => {
  const api = await startFakeApiServer({ pods: [makePod({ namespace: "ns", name: "a" })] });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, api.token + "\n");
    const client = new KubeClient({
      server: api.url,
      caPem: api.caPem,
      tokenFile: `${dir}/token`,
      origin: "t",
    });
    await client.getPod("ns", "a");
    api.tokens.clear();
    api.tokens.add("rotated");
    await Deno.writeTextFile(`${dir}/token`, "rotated");
    assertEquals((await client.getPod("ns", "a")).metadata.name, "a");
    client.close();
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("in-cluster credentials use KUBERNETES_SERVICE_HOST/PORT, bracketing IPv6", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "t");
    await Deno.writeTextFile(`${dir}/ca.crt`, "CA");
    const env = (vars: Record<string, string>) => (n: string) => vars[n];
    const v6 = await inClusterCredentials(
      env({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }),
      dir,
    );
    assertEquals(v6?.server, "https://[fd00::1]:443");
    assertEquals(v6?.tokenFile, `${dir}/token`);
    assertEquals(await inClusterCredentials(env({}), dir), undefined);
    assertEquals(hostPort("10.96.0.1", "443"), "10.96.0.1:443");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
