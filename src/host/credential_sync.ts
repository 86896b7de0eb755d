/**
 * Keeps the plugin kubeconfig in step with the daemon's service account. Projected tokens rotate (about hourly)
 * and the kubelet swaps the volume's `..data` symlink to publish them, so the daemon watches the directory and,
 * as a safety net (missed events, a re-created directory, a deleted kubeconfig), also checks on a timer. The file
 * is only rewritten when its content would change.
 * @module
 */
import type { WriteOutcome } from "./atomic_file.ts";
import { readServiceAccount, renderPluginKubeconfig, writePluginKubeconfig } from "./plugin_kubeconfig.ts";

/** How long to wait after a filesystem event before syncing (the kubelet writes several entries). */
const DEBOUNCE_MS = 50;

/** The outcome of one sync. */
export type SyncResult = { outcome: WriteOutcome } | { error: Error };

/** What to keep in step. */
export interface CredentialSyncOptions {
  /** The service account directory (token, ca.crt). */
  saDir: string;
  /** The kubeconfig to write. */
  target: string;
  /** The API server URL to put in it. */
  server: string;
  /** Safety-net interval in milliseconds. */
  pollMs: number;
  /** Watch `saDir` for changes (default true). */
  watch?: boolean;
  /** Hears every sync's outcome. */
  onResult?: (r: SyncResult) => void;
}

/** A running sync. */
export interface CredentialSync {
  /** Syncs now (after any sync in progress); rejects when the credentials cannot be read or written. */
  syncNow(): Promise<WriteOutcome>;
  /** Stops watching and polling. */
  stop(): void;
}

/** One sync: read the service account, render, write when different. */
export async function syncKubeconfig(saDir: string, target: string, server: string): Promise<WriteOutcome> {
  const { token, caPem } = await readServiceAccount(saDir);
  return await writePluginKubeconfig(target, renderPluginKubeconfig({ server, caPem, token }));
}

/** Starts watching and polling; call {@link CredentialSync.syncNow} for the first sync. */
export function startCredentialSync(opts: CredentialSyncOptions): CredentialSync {
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let watcher: Deno.FsWatcher | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  const syncNow = (): Promise<WriteOutcome> => {
    const run = chain.then(() => syncKubeconfig(opts.saDir, opts.target, opts.server));
    chain = run.catch(() => {});
    run.then((outcome) => opts.onResult?.({ outcome }), (error) => opts.onResult?.({ error }));
    return run;
  };
  const background = (): void => {
    if (!stopped) syncNow().catch(() => {}); // reported through onResult
  };

  const startWatch = (): void => {
    if (stopped || watcher || opts.watch === false) return;
    try {
      watcher = Deno.watchFs(opts.saDir, { recursive: false });
    } catch {
      return; // not there yet: the next tick tries again
    }
    const w = watcher;
    (async () => {
      try {
        for await (const _event of w) {
          clearTimeout(debounce);
          debounce = setTimeout(background, DEBOUNCE_MS);
        }
      } catch {
        // the watch broke (directory removed): the next tick re-creates it
      }
      if (watcher === w) watcher = undefined;
    })();
  };

  startWatch();
  const timer = setInterval(() => {
    startWatch();
    background();
  }, opts.pollMs);

  return {
    syncNow,
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(debounce);
      try {
        watcher?.close();
      } catch {
        // already closed
      }
      watcher = undefined;
    },
  };
}
