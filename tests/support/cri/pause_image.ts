/**
 * The sandbox ("pause") image of the containerd test, made offline: the static Go program
 * `tests/support/cri/pause` (built by scripts/test_setup.ts into `tests/support/bin/pause`) as the only file of a
 * one-layer docker-archive (`manifest.json`, image config, `layer.tar`), imported into containerd's `k8s.io`
 * namespace with `ctr images import`. No registry is reachable or needed.
 * @module
 */
import { BIN_DIR } from "../netns.ts";
import { must } from "../plugin.ts";

/** The image reference named in containerd's `sandbox_image`. */
export const PAUSE_IMAGE = "localhost/chainsaw-test-pause:1";

/** The pause program built by the set-up step. */
export const PAUSE_BINARY = `${BIN_DIR}/pause`;

async function sha256Hex(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Packs `binary` as `/pause` into a docker-archive at `${workDir}/pause-image.tar`.
 *
 * @param workDir a scratch directory of the caller's
 * @param binary the static pause program
 * @returns the tarball's path
 */
export async function packPauseImage(workDir: string, binary: string = PAUSE_BINARY): Promise<string> {
  const dir = `${workDir}/pause-image`;
  await Deno.mkdir(`${dir}/rootfs`, { recursive: true });
  await Deno.copyFile(binary, `${dir}/rootfs/pause`);
  await Deno.chmod(`${dir}/rootfs/pause`, 0o755);
  const tarOpts = ["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0"];
  await must(["/usr/bin/tar", ...tarOpts, "-C", `${dir}/rootfs`, "-cf", `${dir}/layer.tar`, "pause"]);
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  const config = {
    architecture: arch,
    os: "linux",
    config: { Entrypoint: ["/pause"], Env: ["PATH=/"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${await sha256Hex(`${dir}/layer.tar`)}`] },
    history: [{ created_by: "chainsaw tests/support/cri/pause_image.ts" }],
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  const configName = `${await sha256Hex(`${dir}/config.json`)}.json`;
  await Deno.rename(`${dir}/config.json`, `${dir}/${configName}`);
  const manifest = [{ Config: configName, RepoTags: [PAUSE_IMAGE], Layers: ["layer.tar"] }];
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
  const out = `${workDir}/pause-image.tar`;
  await must([
    "/usr/bin/tar",
    ...tarOpts,
    "-C",
    dir,
    "-cf",
    out,
    "manifest.json",
    configName,
    "layer.tar",
  ]);
  await Deno.remove(dir, { recursive: true });
  return out;
}

/**
 * Imports a docker-archive into the `k8s.io` namespace of the containerd at `socket` (where the CRI looks).
 *
 * @param socket containerd's gRPC socket
 * @param tarball the archive
 */
export async function importImage(socket: string, tarball: string): Promise<void> {
  await must(["/usr/bin/ctr", "--address", socket, "-n", "k8s.io", "images", "import", tarball]);
}
