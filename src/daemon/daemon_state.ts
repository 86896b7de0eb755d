/**
 * The daemon's readiness: ready once the plugin is installed (or installing is off), the kubeconfig is written
 * (or generating it is off), the socket is up and every condition a feature added holds (the pod cache is
 * synced); not ready from SIGTERM on. `draining` is also an AbortSignal,
 * so background work (e.g. re-applying commands) can stop taking new work at the same moment.
 * @module
 */

/** Readiness conditions. */
export class DaemonState {
  installed = false;
  kubeconfigWritten = false;
  socketUp = false;
  readonly #drain = new AbortController();
  readonly #conditions: Array<{ reason: string; met: () => boolean }> = [];

  /** Aborted when shutdown starts. */
  get drainSignal(): AbortSignal {
    return this.#drain.signal;
  }

  /** True from SIGTERM/SIGINT on. */
  get draining(): boolean {
    return this.#drain.signal.aborted;
  }

  /** Starts the shutdown. */
  startDraining(): void {
    this.#drain.abort();
  }

  /**
   * Adds a readiness condition (a feature's, e.g. the pod cache's first sync): while `met()` is false the daemon
   * is not ready, for `reason`.
   */
  addCondition(reason: string, met: () => boolean): void {
    this.#conditions.push({ reason, met });
  }

  /** Why the daemon is not ready (empty when ready). */
  notReadyReasons(): string[] {
    const why: string[] = [];
    if (this.draining) why.push("shutting down");
    if (!this.installed) why.push("plugin not installed");
    if (!this.kubeconfigWritten) why.push("plugin kubeconfig not written");
    if (!this.socketUp) why.push("report socket not listening");
    for (const c of this.#conditions) if (!c.met()) why.push(c.reason);
    return why;
  }

  /** True when /readyz should answer 200. */
  get ready(): boolean {
    return this.notReadyReasons().length === 0;
  }
}
