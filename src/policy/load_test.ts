import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { DEFAULT_ALLOW } from "./default_policy.ts";
import { effectivePolicy, findNodePolicy, readNodePolicy, readPolicyFile } from "./load.ts";
import { DEFAULT_LIMITS } from "./rules.ts";
import { evaluateCommand } from "./evaluate.ts";

async function withDir(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chainsaw-policy-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("no node file and no chain policy: the default policy", () => {
  const p = effectivePolicy(undefined, undefined);
  deepEqual(p.allow.map((r) => r.source), DEFAULT_ALLOW);
  deepEqual(p.limits, DEFAULT_LIMITS);
  equal(p.narrow, undefined);
});

Deno.test("node document: absent lists keep the default's, present lists replace them", () => {
  const onlyLimits = effectivePolicy({ limits: { maxCommands: 8 } }, undefined);
  deepEqual(onlyLimits.allow.map((r) => r.id), DEFAULT_ALLOW.map((_, i) => `default.allow[${i}]`));
  deepEqual(onlyLimits.limits, { ...DEFAULT_LIMITS, maxCommands: 8 });
  const replaced = effectivePolicy({ allow: ["route show"], deny: [] }, undefined);
  deepEqual(replaced.allow.map((r) => r.id), ["node.allow[0]"]);
  deepEqual(replaced.deny, []);
});

Deno.test("chain document narrows: limits are the minimum, lists become a layer", () => {
  const p = effectivePolicy(
    { limits: { maxCommands: 8, commandTimeoutMs: 5000 } },
    {
      allow: ["route show"],
      limits: { maxCommands: 100, commandTimeoutMs: 1000, maxOutputBytes: 10, listTimeoutMs: 2000 },
    },
  );
  deepEqual(p.limits, {
    maxCommands: 8,
    maxAnnotationBytes: DEFAULT_LIMITS.maxAnnotationBytes,
    maxOutputBytes: 10,
    commandTimeoutMs: 1000,
    listTimeoutMs: 2000,
  });
  deepEqual(p.narrow?.map((l) => [l.allow?.map((r) => r.id), l.deny.length]), [[["chain.allow[0]"], 0]]);
  const labels = effectivePolicy({ namespaceLabels: { a: "1" } }, { namespaceLabels: { b: "2" } });
  deepEqual(labels.namespaceLabels, [{ a: "1" }, { b: "2" }]);
});

Deno.test("errors name the source", () => {
  throws(
    () => effectivePolicy(undefined, { allow: ["route frob"] }),
    /chain config key "policy": allow\[0\] "route frob"/,
  );
  throws(
    () => effectivePolicy({ deny: [42] }, undefined, { node: "/n/policy.json" }),
    /\/n\/policy.json: invalid policy: deny\[0\]: /,
  );
  throws(
    () => effectivePolicy(undefined, { limits: { maxCommands: -1 } }),
    /chain config key "policy": invalid policy: limits.maxCommands: /,
  );
});

Deno.test("readNodePolicy: policy.json, else policy.yaml, else policy.yml, else nothing", async () => {
  await withDir(
    { "policy.json": '{"allow": ["route show"]}', "policy.yaml": "allow: [link show]\n" },
    async (dir) => {
      deepEqual(await readNodePolicy(dir), { allow: ["route show"] });
    },
  );
  await withDir({ "policy.yaml": "allow:\n  - link show\nlimits:\n  maxCommands: 3\n" }, async (dir) => {
    deepEqual(await readNodePolicy(dir), { allow: ["link show"], limits: { maxCommands: 3 } });
  });
  await withDir({ "policy.yml": "deny: ['route flush']\n" }, async (dir) => {
    equal((await findNodePolicy(dir))?.file, `${dir}/policy.yml`);
  });
  await withDir({}, async (dir) => {
    equal(await readNodePolicy(dir), undefined);
  });
  equal(await readNodePolicy("/nonexistent/chainsaw"), undefined);
});

Deno.test("readNodePolicy: syntax, schema and rule errors name the file", async () => {
  await withDir({ "policy.json": "{ nope" }, async (dir) => {
    await rejects(readNodePolicy(dir), new RegExp(`${dir}/policy.json: invalid JSON`));
  });
  await withDir({ "policy.yaml": "allow: [unterminated\n" }, async (dir) => {
    await rejects(readNodePolicy(dir), new RegExp(`${dir}/policy.yaml: invalid YAML`));
  });
  await withDir({ "policy.json": '{"allow": ["route show"], "extra": 1}' }, async (dir) => {
    await rejects(readNodePolicy(dir), new RegExp(`${dir}/policy.json: invalid policy`));
  });
  await withDir({ "policy.json": '{"allow": ["route show", "link sett"]}' }, async (dir) => {
    await rejects(
      readNodePolicy(dir),
      new RegExp(`${dir}/policy.json: allow\\[1\\] "link sett": "sett" is not a verb`),
    );
  });
  await rejects(readPolicyFile("/nonexistent/p.json"), /\/nonexistent\/p.json: cannot read/);
});

interface ModuleInfo {
  modules: { dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[] }[];
}

async function dependencies(file: string): Promise<{ specifier: string; dynamic: boolean }[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(file, import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as ModuleInfo;
  return info.modules.flatMap((m) =>
    (m.dependencies ?? []).map((d) => ({ specifier: d.code?.specifier ?? "", dynamic: d.isDynamic === true }))
  );
}

Deno.test("the plugin's start-up path imports the yaml module only dynamically", async () => {
  for (const file of ["./load.ts", "./evaluate.ts"]) {
    const deps = await dependencies(file);
    equal(deps.some((d) => !d.dynamic && d.specifier.includes("yaml")), false, file);
  }
  equal((await dependencies("./load.ts")).some((d) => d.dynamic && d.specifier.includes("yaml")), true);
});

Deno.test("the policy example in docs/policy.md compiles", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/policy.md", import.meta.url));
  const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  const { parse } = await import("yaml");
  const p = effectivePolicy(parse(block!), undefined, { node: "docs/policy.md" });
  deepEqual(p.allow.map((r) => r.id), ["node.allow[0]", "node.allow[1]", "node.allow[2]"]);
  deepEqual(p.namespaces, ["net-lab", "ops"]);
});

Deno.test("a node document's deny list adds to the built-in denies (it cannot drop tuntap)", () => {
  const own = effectivePolicy({ allow: ["* show|get", "tuntap *"], deny: ["route flush"] }, undefined);
  deepEqual(own.deny.map((r) => r.id), ["node.deny[0]"]);
  const v = evaluateCommand(["-d", "tuntap", "show"], own, { ifname: "net1", podInterfaces: [] });
  equal(!v.allowed && v.rule, "escape:reads-host-proc");
});

Deno.test("policy files: a read or parse failure is a PolicyError naming the file, the original error its cause", async () => {
  await withDir({ "bad.json": "{", "bad.yaml": "a: [" }, async (dir) => {
    for (
      const [name, cause] of [["bad.json", SyntaxError], ["bad.yaml", Error], [
        "none.json",
        Deno.errors.NotFound,
      ]] as const
    ) {
      await rejects(readPolicyFile(`${dir}/${name}`), (e: Error) => {
        equal(e.name, "PolicyError");
        equal(e.message.startsWith(`${dir}/${name}: `), true, e.message);
        equal(e.message.includes("SyntaxError"), false, e.message);
        equal(e.cause instanceof cause, true, `${name}: ${String(e.cause)}`);
        return true;
      });
    }
  });
});
