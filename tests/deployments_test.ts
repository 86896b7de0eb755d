/**
 * The manifests in deployments/ against the code: every flag they pass exists on `chainsaw daemon` (introspected
 * from the commander program) and agrees with its default, the hostPath mounts line up with the flag values and
 * with the paths the plugin uses on the host, the probes hit the health port, the RBAC grants exactly the API calls
 * of src/kube/api_calls.ts (which the code's API paths must match), and the Dockerfile builds and ships what the
 * DaemonSet runs.
 */
import type { Command, Option } from "commander";
import { parseAllDocuments } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { buildProgram } from "../src/cli/main.ts";
import { DEFAULT_DAEMON_SOCKET, DEFAULT_KUBECONFIG, OPENSHIFT_KUBECONFIG } from "../src/host_paths.ts";
import { ANNOTATION, parseAnnotation } from "../src/annotation/annotation.ts";
import { DAEMON_DEFAULTS, parseHealthAddr } from "../src/daemon/flags.ts";
import { type DaemonOptions, decodeDaemonOptions } from "../src/daemon/options.ts";
import { kubeconfigPath } from "../src/host/plugin_kubeconfig.ts";
import { socketDir } from "../src/daemon/api/socket_path.ts";
import { API_CALLS, apiCallPermissions } from "../src/kube/api_calls.ts";
import { APPLIED_CONDITION } from "../src/kube/pod_status.ts";
import { effectivePolicy, NODE_POLICY_DIR } from "../src/policy/load.ts";
import { defaultPolicy } from "../src/policy/default_policy.ts";
import { DEFAULT_ATTACHMENTS_PATH } from "../src/daemon/attachments/attachment_store.ts";
import { READ_PATHS, WRITE_PATHS } from "../src/permissions.ts";
import { VERSION } from "../src/version.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DIR = `${ROOT}deployments`;

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function load(file: string): Doc[] {
  const docs = parseAllDocuments(Deno.readTextFileSync(`${DIR}/${file}`));
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
  }
  return docs.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

function one(docs: Doc[], kind: string, name?: string): Doc {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  assertEquals(found.length, 1, `one ${kind}${name ? ` ${name}` : ""}`);
  return found[0];
}

function daemonCommand(): Command {
  const cmd = buildProgram(() => {}).commands.find((c) => c.name() === "daemon");
  assert(cmd, "chainsaw daemon exists");
  return cmd;
}

/** Resolves the manifest's daemon args against the commander options: attribute name → value. */
function parseDaemonArgs(
  args: string[],
): { given: Map<string, string | boolean>; options: Record<string, unknown> } {
  const cmd = daemonCommand();
  const byFlag = new Map<string, Option>(cmd.options.map((o) => [o.long!, o]));
  const given = new Map<string, string | boolean>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const opt = byFlag.get(flag);
    assert(opt, `${flag} is not an option of chainsaw daemon`);
    if (opt.negate || !(opt.required || opt.optional)) {
      assertEquals(inline, undefined, `${flag} takes no value`);
      given.set(opt.attributeName(), !opt.negate);
    } else {
      given.set(opt.attributeName(), inline ?? args[++i]);
    }
  }
  const options: Record<string, unknown> = {};
  for (const o of cmd.options) {
    // A lone `--no-x` defaults to true (commander applies that at parse time).
    const def = o.defaultValue ?? (o.negate ? true : undefined);
    if (def !== undefined) options[o.attributeName()] = def;
  }
  for (const [k, v] of given) options[k] = v;
  return { given, options };
}

/** The host path behind a container path, through the hostPath volume mounted deepest above it. */
function hostPathOf(container: string, spec: Doc, containerSpec: Doc): string | undefined {
  const mounts = (containerSpec.volumeMounts ?? []) as Doc[];
  const m = mounts
    .filter((v) => container === v.mountPath || container.startsWith(`${v.mountPath.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!m) return undefined;
  const vol = (spec.volumes as Doc[]).find((v) => v.name === m.name);
  if (!vol?.hostPath) return undefined;
  return vol.hostPath.path.replace(/\/$/, "") + container.slice(m.mountPath.replace(/\/$/, "").length);
}

function under(path: string, scopes: readonly string[]): boolean {
  return scopes.some((s) => path === s || path.startsWith(`${s}/`));
}

interface Variant {
  file: string;
  /** Host directories the variant targets. */
  binDir: string;
  /** Where the plugin looks for its kubeconfig on such a host. */
  kubeconfig: string;
  /** Flags whose values may differ from the defaults. */
  overridden: string[];
}

const VARIANTS: Variant[] = [
  {
    file: "daemonset.yaml",
    binDir: "/opt/cni/bin",
    kubeconfig: DEFAULT_KUBECONFIG,
    overridden: ["policyConfigmapDir"],
  },
  {
    file: "daemonset_openshift.yaml",
    binDir: "/var/lib/cni/bin",
    kubeconfig: OPENSHIFT_KUBECONFIG,
    overridden: ["cniBinDir", "cniConfDir", "policyConfigmapDir"],
  },
];

Deno.test("policy-configmap.yaml holds a valid policy equal to the built-in default", async () => {
  const [cm] = load("policy-configmap.yaml");
  assertEquals([cm.kind, cm.metadata.name, cm.metadata.namespace], [
    "ConfigMap",
    "chainsaw-policy",
    "kube-system",
  ]);
  const { parse } = await import("yaml");
  const policy = effectivePolicy(parse(cm.data["policy.yaml"]), undefined, { node: "policy-configmap.yaml" });
  const def = defaultPolicy();
  assertEquals(policy.allow.map((r) => r.source), def.allow.map((r) => r.source));
  assertEquals(policy.deny.map((r) => r.source), def.deny.map((r) => r.source));
  assertEquals(policy.limits, def.limits);
});

Deno.test("every manifest in deployments/ parses and names its apiVersion and kind", () => {
  const files = [...Deno.readDirSync(DIR)].filter((e) => /\.ya?ml$/.test(e.name)).map((e) => e.name).sort();
  for (const f of ["daemonset.yaml", "daemonset_openshift.yaml", "example.yaml"]) {
    assert(files.includes(f), f);
  }
  for (const f of files) {
    const docs = load(f);
    assert(docs.length > 0, `${f} has documents`);
    for (const d of docs) {
      assert(typeof d.apiVersion === "string" && typeof d.kind === "string", `${f}: ${d.kind}`);
    }
  }
});

for (const v of VARIANTS) {
  const docs = load(v.file);
  const ds = one(docs, "DaemonSet");
  const pod = ds.spec.template.spec as Doc;
  const container = (pod.containers as Doc[]).find((c) => c.name === "chainsaw")!;

  const daemonOptions = (): { opts: DaemonOptions; given: Map<string, string | boolean> } => {
    assertEquals(container.command, undefined, "the image's ENTRYPOINT runs");
    assertEquals(container.args[0], "daemon");
    const { given, options } = parseDaemonArgs(container.args.slice(1));
    return { opts: decodeDaemonOptions(options), given };
  };

  Deno.test(`${v.file}: the daemon's flags exist and agree with the defaults`, () => {
    const { given } = daemonOptions();
    for (const [name, value] of given) {
      if (v.overridden.includes(name)) continue;
      const def = (DAEMON_DEFAULTS as Record<string, unknown>)[name];
      assertEquals(String(value), String(def), `--${name} differs from the default`);
    }
    for (const name of v.overridden) assert(given.has(name), `${v.file} sets ${name}`);
    assertEquals(container.image.split(":").pop(), VERSION, "the image tag is the version");
  });

  Deno.test(`${v.file}: hostPath mounts line up with the flags and with the plugin's paths on the host`, () => {
    const { opts } = daemonOptions();
    assertEquals(hostPathOf(opts.cniBinDir, pod, container), v.binDir);
    assertEquals(hostPathOf(kubeconfigPath(opts.cniConfDir), pod, container), v.kubeconfig);
    assertEquals(
      hostPathOf(opts.socket, pod, container),
      DEFAULT_DAEMON_SOCKET,
      "the plugin's default socket",
    );
    assertEquals(hostPathOf(socketDir(opts.socket), pod, container), socketDir(DEFAULT_DAEMON_SOCKET));
    assertEquals(hostPathOf("/var/lib/chainsaw", pod, container), "/var/lib/chainsaw");
    const netns = (container.volumeMounts as Doc[]).find((m) => m.mountPath === "/var/run/netns")!;
    assertEquals(netns.mountPropagation, "HostToContainer");
    assertEquals(hostPathOf("/var/run/netns", pod, container), "/var/run/netns");
    assertEquals(hostPathOf(opts.serviceAccountDir, pod, container), undefined, "the projected SA volume");
    // The daemon's state survives restarts on the host; re-applies see the node policy the plugin reads there.
    assertEquals(hostPathOf(opts.stateFile, pod, container), DEFAULT_ATTACHMENTS_PATH);
    assertEquals(hostPathOf(opts.policyDir, pod, container), NODE_POLICY_DIR);
    assert(under(opts.stateFile, WRITE_PATHS), "the state file is in the write scope");
    assert(under(opts.policyDir, WRITE_PATHS), "the daemon mirrors the ConfigMap into the node policy dir");
    // The ConfigMap is mounted where --policy-configmap-dir says, optional, inside the read scope.
    const cmMount = (container.volumeMounts as Doc[]).find((m) => m.mountPath === opts.policyConfigmapDir)!;
    const cmVolume = (pod.volumes as Doc[]).find((vol) => vol.name === cmMount.name)!;
    assertEquals([cmVolume.configMap?.name, cmVolume.configMap?.optional], ["chainsaw-policy", true]);
    assert(under(opts.policyConfigmapDir!, READ_PATHS), "the ConfigMap mount is in the read scope");
    // Re-apply enters only pinned namespaces (/var/run/netns), so the host's PID namespace is not shared.
    assert(pod.hostPID !== true, "no hostPID");
    assertEquals(opts.podWatch && opts.events, true, "pod watch and Events are on");
    // The daemon may write where it must (and reads its service account).
    for (const p of [opts.cniBinDir, kubeconfigPath(opts.cniConfDir), socketDir(opts.socket)]) {
      assert(under(p, WRITE_PATHS), `${p} is outside the write scope`);
    }
    assert(under(opts.serviceAccountDir, READ_PATHS), "service account dir readable");
    for (const vol of pod.volumes as Doc[]) {
      assert(vol.configMap !== undefined || vol.hostPath?.type === "DirectoryOrCreate", vol.name);
    }
  });

  Deno.test(`${v.file}: probes hit the health port; node-agent essentials are set`, () => {
    const { opts } = daemonOptions();
    const addr = parseHealthAddr(opts.healthAddr);
    const ports = (container.ports ?? []) as Doc[];
    const portOf = (p: number | string) =>
      typeof p === "number" ? p : ports.find((x) => x.name === p)?.containerPort;
    for (const [probe, path] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
      const get = container[probe]?.httpGet as Doc;
      assert(get, `${probe} is an httpGet`);
      assertEquals([get.path, portOf(get.port)], [path, addr.port], probe);
      if (addr.hostname !== "0.0.0.0" && addr.hostname !== "::") assertEquals(get.host, addr.hostname, probe);
    }
    assertEquals(ports.find((p) => p.name === "health")?.containerPort, addr.port);
    assertEquals(pod.hostNetwork, true);
    assertEquals(container.securityContext?.privileged, true);
    assertEquals(pod.priorityClassName, "system-node-critical");
    assertEquals(pod.tolerations, [{ operator: "Exists" }]);
    const nodeName = (container.env as Doc[]).find((e) => e.name === "NODE_NAME");
    assertEquals(nodeName?.valueFrom?.fieldRef?.fieldPath, "spec.nodeName");
    for (const kind of ["requests", "limits"]) {
      assert(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory, `resources.${kind}`);
    }
    // SIGTERM → shutdown delay → at most 10 s more (the hard stop): within the grace period.
    assert(
      pod.terminationGracePeriodSeconds >= opts.shutdownDelaySeconds + 10,
      "grace period covers shutdown",
    );
  });

  Deno.test(`${v.file}: RBAC grants exactly the API calls chainsaw makes, to the DaemonSet's account`, () => {
    const sa = one(docs, "ServiceAccount");
    assertEquals([ds.metadata.namespace, sa.metadata.namespace], ["kube-system", "kube-system"]);
    assertEquals(pod.serviceAccountName, sa.metadata.name);
    const role = one(docs, "ClusterRole");
    const granted = (role.rules as Doc[]).flatMap((r) =>
      (r.apiGroups as string[]).flatMap((g) =>
        (r.resources as string[]).flatMap((res) => (r.verbs as string[]).map((verb) => `${g}/${res}:${verb}`))
      )
    ).sort();
    assertEquals(granted, apiCallPermissions());
    const binding = one(docs, "ClusterRoleBinding", role.metadata.name);
    assertEquals(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: role.metadata.name,
    });
    assertEquals(binding.subjects, [{
      kind: "ServiceAccount",
      name: sa.metadata.name,
      namespace: "kube-system",
    }]);
    // Anything else bound to the account is OpenShift's privileged SCC (admission, not API calls).
    for (const b of docs.filter((d) => d.kind.endsWith("RoleBinding") && d !== binding)) {
      assertEquals(b.roleRef.name, "system:openshift:scc:privileged");
    }
  });
}

Deno.test("the code's API paths use exactly the resources of API_CALLS", async () => {
  const used = new Set<string>();
  let namespaceItself = false;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(p);
        for (
          const m of text.matchAll(
            /\/api\/v1\/(?:namespaces\/\$\{[^}]+\}\/)?([a-z]+)(?:\/\$\{[^}]+\}\/([a-z]+))?/g,
          )
        ) {
          used.add(m[2] ? `/${m[1]}/${m[2]}` : `/${m[1]}`); // a subresource: pods/status
        }
        // A path that ends at the namespace's name is the namespace itself.
        if (/\/api\/v1\/namespaces\/\$\{[^}]+\}`/.test(text)) namespaceItself = true;
        for (
          const m of text.matchAll(
            /\/apis\/([a-z0-9.-]+)\/v[0-9a-z]+\/(?:namespaces\/\$\{[^}]+\}\/)?([a-z]+)/g,
          )
        ) {
          used.add(`${m[1]}/${m[2]}`);
        }
      }
    }
  };
  await walk(`${ROOT}src`);
  used.delete("/namespaces"); // the prefix of namespaced paths
  if (namespaceItself) used.add("/namespaces");
  assertEquals([...used].sort(), API_CALLS.map((c) => `${c.group}/${c.resource}`).sort());
});

Deno.test("the Dockerfile compiles in a build stage and ships the binary the DaemonSet runs", () => {
  const text = Deno.readTextFileSync(`${DIR}/Dockerfile`);
  const stages = text.split(/^FROM /m).slice(1);
  assertEquals(stages.length, 2);
  assert(/deno task compile/.test(stages[0]), "build stage runs deno task compile");
  assert(/^debian:12-slim\b/.test(stages[1]), "runtime is debian:12-slim");
  assert(/apt-get install[^\n]*\biproute2\b[^\n]*\butil-linux\b/.test(stages[1]), "iproute2 and util-linux");
  const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(stages[1])![1]) as string[];
  const cmd = JSON.parse(/^CMD (.*)$/m.exec(stages[1])![1]) as string[];
  assertEquals([entrypoint, cmd], [["/usr/local/bin/chainsaw"], ["daemon"]]);
  assert(
    new RegExp(`^COPY --from=\\S+ \\S+ ${entrypoint[0]}$`, "m").test(stages[1]),
    "the compiled binary is copied",
  );
});

Deno.test("the compiled binary can read itself to install it (its path is in the read scope)", () => {
  // A compiled chainsaw installs Deno.execPath() (Deno refuses /proc/self/exe without --allow-all).
  const text = Deno.readTextFileSync(`${DIR}/Dockerfile`);
  const entrypoint = (JSON.parse(/^ENTRYPOINT (.*)$/m.exec(text)![1]) as string[])[0];
  assert(
    under(entrypoint, READ_PATHS),
    `${entrypoint} must be in READ_PATHS (src/permissions.ts) for \`chainsaw daemon\` to install itself`,
  );
});

Deno.test("example.yaml is the seed's example: bridge on 192.0.2.0/24 chained with chainsaw, and the pod", () => {
  const docs = load("example.yaml");
  const nad = one(docs, "NetworkAttachmentDefinition", "test-chainsaw");
  assertEquals(nad.apiVersion, "k8s.cni.cncf.io/v1");
  const conf = JSON.parse(nad.spec.config);
  assertEquals(conf.plugins.map((p: Doc) => p.type), ["bridge", "chainsaw"]);
  assertEquals(conf.plugins[0].ipam, { type: "host-local", subnet: "192.0.2.0/24" });
  const pod = one(docs, "Pod", "chainsawtestpod");
  assertEquals(pod.metadata.annotations["k8s.v1.cni.cncf.io/networks"], "test-chainsaw");
  assertEquals(parseAnnotation(pod.metadata.annotations[ANNOTATION], conf.name), [
    "ip route add 192.0.3.0/24 dev CURRENT_INTERFACE",
    "ip route",
  ]);
});

Deno.test("example.yaml has a pod that waits for chainsaw's condition as a readiness gate", () => {
  const docs = load("example.yaml");
  const pod = one(docs, "Pod", "chainsawgatedpod");
  assertEquals(pod.spec.readinessGates, [{ conditionType: APPLIED_CONDITION }]);
  assertEquals(pod.metadata.annotations["k8s.v1.cni.cncf.io/networks"], "test-chainsaw");
  assertEquals(parseAnnotation(pod.metadata.annotations[ANNOTATION], "test-chainsaw-chain").length, 1);
});
