import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { installBinary, InstallError, resolveSource } from "./install.ts";

Deno.test("resolveSource: --source, the compiled binary, a bundle; refuses a source module", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-inst-" });
  try {
    const where = { standalone: false, execPath: "/usr/bin/deno", mainModule: `file://${dir}/bundle` };
    assertEquals(await resolveSource("/x/y", where), "/x/y");
    assertEquals(await resolveSource(undefined, { ...where, standalone: true }), "/usr/bin/deno");
    await Deno.writeTextFile(`${dir}/bundle`, "#!/bin/sh\n//bin/true; exec deno run ...\n");
    assertEquals(await resolveSource(undefined, where), `${dir}/bundle`);
    await Deno.writeTextFile(`${dir}/cli.ts`, "console.log(1)\n");
    await assertRejects(
      () => resolveSource(undefined, { ...where, mainModule: `file://${dir}/cli.ts` }),
      InstallError,
      "--source",
    );
    await assertRejects(
      () => resolveSource(undefined, { ...where, mainModule: `file://${dir}/missing` }),
      InstallError,
    );
    await assertRejects(
      () => resolveSource(undefined, { ...where, mainModule: "https://x/y.ts" }),
      InstallError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installBinary copies to <dir>/chainsaw with mode 0755, once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-inst-" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/src`, "#!/bin/sh\necho hi\n");
    const r = await installBinary(`${dir}/src`, `${dir}/bin/`);
    assertEquals(r, { source: `${dir}/src`, target: `${dir}/bin/chainsaw`, outcome: "written" });
    assertEquals((await Deno.stat(`${dir}/bin/chainsaw`)).mode! & 0o777, 0o755);
    assertEquals((await installBinary(`${dir}/src`, `${dir}/bin`)).outcome, "unchanged");
    await assertRejects(() => installBinary(`${dir}/nope`, `${dir}/bin`), InstallError, "cannot read source");
    await assertRejects(() => installBinary(`${dir}/src`, `${dir}/nobin`), InstallError, "CNI bin dir");
    await assertRejects(() => installBinary(`${dir}/bin`, `${dir}/bin`), InstallError, "not a regular file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installBinary: an unreadable source or bin dir is an InstallError naming it, the OS error its cause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cs-inst-" });
  try {
    const e = await assertRejects(() => installBinary(`${dir}/absent`, dir), InstallError, `${dir}/absent`);
    assertEquals(e.cause instanceof Deno.errors.NotFound, true);
    await Deno.writeTextFile(`${dir}/src`, "x");
    const d = await assertRejects(() => installBinary(`${dir}/src`, `${dir}/no-bin`), InstallError, "no-bin");
    assertEquals(d.cause instanceof Deno.errors.NotFound, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
