/**
 * `ip monitor route` inside a test netns, for asserting which route changes a run made (a take-back, no blip).
 *
 * @module
 */
import { type Cleanup, IP, type Netns, NSENTER } from "./netns.ts";

/** Where the monitor's probe and barrier routes go. */
export interface RouteMonitorOptions {
  /** An interface in the netns that is up, for the probe and barrier routes. */
  dev: string;
  /** A /32 added and deleted until the monitor shows it (the monitor is live then). */
  probe: string;
  /** A /32 added and deleted by `caughtUp()`; must differ from every route the test looks for. */
  barrier: string;
}

/** A live `ip monitor route`. */
export interface RouteMonitor {
  /** Everything the monitor printed so far. */
  text(): string;
  /**
   * Adds and deletes the barrier route and waits until the monitor shows its deletion: the kernel reports a netns's
   * route changes to the monitor in order, so every change made before is in `text()` then.
   */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops the monitor (also deferred on the cleanup). */
  stop(): Promise<void>;
}

async function ip(ns: Netns, ...argv: string[]): Promise<void> {
  const r = await ns.exec([IP, ...argv]);
  if (r.code !== 0) throw new Error(`ip ${argv.join(" ")}: ${r.stderr}`);
}

async function poll(what: () => string, cond: () => boolean, timeoutMs: number, tick?: () => Promise<void>) {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(what());
    if (tick) await tick();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `ip monitor route` in `ns` and returns once it is live (a probe route showed up).
 *
 * @param ns the netns to watch
 * @param cleanup stops the monitor on the test's way out
 * @param opts the interface and the probe and barrier addresses
 * @example
 * ```ts ignore
 * const mon = await monitorRoutes(ns, cleanup, { dev: "eth0", probe: "10.99.0.77", barrier: "10.99.0.78" });
 * // … change routes …
 * await mon.caughtUp();
 * assert(!mon.text().includes("Deleted 198.51.100.0/24"));
 * ```
 */
export async function monitorRoutes(
  ns: Netns,
  cleanup: Cleanup,
  opts: RouteMonitorOptions,
): Promise<RouteMonitor> {
  const child = new Deno.Command(NSENTER, {
    args: [`--net=${ns.path}`, "/usr/bin/stdbuf", "-oL", IP, "monitor", "route"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  const reading = (async () => {
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) text += c;
  })();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await child.status;
    await reading.catch(() => {});
  };
  cleanup.defer(stop, "ip monitor");
  // An identical replace is no event: add and delete the probe until the monitor shows it.
  await poll(
    () => "ip monitor never showed the probe route",
    () => text.includes(opts.probe),
    5000,
    async () => {
      await ip(ns, "route", "add", `${opts.probe}/32`, "dev", opts.dev);
      await ip(ns, "route", "del", `${opts.probe}/32`, "dev", opts.dev);
    },
  );
  const barrier = new RegExp(`^Deleted ${opts.barrier.replaceAll(".", "\\.")}(/32)? `);
  const seen = () => text.split("\n").filter((l) => barrier.test(l)).length;
  return {
    text: () => text,
    stop,
    async caughtUp(timeoutMs = 10_000) {
      const before = seen();
      await ip(ns, "route", "add", `${opts.barrier}/32`, "dev", opts.dev);
      await ip(ns, "route", "del", `${opts.barrier}/32`, "dev", opts.dev);
      await poll(
        () => `ip monitor never showed the barrier route:\n${text}`,
        () => seen() > before,
        timeoutMs,
      );
    },
  };
}
