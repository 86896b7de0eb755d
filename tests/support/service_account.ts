/**
 * A projected service-account volume as the kubelet maintains it, for credential tests: token and CA in a
 * timestamped directory, published by an atomic swap of the `..data` symlink (`token` and `ca.crt` are
 * symlinks through `..data`).
 * @module
 */
import { parseKubeconfig } from "../../src/kube/kubeconfig.ts";

/** A CA placeholder (the plugin kubeconfig embeds it; nothing verifies it in these tests). */
export const TEST_CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

/** Publishes `token` and `ca` into `saDir` the way the kubelet rotates a projected token. */
export async function publishServiceAccount(
  saDir: string,
  token: string,
  ca: string = TEST_CA,
): Promise<void> {
  const ts = `..${Date.now()}_${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(`${saDir}/${ts}`, { recursive: true });
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

/** The bearer token of the kubeconfig at `path`, or undefined when it cannot be read. */
export async function kubeconfigToken(path: string): Promise<string | undefined> {
  try {
    return (await parseKubeconfig(await Deno.readTextFile(path), path)).token;
  } catch {
    return undefined;
  }
}
