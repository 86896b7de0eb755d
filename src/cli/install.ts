/**
 * `chainsaw install`: the one-shot part of the daemon's start-up, for an init container or a node image build —
 * copy the plugin binary into the CNI bin dir and, when running in a pod, write the plugin kubeconfig once.
 * @module
 */
import type { Command } from "commander";
import { DAEMON_FLAGS } from "../daemon/flags.ts";
import { syncKubeconfig } from "../host/credential_sync.ts";
import { currentProgram, installBinary, type ProgramLocation, resolveSource } from "../host/install.ts";
import { inClusterServer, kubeconfigPath } from "../host/plugin_kubeconfig.ts";
import { errorText } from "../text/error_text.ts";
import { addFlagOptions } from "./_flag_options.ts";

/** The install command's options. */
export interface InstallOptions {
  cniBinDir: string;
  cniConfDir: string;
  serviceAccountDir: string;
  source?: string;
  /** Write the plugin kubeconfig (when in-cluster credentials exist). */
  kubeconfig: boolean;
}

/** Runs the install; `say` gets one line per step (`error` set for the failure). Returns the exit code. */
export async function runInstall(
  opts: InstallOptions,
  program: ProgramLocation,
  getenv: (name: string) => string | undefined,
  say: (line: string, error?: boolean) => void,
): Promise<number> {
  try {
    const r = await installBinary(await resolveSource(opts.source, program), opts.cniBinDir);
    say(r.outcome === "written" ? `installed ${r.target} from ${r.source}` : `${r.target} is up to date`);
    if (!opts.kubeconfig) return 0;
    if (!getenv("KUBERNETES_SERVICE_HOST") || !getenv("KUBERNETES_SERVICE_PORT")) {
      say("not in a pod (KUBERNETES_SERVICE_HOST/PORT unset): plugin kubeconfig not written");
      return 0;
    }
    const target = kubeconfigPath(opts.cniConfDir);
    const outcome = await syncKubeconfig(opts.serviceAccountDir, target, inClusterServer(getenv));
    say(outcome === "written" ? `wrote plugin kubeconfig ${target}` : `${target} is up to date`);
    return 0;
  } catch (e) {
    say(`error: ${errorText(e)}`, true);
    return 1;
  }
}

/** Registers `install` on `program` (its flags are the daemon's rows marked `install`); `setExit` receives the exit code. */
export function registerInstallCommand(program: Command, setExit: (code: number) => void): void {
  addFlagOptions(
    program.command("install")
      .description(
        "copy the plugin into the CNI bin dir (atomically) and, in a pod, write the plugin kubeconfig",
      ),
    DAEMON_FLAGS.filter((f) => "install" in f && f.install),
  )
    .action(async (opts: Record<string, unknown>) => {
      setExit(
        await runInstall(
          {
            cniBinDir: String(opts.cniBinDir),
            cniConfDir: String(opts.cniConfDir),
            serviceAccountDir: String(opts.serviceAccountDir),
            source: opts.source as string | undefined,
            kubeconfig: opts.kubeconfig !== false,
          },
          currentProgram(),
          (n) => Deno.env.get(n),
          (line, error) => error ? console.error(`chainsaw install: ${line}`) : console.log(line),
        ),
      );
    });
}
