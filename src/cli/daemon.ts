/**
 * The DaemonSet's commands: `chainsaw daemon` (the resident process), `chainsaw install` (the one-shot
 * install) and `chainsaw logs` (reads the daemon's recent reports on a node). Their modules load on use, so
 * other commands pay nothing for them. Flags and defaults are documented in docs/daemon.md.
 * @module
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { writeAll } from "../bytes.ts";
import { DAEMON_DEFAULTS, NODE_NAME_ENV, POD_CONDITION_MODES } from "../daemon/flags.ts";

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be a whole number");
  return Number(value);
}

function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("must be a number of seconds");
  return Number(value);
}

/**
 * An option stored under another attribute name than its flag: `--kubeconfig <path>` (the daemon's own API
 * credentials) must not share the attribute of `--no-kubeconfig` (do not write the plugin kubeconfig).
 */
class RenamedOption extends Option {
  readonly #attribute: string;
  constructor(flags: string, description: string, attribute: string) {
    super(flags, description);
    this.#attribute = attribute;
  }
  override attributeName(): string {
    return this.#attribute;
  }
}

function podRef(value: string): string {
  if (!/^[^/\s]+\/[^/\s]+$/.test(value)) throw new InvalidArgumentError("must be namespace/name");
  return value;
}

function traceId(value: string): string {
  if (!/^[0-9a-fA-F]{32}$/.test(value)) throw new InvalidArgumentError("must be a trace id (32 hex digits)");
  return value.toLowerCase();
}

/** Adds the options `daemon` and `install` share (where the host's directories are). */
function hostOptions(cmd: Command): Command {
  return cmd
    .option(
      "--cni-bin-dir <dir>",
      "the host's CNI bin dir, as mounted; the plugin is copied here",
      DAEMON_DEFAULTS.cniBinDir,
    )
    .option(
      "--cni-conf-dir <dir>",
      "the host's CNI config dir, as mounted; the plugin kubeconfig goes to chainsaw.d/chainsaw.kubeconfig",
      DAEMON_DEFAULTS.cniConfDir,
    )
    .option(
      "--service-account-dir <dir>",
      "the service account whose token and CA go into the plugin kubeconfig",
      DAEMON_DEFAULTS.serviceAccountDir,
    )
    .option("--source <path>", "file to install as the plugin (default: this program's binary or bundle)")
    .option("--no-kubeconfig", "do not write the plugin kubeconfig");
}

/** Registers `daemon`, `install` and `logs` on `program`; `setExit` receives each action's exit code. */
export function registerDaemonCommands(program: Command, setExit: (code: number) => void): void {
  hostOptions(
    program.command("daemon")
      .description(
        "run the DaemonSet process: install the plugin and its kubeconfig, run the plugin's ADDs and collect " +
          "reports on a unix socket, print them, serve health and metrics",
      ),
  )
    .option("--no-install", "do not install the plugin binary on start")
    .option(
      "--socket <path>",
      "unix socket for the plugin (ADD, attachments, reports) and the logs API",
      DAEMON_DEFAULTS.socket,
    )
    .option(
      "--health-addr <host:port>",
      "TCP address for /healthz, /readyz and /metrics (port 0: any free port)",
      DAEMON_DEFAULTS.healthAddr,
    )
    .addOption(
      new Option("--log-format <format>", "how reports are printed on stdout")
        .choices(["human", "json"]).default(DAEMON_DEFAULTS.logFormat),
    )
    .option("--ring-size <n>", "recent reports kept for the logs API", wholeNumber, DAEMON_DEFAULTS.ringSize)
    .option(
      "--ring-max-bytes <n>",
      "memory bound of the kept reports (JSON bytes)",
      wholeNumber,
      DAEMON_DEFAULTS.ringMaxBytes,
    )
    .option(
      "--kubeconfig-poll-seconds <s>",
      "re-check the service account this often (besides watching it)",
      seconds,
      DAEMON_DEFAULTS.kubeconfigPollSeconds,
    )
    .option(
      "--shutdown-delay-seconds <s>",
      "after SIGTERM, answer /readyz 503 this long before closing the listeners",
      seconds,
      DAEMON_DEFAULTS.shutdownDelaySeconds,
    )
    .option(
      "--health-max-connections <n>",
      "connections served at once on the health port; more are closed at once",
      wholeNumber,
      DAEMON_DEFAULTS.healthMaxConnections,
    )
    .option(
      "--socket-max-connections <n>",
      "connections served at once on the report socket; more are closed at once",
      wholeNumber,
      DAEMON_DEFAULTS.socketMaxConnections,
    )
    .option(
      "--idle-timeout-seconds <s>",
      "close a connection that sends no request for this long (both listeners)",
      seconds,
      DAEMON_DEFAULTS.idleTimeoutSeconds,
    )
    .option(
      "--header-timeout-seconds <s>",
      "close a connection whose request head is not complete this long after its first byte",
      seconds,
      DAEMON_DEFAULTS.headerTimeoutSeconds,
    )
    .option(
      "--body-timeout-seconds <s>",
      "close a connection whose request body is not complete this long after its head",
      seconds,
      DAEMON_DEFAULTS.bodyTimeoutSeconds,
    )
    .option(
      "--write-timeout-seconds <s>",
      "close a connection when one write of an answer does not complete in this long (a peer not reading)",
      seconds,
      DAEMON_DEFAULTS.writeTimeoutSeconds,
    )
    .option(
      "--follower-max-bytes <n>",
      "drop a `logs -f` follower that falls this many bytes of reports behind",
      wholeNumber,
      DAEMON_DEFAULTS.followerMaxBytes,
    )
    .option(
      "--node-name <name>",
      `this node: its pods are watched and Events name it (default: $${NODE_NAME_ENV}; without it the pod ` +
        "cache, live re-apply and Events are off)",
    )
    .addOption(
      new RenamedOption(
        "--kubeconfig <path>",
        "the daemon's own API credentials (default: the in-cluster service account)",
        "apiKubeconfig",
      ),
    )
    .option(
      "--state-file <path>",
      "where the attachments (pod interfaces set up on this node) are kept across restarts",
      DAEMON_DEFAULTS.stateFile,
    )
    .option(
      "--policy-dir <dir>",
      "the node policy directory (the host's /etc/cni/chainsaw as mounted); the daemon's ADDs and re-applies " +
        "are checked against it",
      DAEMON_DEFAULTS.policyDir,
    )
    .option(
      "--policy-configmap-dir <dir>",
      "where the chainsaw-policy ConfigMap is mounted: its policy is validated and mirrored as JSON into " +
        "--policy-dir (none there: the node's policy files are removed and the default policy applies)",
    )
    .option(
      "--no-pod-watch",
      "do not watch this node's pods (no pod cache, no live re-apply, no pod condition)",
    )
    .option("--no-events", "do not record Kubernetes Events on pods")
    .addOption(
      new Option(
        "--pod-condition <mode>",
        "set the pod condition chainsaw.cni.cncf.io/applied on pods that list it in spec.readinessGates " +
          "(gated), on every non-hostNetwork pod of the node (all), or never (off)",
      ).choices(POD_CONDITION_MODES).default(DAEMON_DEFAULTS.podCondition),
    )
    .action(async (opts: Record<string, unknown>) => {
      const { decodeDaemonOptions, withEnvironment } = await import("../daemon/options.ts");
      const { runDaemon, realIo } = await import("../daemon/daemon.ts");
      const { reapplyExtension } = await import("../daemon/features.ts");
      const { policySyncExtension } = await import("../daemon/policy/policy_sync.ts");
      let options;
      try {
        options = decodeDaemonOptions(withEnvironment(opts, (n) => Deno.env.get(n)));
      } catch (e) {
        await writeAll(Deno.stderr, `chainsaw daemon: ${(e as Error).message}\n`);
        setExit(2);
        return;
      }
      setExit(await runDaemon(options, realIo(), [policySyncExtension(), reapplyExtension()]));
    });

  hostOptions(
    program.command("install")
      .description(
        "copy the plugin into the CNI bin dir (atomically) and, in a pod, write the plugin kubeconfig",
      ),
  )
    .action(async (opts: Record<string, unknown>) => {
      const { runInstall } = await import("./install.ts");
      const { currentProgram } = await import("../host/install.ts");
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

  program.command("logs")
    .description("print the reports the daemon collected on this node (human format; --json for JSON lines)")
    .option("-f, --follow", "keep printing new reports as they arrive")
    .option("--pod <namespace/name>", "only this pod's reports", podRef)
    .option("--trace <id>", "only reports with this W3C trace id (32 hex digits, from TRACEPARENT)", traceId)
    .option("--limit <n>", "how many recent reports to print first", wholeNumber, 100)
    .option("--socket <path>", "the daemon's socket", DAEMON_DEFAULTS.socket)
    .option("--json", "print JSON lines as served")
    .action(async (opts: Record<string, unknown>) => {
      const { printLogs } = await import("./logs.ts");
      setExit(
        await printLogs(
          {
            socket: String(opts.socket),
            pod: opts.pod as string | undefined,
            trace: opts.trace as string | undefined,
            limit: Number(opts.limit),
            follow: opts.follow === true,
            json: opts.json === true,
          },
          { out: (t) => writeAll(Deno.stdout, t), err: (t) => writeAll(Deno.stderr, t) },
        ),
      );
    });
}
