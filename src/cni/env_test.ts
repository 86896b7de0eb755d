import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { CNI_VERBS, interfaceNameProblem, parseCniArgs, podRefFrom, readCniEnv } from "./env.ts";
import { CniError } from "./errors.ts";

function env(vars: Record<string, string>): (n: string) => string | undefined {
  return (n) => vars[n];
}

Deno.test("readCniEnv names every missing variable with code 4", () => {
  const e = assertThrows(
    () => readCniEnv(env({ CNI_COMMAND: "ADD", CNI_NETNS: "/x" })),
    CniError,
  ) as CniError;
  assertEquals(e.code, 4);
  assertEquals(e.message, "required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing");
  const none = assertThrows(() => readCniEnv(env({})), CniError) as CniError;
  assertEquals(none.message, "required env variables [CNI_COMMAND] missing");
  // DEL does not need CNI_NETNS; VERSION, STATUS and GC need only the command.
  readCniEnv(env({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "c", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" }));
  readCniEnv(env({ CNI_COMMAND: "VERSION" }));
  readCniEnv(env({ CNI_COMMAND: "STATUS" }));
});

Deno.test("readCniEnv validates container id and interface name", () => {
  const base = { CNI_COMMAND: "ADD", CNI_NETNS: "/x", CNI_PATH: "/p", CNI_IFNAME: "eth0" };
  const bad = assertThrows(
    () => readCniEnv(env({ ...base, CNI_CONTAINERID: "-x;rm" })),
    CniError,
  ) as CniError;
  assertEquals([bad.code, bad.message], [4, "invalid characters in CNI_CONTAINERID"]);
  const ifn = assertThrows(
    () => readCniEnv(env({ ...base, CNI_CONTAINERID: "c", CNI_IFNAME: "a/b" })),
    CniError,
  );
  assertEquals((ifn as CniError).code, 4);
  assertEquals(interfaceNameProblem("0123456789abcdef"), "interface name is too long (max 15 bytes)");
  assertEquals(interfaceNameProblem("net1"), undefined);
});

Deno.test("CNI_ARGS and args.cni give the pod identity", () => {
  const args = parseCniArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_UID=abc");
  assertEquals(podRefFrom(args, undefined), { namespace: "default", name: "p1", uid: "abc" });
  assertEquals(podRefFrom(parseCniArgs(""), { cni: { K8S_POD_NAMESPACE: "ns", K8S_POD_NAME: "p" } }), {
    namespace: "ns",
    name: "p",
    uid: "",
  });
  assertEquals(podRefFrom(parseCniArgs("IgnoreUnknown=1"), undefined), undefined);
  assertEquals((assertThrows(() => parseCniArgs("novalue")) as CniError).code, 4);
});

const OWN = { pid: 4242, ppid: 4241 };
const ADD = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" };

Deno.test("readCniEnv: CNI_COMMAND must be one of the spec's verbs exactly (code 4)", () => {
  for (const command of ["add", "Add", " ADD", "ADD\n", "DELETE", "constructor", "toString", "version"]) {
    const e = assertThrows(
      () => readCniEnv(env({ ...ADD, CNI_COMMAND: command, CNI_NETNS: "/var/run/netns/x" }), OWN),
      CniError,
    ) as CniError;
    assertEquals(e.code, 4, command);
    assertEquals(
      e.message,
      `unknown CNI_COMMAND: ${/\s/.test(command) ? JSON.stringify(command) : command} ` +
        "(expected one of ADD, DEL, CHECK, VERSION, STATUS, GC, exactly)",
    );
  }
  // A lowercase verb no longer skips the container id check: "x;y" never reaches a handler.
  const lower = assertThrows(() => readCniEnv(env({ ...ADD, CNI_COMMAND: "add", CNI_CONTAINERID: "x;y" })));
  assertEquals((lower as CniError).code, 4);
  assertEquals(CNI_VERBS, ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"]);
});

Deno.test("readCniEnv: ADD refuses a CNI_NETNS naming the plugin's own netns (code 4), normalises the rest", () => {
  for (
    const netns of ["/proc/self/ns/net", "//proc/self/ns/net", "/proc/4242/ns/net", "/proc/1/ns/net", "rel"]
  ) {
    const e = assertThrows(() => readCniEnv(env({ ...ADD, CNI_NETNS: netns }), OWN), CniError) as CniError;
    assertEquals(e.code, 4);
    assertEquals(e.message.startsWith(`invalid CNI_NETNS ${JSON.stringify(netns)}: it `), true, e.message);
  }
  assertEquals(
    readCniEnv(env({ ...ADD, CNI_NETNS: "/var/run/netns//cni-1/" }), OWN).netns,
    "/var/run/netns/cni-1",
  );
  assertEquals(readCniEnv(env({ ...ADD, CNI_NETNS: "/proc/77/ns/net" }), OWN).netns, "/proc/77/ns/net");
  // DEL must succeed whatever the netns: it is neither checked nor rewritten.
  const del = readCniEnv(env({ ...ADD, CNI_COMMAND: "DEL", CNI_NETNS: "/proc/self/ns/net" }), OWN);
  assertEquals(del.netns, "/proc/self/ns/net");
});
