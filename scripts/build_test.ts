import { assertEquals, assertStringIncludes } from "../tests/support/assert.ts";
import { DAEMON_V8_FLAGS, launcherHeader } from "./build.ts";

const decoder = new TextDecoder();

/** Runs `file` with exactly `PATH` (no deno on it unless given), as a runtime with its own PATH does. */
async function launch(file: string, path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(file, {
    clearEnv: true,
    env: { PATH: path },
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

const NO_DENO_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Deno.test("launcher: finds deno at the path fixed at bundle time, beside itself, then on PATH; else exit 127", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-launcher-" });
  try {
    const body = 'console.log("launched " + typeof Deno.version.deno);\n';
    const write = async (name: string, header: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, header + body, { mode: 0o755 });
      await Deno.chmod(`${dir}/${name}`, 0o755);
      return `${dir}/${name}`;
    };
    const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");

    // 1. The deno that made the bundle, with a PATH that has no deno (containerd's PATH).
    const fixed = await launch(await write("fixed", launcherHeader(Deno.execPath())), NO_DENO_PATH);
    assertEquals(fixed.stdout.trim(), "launched string", fixed.stderr);

    // 2. That deno is gone: none on PATH, none beside it -> the shell's "not found", exit 127.
    const gone = `${dir}/gone/deno`;
    const lost = await launch(await write("lost", launcherHeader(gone)), NO_DENO_PATH);
    assertEquals(lost.code, 127);
    assertStringIncludes(lost.stderr, "deno: not found");

    // 3. deno on PATH.
    const onPath = await launch(`${dir}/lost`, `${denoDir}:${NO_DENO_PATH}`);
    assertEquals(onPath.stdout.trim(), "launched string", onPath.stderr);

    // 4. A deno beside the bundle (a node's CNI bin dir).
    await Deno.mkdir(`${dir}/bin`);
    await Deno.symlink(Deno.execPath(), `${dir}/bin/deno`);
    const beside = await launch(await write("bin/chainsaw", launcherHeader(gone)), NO_DENO_PATH);
    assertEquals(beside.stdout.trim(), "launched string", beside.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launcher: a path with a quote is quoted for sh", () => {
  const h = launcherHeader("/opt/it's/deno");
  assertStringIncludes(h, `d='/opt/it'"'"'s/deno'`);
  assertEquals(h.split("\n").length, 3);
  assertEquals(h.startsWith("#!/bin/sh\n//bin/true; "), true);
});

Deno.test("launcher: `daemon` as the first argument adds the daemon's V8 flags; every argument still arrives", async () => {
  const h = launcherHeader(Deno.execPath());
  assertStringIncludes(h, `[ "$1" = daemon ] && v='--v8-flags=${DAEMON_V8_FLAGS.join(",")}'`);
  const dir = await Deno.makeTempDir({ prefix: "cs-launcher-" });
  try {
    const file = `${dir}/chainsaw`;
    await Deno.writeTextFile(file, h + "console.log(JSON.stringify(Deno.args));\n", { mode: 0o755 });
    await Deno.chmod(file, 0o755);
    for (const args of [["daemon", "--socket", "/x y"], ["logs", "daemon"], []]) {
      const out = await new Deno.Command(file, { args, clearEnv: true, env: { PATH: NO_DENO_PATH } })
        .output();
      assertEquals(JSON.parse(decoder.decode(out.stdout)), args, decoder.decode(out.stderr));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
