/**
 * Node policy distribution: the DaemonSet mounts the `chainsaw-policy` ConfigMap at `--policy-configmap-dir`
 * (the manifests: `/etc/cni/chainsaw` inside the pod), and the daemon mirrors it, validated and converted to
 * JSON, into `--policy-dir`: the host's `/etc/cni/chainsaw/policy.json` (mounted at
 * `/host/etc/cni/chainsaw`), where the plugin reads its ceiling and against which the daemon checks its own
 * ADDs and re-applies. The plugin therefore never needs the YAML parser, and an invalid ConfigMap never
 * reaches the host: the last good policy stays in force and the error is logged.
 * @module
 */
import { findNodePolicy } from "../../policy/load.ts";
import { atomicWriteFile, type WriteOutcome } from "../../host/atomic_file.ts";
import type { DaemonExtension } from "../context.ts";

/** What one sync did. */
export type PolicySyncResult =
  | { outcome: WriteOutcome | "removed" | "absent"; target: string }
  | { error: Error; target: string };

const HOST_FILES = ["policy.json", "policy.yaml", "policy.yml"] as const;

/**
 * Mirrors the policy found in `sourceDir` to `hostDir/policy.json`. No source file: the host's policy files are
 * removed (the ConfigMap is the source of truth; without it the default policy applies). An invalid source
 * leaves the host untouched and returns the error naming the file and rule.
 */
export async function syncNodePolicy(sourceDir: string, hostDir: string): Promise<PolicySyncResult> {
  const target = `${hostDir}/policy.json`;
  let found: { file: string; doc: unknown } | undefined;
  try {
    found = await findNodePolicy(sourceDir);
  } catch (e) {
    return { error: e as Error, target };
  }
  try {
    if (!found) {
      let removed = false;
      for (const name of HOST_FILES) {
        try {
          await Deno.remove(`${hostDir}/${name}`);
          removed = true;
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
      return { outcome: removed ? "removed" : "absent", target };
    }
    await Deno.mkdir(hostDir, { recursive: true, mode: 0o755 });
    const data = new TextEncoder().encode(JSON.stringify(found.doc, null, 2) + "\n");
    const outcome = await atomicWriteFile(target, data, 0o644);
    // A YAML file left from a hand-made set-up would be shadowed by policy.json anyway; remove it to avoid doubt.
    for (const name of HOST_FILES.slice(1)) await Deno.remove(`${hostDir}/${name}`).catch(() => {});
    return { outcome, target };
  } catch (e) {
    return { error: e as Error, target };
  }
}

/** A running sync: re-checks every `pollMs` (ConfigMap updates arrive by a symlink swap in the mount). */
export interface PolicySync {
  stop(): void;
}

/** Syncs now and then every `pollMs`, calling `onResult` after each run. */
export async function startPolicySync(
  sourceDir: string,
  hostDir: string,
  pollMs: number,
  onResult: (r: PolicySyncResult) => void,
): Promise<PolicySync> {
  onResult(await syncNodePolicy(sourceDir, hostDir));
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      onResult(await syncNodePolicy(sourceDir, hostDir));
    } finally {
      running = false;
    }
  }, pollMs);
  return { stop: () => clearInterval(timer) };
}

/** How often the ConfigMap mount is re-read (the kubelet updates it by a symlink swap, within about a minute). */
export const POLICY_POLL_MS = 10_000;

/**
 * The daemon feature: with `--policy-configmap-dir`, mirror the ConfigMap's policy into `--policy-dir` on start
 * (before the socket opens) and every {@link POLICY_POLL_MS}; counted in `chainsaw_policy_syncs_total{result}`.
 */
export function policySyncExtension(pollMs: number = POLICY_POLL_MS): DaemonExtension {
  return async (ctx) => {
    const source = ctx.options.policyConfigmapDir;
    if (!source) return () => Promise.resolve();
    const syncs = ctx.metrics.registry.counter(
      "chainsaw_policy_syncs_total",
      "Node policy mirrors from the ConfigMap to the host, by result.",
      ["result"],
    );
    let lastError = "";
    const sync = await startPolicySync(source, ctx.options.policyDir, pollMs, (r) => {
      if ("error" in r) {
        syncs.inc({ result: "error" });
        if (r.error.message !== lastError) {
          ctx.log(
            "error",
            `node policy not updated (${r.target} keeps the last good one): ${r.error.message}`,
          );
        }
        lastError = r.error.message;
        return;
      }
      lastError = "";
      syncs.inc({ result: r.outcome });
      if (r.outcome === "written") ctx.log("info", `wrote node policy ${r.target} from ${source}`);
      if (r.outcome === "removed") {
        ctx.log("info", `no policy in ${source}: removed ${r.target}, default policy applies`);
      }
    });
    return () => {
      sync.stop();
      return Promise.resolve();
    };
  };
}
