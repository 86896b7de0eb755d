import { assertEquals, assertRejects, assertStringIncludes } from "../tests/support/assert.ts";
import {
  aptLine,
  DEBIAN_PACKAGES,
  ensureDebianPackages,
  missingPackages,
  PackageSetupError,
  type RunResult,
} from "./debian_packages.ts";

/** A fake dpkg/apt: `installed` is the dpkg database; apt-get install adds to it. Records every call. */
function fakeSystem(installed: string[], opts: { aptFails?: "update" | "install" } = {}) {
  const db = new Set(installed);
  const calls: string[] = [];
  const run = (argv: string[], env?: Record<string, string>): Promise<RunResult> => {
    calls.push(argv.join(" "));
    const ok = (stdout = ""): Promise<RunResult> => Promise.resolve({ code: 0, stdout, stderr: "" });
    if (argv[0] === "dpkg-query") {
      const names = argv.slice(3);
      const known = names.filter((n) => db.has(n));
      const stdout = known.map((n) => `${n} installed\n`).join("");
      // dpkg-query exits 1 and complains on stderr when a name is unknown; the known ones are still printed.
      return Promise.resolve({
        code: known.length === names.length ? 0 : 1,
        stdout,
        stderr: "no packages found",
      });
    }
    if (argv[0] === "apt-get") {
      assertEquals(env?.DEBIAN_FRONTEND, "noninteractive");
      if (argv[1] === opts.aptFails) {
        return Promise.resolve({ code: 100, stdout: "", stderr: `E: ${argv[1]} broke` });
      }
      if (argv[1] === "install") { for (const p of argv.slice(5)) db.add(p); }
      return ok();
    }
    throw new Error(`unexpected command ${argv.join(" ")}`);
  };
  return { run, calls, db };
}

Deno.test("missingPackages: from dpkg-query, unknown names are missing, arch suffixes ignored", async () => {
  const run = () =>
    Promise.resolve({ code: 1, stdout: "a installed\nb:amd64 installed\nc config-files\n", stderr: "" });
  assertEquals(await missingPackages(["a", "b", "c", "d"], run), ["c", "d"]);
  assertEquals(
    await missingPackages(["a"], () => Promise.resolve({ code: 127, stdout: "", stderr: "" })),
    undefined,
  );
});

Deno.test("ensureDebianPackages: all present -> no apt-get, no root check, nothing logged", async () => {
  const sys = fakeSystem([...DEBIAN_PACKAGES]);
  const lines: string[] = [];
  const installed = await ensureDebianPackages({
    run: sys.run,
    isRoot: () => Promise.reject(new Error("must not ask")),
    log: (l) => lines.push(l),
  });
  assertEquals(installed, []);
  assertEquals(sys.calls.length, 1);
  assertStringIncludes(sys.calls[0], "dpkg-query -W");
  assertEquals(lines, []);
});

Deno.test("ensureDebianPackages: missing as root -> one progress line, apt-get update once, install only the missing", async () => {
  const present = ["iproute2", "util-linux", "golang-go"];
  const sys = fakeSystem(present);
  const lines: string[] = [];
  const installed = await ensureDebianPackages({
    run: sys.run,
    isRoot: () => Promise.resolve(true),
    log: (l) => lines.push(l),
  });
  const want = DEBIAN_PACKAGES.filter((p) => !present.includes(p));
  assertEquals(want.length, DEBIAN_PACKAGES.length - present.length);
  assertEquals(installed, want);
  assertEquals(sys.calls.filter((c) => c.startsWith("apt-get update")), ["apt-get update -qq"]);
  assertEquals(sys.calls.filter((c) => c.startsWith("apt-get install")), [
    `apt-get install -y -qq --no-install-recommends ${want.join(" ")}`,
  ]);
  assertEquals(
    sys.calls.findIndex((c) => c.startsWith("apt-get update")) <
      sys.calls.findIndex((c) => c.startsWith("apt-get install")),
    true,
  );
  assertEquals(lines.length, 1);
  assertStringIncludes(lines[0], `installing ${want.join(" ")}`);
  for (const p of DEBIAN_PACKAGES) assertEquals(sys.db.has(p), true);
});

Deno.test("ensureDebianPackages: missing without root -> no apt-get, the exact apt-get line in the error", async () => {
  const sys = fakeSystem(DEBIAN_PACKAGES.filter((p) => p !== "runc" && p !== "containerd"));
  const e = await assertRejects(
    () => ensureDebianPackages({ run: sys.run, isRoot: () => Promise.resolve(false) }),
    PackageSetupError,
  );
  assertStringIncludes(e.message, aptLine(["containerd", "runc"]));
  assertStringIncludes(
    e.message,
    "apt-get update && apt-get install -y --no-install-recommends containerd runc",
  );
  assertEquals(sys.calls.filter((c) => c.startsWith("apt-get")), []);
});

Deno.test("ensureDebianPackages: the default root check is `id -u`", async () => {
  const sys = fakeSystem([]);
  const run = (argv: string[], env?: Record<string, string>) =>
    argv[0] === "id" ? Promise.resolve({ code: 0, stdout: "1000\n", stderr: "" }) : sys.run(argv, env);
  await assertRejects(
    () => ensureDebianPackages({ run, packages: ["runc"] }),
    PackageSetupError,
    "Run as root",
  );
});

Deno.test("ensureDebianPackages: a failing apt-get is an error with its output", async () => {
  for (const step of ["update", "install"] as const) {
    const sys = fakeSystem([], { aptFails: step });
    await assertRejects(
      () => ensureDebianPackages({ run: sys.run, isRoot: () => Promise.resolve(true), packages: ["runc"] }),
      PackageSetupError,
      `E: ${step} broke`,
    );
  }
});
