/**
 * The daemon's own Kubernetes API credentials: the kubeconfig given with `--kubeconfig`, else the pod's
 * in-cluster service account (the DaemonSet's), else none (outside a cluster without `--kubeconfig`).
 * @module
 */
import { type Credentials, inClusterCredentials, loadKubeconfig } from "./kubeconfig.ts";

/**
 * Loads the credentials; undefined when there are none. A `--kubeconfig` that cannot be read or parsed throws
 * (KubeconfigError naming the file): a start-up error, like any other bad flag value.
 */
export async function daemonCredentials(
  kubeconfig: string | undefined,
  getenv: (name: string) => string | undefined,
  serviceAccountDir?: string,
): Promise<Credentials | undefined> {
  if (kubeconfig) return await loadKubeconfig(kubeconfig);
  return await inClusterCredentials(getenv, serviceAccountDir);
}
