/**
 * The CNI entry: reads the environment and stdin, applies libcni skel's checks, and dispatches to one handler
 * per verb. Anything thrown becomes the spec's error JSON on stdout with a non-zero exit; nothing else is printed
 * on stdout, and no stack trace ever reaches the runtime.
 * @module
 */
import { errorText } from "../text/error_text.ts";
import { CniError, ErrorCode, toErrorJson } from "./errors.ts";
import { type CniEnv, readCniEnv } from "./env.ts";
import { decodeNetConf, type NetConf } from "./config.ts";
import { checkVersion, LATEST_VERSION, SUPPORTED_VERSIONS } from "./versions.ts";

/** What a verb handler receives. */
export interface CmdArgs {
  env: CniEnv;
  conf: NetConf;
  /** The exact stdin text. */
  stdin: string;
}

/** One handler per verb; each returns the text for stdout ("" for none). */
export interface VerbHandlers {
  add(args: CmdArgs): Promise<string>;
  check(args: CmdArgs): Promise<string>;
  del(args: CmdArgs): Promise<string>;
  status(args: CmdArgs): Promise<string>;
  gc(args: CmdArgs): Promise<string>;
}

/** The process edges the dispatcher uses, so tests can drive it in-process. */
export interface PluginIo {
  getenv(name: string): string | undefined;
  readStdin(): Promise<string>;
  writeStdout(text: string): Promise<void>;
}

/** The handler of each verb but VERSION (answered by the dispatcher itself). */
const HANDLER_OF: Readonly<Record<string, keyof VerbHandlers>> = {
  ADD: "add",
  CHECK: "check",
  DEL: "del",
  STATUS: "status",
  GC: "gc",
};

function versionAnswer(stdin: string): string {
  let cniVersion = LATEST_VERSION;
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === "string" && v !== "") cniVersion = v;
  } catch {
    // VERSION's stdin is optional; answer with the latest version.
  }
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

/** Runs one CNI invocation and returns the process exit code. */
export async function pluginMain(handlers: VerbHandlers, io: PluginIo): Promise<number> {
  let cniVersion = LATEST_VERSION;
  try {
    const env = readCniEnv((n) => io.getenv(n));
    let stdin: string;
    try {
      stdin = await io.readStdin();
    } catch (e) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${errorText(e)}`, "", { cause: e });
    }
    if (env.command === "VERSION") {
      await io.writeStdout(versionAnswer(stdin));
      return 0;
    }
    // readCniEnv accepted only the spec's verbs, spelled exactly; this maps them to their handlers.
    const verb = Object.hasOwn(HANDLER_OF, env.command) ? HANDLER_OF[env.command] : undefined;
    if (verb === undefined) {
      throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND ${JSON.stringify(env.command)}`);
    }
    const conf = await decodeNetConf(stdin);
    cniVersion = conf.cniVersion;
    checkVersion(env.command, conf.cniVersion);
    const out = await handlers[verb]({ env, conf, stdin });
    if (out !== "") await io.writeStdout(out);
    return 0;
  } catch (err) {
    await io.writeStdout(JSON.stringify(toErrorJson(err, cniVersion)));
    return 1;
  }
}
