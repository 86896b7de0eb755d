/**
 * The command line (when `CNI_COMMAND` is not set). Subcommands load their modules on use.
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../version.ts";
import { SUPPORTED_VERSIONS } from "../cni/versions.ts";
import { registerDaemonCommand } from "./daemon.ts";
import { registerInstallCommand } from "./install.ts";
import { registerLogsCommand } from "./logs.ts";
import { registerExplainCommand } from "./explain.ts";
import { visible } from "../text/visible.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Builds the command tree; `setExit` receives each action's exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("chainsaw")
    .description(
      "Run a pod's annotated `ip` commands in its network namespace.\n\n" +
        "Run by a container runtime (CNI_COMMAND set) it is the CNI plugin; otherwise one of these commands.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError();

  program.command("version")
    .description("print the version and the CNI spec versions supported")
    .action(() => {
      console.log(`chainsaw ${VERSION}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}`);
      setExit(0);
    });

  const policy = program.command("policy").description("inspect the command policy");
  policy.command("check")
    .description("say whether each command is allowed, and by which rule (touches no namespace)")
    .argument("<command...>", "commands as they would appear in the annotation")
    .option(
      "--policy <file>",
      "policy file (JSON or YAML); default: the node policy, else the built-in default",
    )
    .option(
      "--chain-policy <file>",
      "a chain `policy` document (JSON or YAML) that narrows the node policy, as a NetworkAttachmentDefinition's would",
    )
    .option("--ifname <name>", "the attachment's interface name (CURRENT_INTERFACE)", "net1")
    .option("--pod-interface <name>", "another interface of the pod (repeatable)", collect, [] as string[])
    .option("--namespace <ns>", "the pod's namespace, for namespace scoping")
    .action(async (commands: string[], opts: Record<string, unknown>) => {
      const { policyCheck } = await import("./policy_check.ts");
      setExit(
        await policyCheck({
          policyFile: opts.policy as string | undefined,
          chainFile: opts.chainPolicy as string | undefined,
          ifname: opts.ifname as string,
          podInterfaces: opts.podInterface as string[],
          namespace: opts.namespace as string | undefined,
          commands,
        }, (line: string) => console.log(line)),
      );
    });

  registerDaemonCommand(program, setExit);
  registerInstallCommand(program, setExit);
  registerLogsCommand(program, setExit);
  registerExplainCommand(program, setExit);
  return program;
}

/** Runs the CLI with `argv` (without the program name); returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => code = c);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    console.error(`chainsaw: ${visible(e instanceof Error ? e.message : String(e))}`);
    return 1;
  }
  return code;
}
