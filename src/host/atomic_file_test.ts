import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { atomicCopyFile, atomicWriteFile, fileHasContent, sameFileContent } from "./atomic_file.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("atomicWriteFile writes with the mode, skips identical content, fixes a wrong mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-atomic-" });
  try {
    const f = `${dir}/a`;
    assertEquals(await atomicWriteFile(f, enc("hello"), 0o640), "written");
    assertEquals([await Deno.readTextFile(f), (await Deno.stat(f)).mode! & 0o777], ["hello", 0o640]);
    assertEquals(await atomicWriteFile(f, enc("hello"), 0o600), "unchanged");
    assertEquals((await Deno.stat(f)).mode! & 0o777, 0o600);
    assertEquals(await atomicWriteFile(f, enc("hellO"), 0o600), "written");
    assert(await fileHasContent(f, enc("hellO")));
    assert(!(await fileHasContent(`${dir}/missing`, enc(""))));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a"]); // no temporary files left
    await assertRejects(() => atomicWriteFile(`${dir}/no/such/dir/x`, enc("x"), 0o600));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomicWriteFile without the fsyncs (durable: false) replaces the same way", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-atomic-" });
  try {
    const f = `${dir}/state.json`;
    const opts = { durable: false };
    assertEquals(await atomicWriteFile(f, enc("{}\n"), 0o640, opts), "written");
    assertEquals([await Deno.readTextFile(f), (await Deno.stat(f)).mode! & 0o777], ["{}\n", 0o640]);
    assertEquals(await atomicWriteFile(f, enc("{}\n"), 0o600, opts), "unchanged");
    assertEquals((await Deno.stat(f)).mode! & 0o777, 0o600);
    assertEquals(await atomicWriteFile(f, enc('{"a":1}\n'), 0o600, opts), "written");
    assertEquals(await Deno.readTextFile(f), '{"a":1}\n');
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]); // no temporary files left
    await assertRejects(() => atomicWriteFile(`${dir}/no/such/dir/x`, enc("x"), 0o600, opts));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomicCopyFile copies large files in chunks and compares before copying", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-atomic-" });
  try {
    const big = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, Math.min(big.length, i + 65536)));
    }
    await Deno.writeFile(`${dir}/src`, big);
    assertEquals(await atomicCopyFile(`${dir}/src`, `${dir}/dst`, 0o755), "written");
    assert(await sameFileContent(`${dir}/src`, `${dir}/dst`));
    assertEquals((await Deno.stat(`${dir}/dst`)).mode! & 0o777, 0o755);
    assertEquals(await atomicCopyFile(`${dir}/src`, `${dir}/dst`, 0o755), "unchanged");
    big[big.length - 1] ^= 0xff;
    await Deno.writeFile(`${dir}/src`, big);
    assert(!(await sameFileContent(`${dir}/src`, `${dir}/dst`)));
    assertEquals(await atomicCopyFile(`${dir}/src`, `${dir}/dst`, 0o755), "written");
    assert(await sameFileContent(`${dir}/src`, `${dir}/dst`));
    assert(!(await sameFileContent(`${dir}/src`, `${dir}/nope`)));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["dst", "src"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
