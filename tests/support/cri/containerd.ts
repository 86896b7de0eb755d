/**
 * A private containerd for tests: Debian's containerd 1.6 + runc with a config of its own under a temp
 * directory — root, state, gRPC socket, opt path, runc root, CNI conf and bin dirs — never /etc/containerd, the
 * system's /etc/cni/net.d or a system service. {@linkcode startContainerd} starts it and waits for the CRI;
 * {@linkcode Containerd.stop} removes every sandbox it still has, kills it by PID (and its shims), unmounts what
 * it left under its directory, removes the pod cgroup parent and the netns it made, and deletes the directory.
 *
 * Settings this VM needs (see NOTES.md): `restrict_oom_score_adj = true` (root lacks CAP_SYS_RESOURCE; without
 * it runc fails with "can't get final child's PID from pipe: EOF"), `SystemdCgroup = false` (no systemd).
 * @module
 */
import { CriClient } from "./client.ts";
import { run } from "../netns.ts";

/** What the config writer needs. */
export interface ContainerdConfigOptions {
  /** The private directory: root, state, socket, opt and runc root go under it. */
  dir: string;
  /** The CNI conf dir containerd loads its network from. */
  cniConfDir: string;
  /** The CNI bin dir (bridge, host-local, loopback, chainsaw). */
  cniBinDir: string;
  /** The sandbox ("pause") image reference. */
  sandboxImage: string;
  /** Pin netns under containerd's state dir instead of /var/run/netns. */
  netnsUnderStateDir?: boolean;
}

/** Paths of a private containerd, all below `dir`. */
export interface ContainerdPaths {
  root: string;
  state: string;
  socket: string;
  config: string;
  opt: string;
  runcRoot: string;
}

/**
 * The paths a private containerd in `dir` uses.
 *
 * @param dir the private directory
 */
export function containerdPaths(dir: string): ContainerdPaths {
  return {
    root: `${dir}/root`,
    state: `${dir}/state`,
    socket: `${dir}/containerd.sock`,
    config: `${dir}/config.toml`,
    opt: `${dir}/opt`,
    runcRoot: `${dir}/runc`,
  };
}

/** TOML basic string. */
function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * The containerd 1.6 config (version 2) of a private instance.
 *
 * @param opts directory, CNI dirs, sandbox image, netns placement
 * @returns TOML text
 * @example
 * ```ts
 * containerdConfig({ dir: "/tmp/c", cniConfDir: "/tmp/c/net.d", cniBinDir: "/tmp/c/bin", sandboxImage: "x" });
 * ```
 */
export function containerdConfig(opts: ContainerdConfigOptions): string {
  const p = containerdPaths(opts.dir);
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return [
    "version = 2",
    `root = ${q(p.root)}`,
    `state = ${q(p.state)}`,
    // Snapshotters this test does not use (they probe the host's filesystems).
    `disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", ` +
    `"io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]`,
    "",
    "[grpc]",
    `  address = ${q(p.socket)}`,
    "[ttrpc]",
    `  address = ${q(`${p.socket}.ttrpc`)}`,
    "[debug]",
    `  level = "info"`,
    "",
    `[plugins."io.containerd.internal.v1.opt"]`,
    `  path = ${q(p.opt)}`,
    // The legacy v1 runtime cannot be disabled in 1.6 (the tasks service needs it); keep its runc root private.
    `[plugins."io.containerd.runtime.v1.linux"]`,
    `  runtime_root = ${q(`${p.runcRoot}-v1`)}`,
    "",
    `[${cri}]`,
    `  sandbox_image = ${q(opts.sandboxImage)}`,
    "  restrict_oom_score_adj = true",
    `  netns_mounts_under_state_dir = ${opts.netnsUnderStateDir ? "true" : "false"}`,
    "  enable_selinux = false",
    "  disable_apparmor = true",
    `  stream_server_address = "127.0.0.1"`,
    `  stream_server_port = "0"`,
    `  [${cri}.cni]`,
    `    bin_dir = ${q(opts.cniBinDir)}`,
    `    conf_dir = ${q(opts.cniConfDir)}`,
    "    max_conf_num = 1",
    `  [${cri}.containerd]`,
    `    snapshotter = "overlayfs"`,
    `    default_runtime_name = "runc"`,
    `    [${cri}.containerd.runtimes.runc]`,
    `      runtime_type = "io.containerd.runc.v2"`,
    `      [${cri}.containerd.runtimes.runc.options]`,
    "        SystemdCgroup = false",
    `        BinaryName = "/usr/sbin/runc"`,
    `        Root = ${q(p.runcRoot)}`,
    "",
  ].join("\n");
}

/** A running private containerd. */
export interface Containerd {
  readonly pid: number;
  readonly paths: ContainerdPaths;
  /** A CRI client on its socket. */
  readonly cri: CriClient;
  /** Everything it logged so far (stderr). */
  log(): string;
  /** Removes its sandboxes, then kills it by PID (SIGTERM, SIGKILL after 5 s) and its shims. Safe twice. */
  stop(): Promise<void>;
}

/** How containerd is started. */
export interface StartOptions extends ContainerdConfigOptions {
  /** containerd's whole environment (plugins get it): PATH defaults to the usual system PATH, without deno. */
  env?: Record<string, string>;
}

/** Where containerd 1.6's shims put their sockets (`s/<hash>`), fixed at build time. */
export const SHIM_SOCKET_ROOT = "/run/containerd";

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** containerd's PATH when the caller gives none: the system's, and no deno on it (as on a node). */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Writes the config and starts containerd, resolving once its CRI answers Version.
 *
 * @param opts config and environment
 * @throws Error with containerd's log when it exits or its CRI does not answer within 30 s
 */
export async function startContainerd(opts: StartOptions): Promise<Containerd> {
  const paths = containerdPaths(opts.dir);
  await Deno.mkdir(opts.dir, { recursive: true });
  // containerd 1.6's shims put their sockets in /run/containerd/s/ whatever the config says; when that
  // directory is ours, it goes at the end (only if empty: the shims remove their sockets when they exit).
  const shimDirIsOurs = !(await pathExists(SHIM_SOCKET_ROOT));
  await Deno.writeTextFile(paths.config, containerdConfig(opts));
  const child = new Deno.Command("/usr/bin/containerd", {
    args: ["--config", paths.config],
    clearEnv: true,
    env: { PATH: SYSTEM_PATH, HOME: "/root", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
    })().catch(() => {});
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const cri = new CriClient(paths.socket);
  let stopped = false;
  const ctrd: Containerd = {
    pid: child.pid,
    paths,
    cri,
    log: () => text,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        try {
          for (const s of await cri.listPodSandbox()) {
            await cri.stopPodSandbox(s.id).catch(() => {});
            await cri.removePodSandbox(s.id).catch(() => {});
          }
        } catch {
          // CRI not answering: the kill below and the clean-up still run
        }
      }
      cri.close();
      const shims = await shimPids(paths.socket);
      if (!exited) Deno.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (!exited) Deno.kill(child.pid, "SIGKILL");
      }, 5000);
      await status;
      clearTimeout(timer);
      await drained;
      for (const pid of shims) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      if (shimDirIsOurs) {
        for (const d of [`${SHIM_SOCKET_ROOT}/s`, SHIM_SOCKET_ROOT]) await Deno.remove(d).catch(() => {});
      }
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await drained;
      throw new Error(`containerd exited at start-up:\n${text.slice(-4000)}`);
    }
    const broken = /failed to load plugin io\.containerd\.grpc\.v1\.cri".*/.exec(text);
    if (broken) {
      await ctrd.stop();
      throw new Error(`containerd started without its CRI plugin: ${broken[0]}`);
    }
    try {
      await cri.version(1000);
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        await ctrd.stop();
        throw new Error(
          `containerd's CRI did not answer in 30 s (${(e as Error).message}):\n${text.slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return ctrd;
}

/** PIDs of the containerd-shim-runc-v2 processes serving the containerd at `socket` (`-address SOCKET`). */
export async function shimPids(socket: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let argv: string[];
    try {
      argv = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).split("\0");
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith("containerd-shim-runc-v2")) continue;
    const i = argv.indexOf("-address");
    if (i >= 0 && argv[i + 1] === socket) pids.push(Number(e.name));
  }
  return pids;
}

/**
 * Lazily unmounts every mount point at or below `dir` (deepest first): snapshot rootfs, sandbox shm, netns
 * pinned under the state dir.
 *
 * @param dir a directory of the test's own
 * @returns the mount points it unmounted
 */
export async function unmountBelow(dir: string): Promise<string[]> {
  const info = await Deno.readTextFile("/proc/self/mountinfo");
  const points = info.split("\n").map((l) => l.split(" ")[4]).filter((m): m is string =>
    m !== undefined && (m === dir || m.startsWith(`${dir}/`))
  ).map((m) => m.replace(/\\040/g, " ")).sort((a, b) => b.length - a.length);
  for (const m of points) await run(["/usr/bin/umount", "-l", m]);
  return points;
}

/**
 * Removes a cgroup-v1/v2 parent made for the test's sandboxes (`/sys/fs/cgroup/<controller>/<name>` and the
 * unified `/sys/fs/cgroup/<name>`), children first. Cgroups with processes stay (rmdir fails): that is logged.
 *
 * @param name the cgroup parent without the leading slash
 * @returns the directories it could not remove
 */
export async function removeCgroupParent(name: string): Promise<string[]> {
  const left: string[] = [];
  const roots = ["/sys/fs/cgroup"];
  for await (const e of Deno.readDir("/sys/fs/cgroup")) {
    if (e.isDirectory) roots.push(`/sys/fs/cgroup/${e.name}`);
  }
  const rmTree = async (path: string): Promise<void> => {
    try {
      for await (const e of Deno.readDir(path)) {
        if (e.isDirectory) await rmTree(`${path}/${e.name}`);
      }
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) left.push(`${path}: ${(e as Error).message}`);
    }
  };
  for (const root of roots) {
    try {
      await Deno.stat(`${root}/${name}`);
    } catch {
      continue;
    }
    await rmTree(`${root}/${name}`);
  }
  return left;
}
