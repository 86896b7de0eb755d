/**
 * `chainsaw install`: puts this very program into the host's CNI bin directory as the `chainsaw` plugin,
 * atomically (see atomic_file.ts), and only when the bytes differ.
 *
 * The source is the running program: a `deno compile`d binary reads `Deno.execPath()` (Deno refuses
 * `/proc/self/exe` without --allow-all, so the binary's own path must be in the read scope); a bundle (a `#!/bin/sh`
 * launcher followed by the bundled JavaScript, see scripts/build.ts) copies its own file, `Deno.mainModule`.
 * `--source PATH` overrides both.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { atomicCopyFile, removeStaleTemps, type WriteOutcome } from "./atomic_file.ts";

/** The plugin's file name in the CNI bin directory (the `type` in a network configuration). */
export const PLUGIN_FILE_NAME = "chainsaw";

/** Where the running program is, as far as `resolveSource` needs to know. */
export interface ProgramLocation {
  /** `Deno.build.standalone`: true in a `deno compile`d binary. */
  standalone: boolean;
  /** `Deno.execPath()`. */
  execPath: string;
  /** `Deno.mainModule`. */
  mainModule: string;
}

/** The running program's location. */
export function currentProgram(): ProgramLocation {
  return { standalone: Deno.build.standalone, execPath: Deno.execPath(), mainModule: Deno.mainModule };
}

/** Install problems, with a message saying what to do. */
export class InstallError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InstallError";
  }
}

/** The file to install: `override`, else the compiled binary, else the bundle file (see the module doc). */
export async function resolveSource(override: string | undefined, where: ProgramLocation): Promise<string> {
  if (override) return override;
  if (where.standalone) return where.execPath;
  if (!where.mainModule.startsWith("file:")) {
    throw new InstallError(`cannot install from ${where.mainModule}: pass --source PATH`);
  }
  const path = decodeURIComponent(new URL(where.mainModule).pathname);
  let head: Uint8Array;
  try {
    using f = await Deno.open(path, { read: true });
    head = new Uint8Array(2);
    await f.read(head);
  } catch (e) {
    throw new InstallError(
      `cannot read this program's file ${path} (${errorText(e)}): pass --source PATH`,
      { cause: e },
    );
  }
  if (head[0] !== 0x23 || head[1] !== 0x21) {
    throw new InstallError(
      `${path} is a source module, not a bundle or compiled binary (build one with \`deno task bundle\` or ` +
        "`deno task compile`), or pass --source PATH",
    );
  }
  return path;
}

/** What an installation did. */
export interface InstallResult {
  source: string;
  target: string;
  outcome: WriteOutcome;
}

/** Copies `source` to `<binDir>/chainsaw` (mode 0755) atomically unless identical. */
export async function installBinary(source: string, binDir: string): Promise<InstallResult> {
  const target = `${binDir.replace(/\/+$/, "")}/${PLUGIN_FILE_NAME}`;
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(source);
  } catch (e) {
    throw new InstallError(`cannot read source ${source}: ${errorText(e)}`, { cause: e });
  }
  if (!st.isFile) throw new InstallError(`source ${source} is not a regular file`);
  try {
    if (!(await Deno.stat(binDir)).isDirectory) {
      throw new InstallError(`CNI bin dir ${binDir} is not a directory`);
    }
  } catch (e) {
    if (e instanceof InstallError) throw e;
    throw new InstallError(`CNI bin dir ${binDir}: ${errorText(e)}`, { cause: e });
  }
  await removeStaleTemps(target); // a copy a kill interrupted (the binary is tens of MB)
  const outcome = await atomicCopyFile(source, target, 0o755);
  return { source, target, outcome };
}
