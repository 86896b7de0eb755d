import { assert, assertEquals } from "../../tests/support/assert.ts";
import { isUnderProc, netnsPathProblem, normalizeNetnsPath } from "./netns_path.ts";

const OWN = { pid: 4242, ppid: 4241 };

Deno.test("normalizeNetnsPath collapses slashes, drops . segments and a trailing slash, keeps ..", () => {
  assertEquals(
    ["//proc/self/ns/net", "/proc/./self/ns/net/", "/var/run/netns//cni-1", "/a/../b", "rel/./x/", "/"].map(
      normalizeNetnsPath,
    ),
    ["/proc/self/ns/net", "/proc/self/ns/net", "/var/run/netns/cni-1", "/a/../b", "rel/x", "/"],
  );
  assert(isUnderProc("//proc//12/ns/net") && isUnderProc("/./proc") && !isUnderProc("/procs/1"));
});

Deno.test("netnsPathProblem refuses every spelling of the caller's own netns", () => {
  const own = [
    "/proc/self/ns/net",
    "/proc/thread-self/ns/net",
    "//proc/self/ns/net",
    "/proc/./self/ns/net",
    "/proc/self/../self/ns/net",
    "/proc/self/ns/net/",
    "/proc//self///ns/net",
    "/proc/4242/ns/net",
    "/proc/4242/task/4242/ns/net",
    "/proc/99/task/4242/ns/net",
    "/proc/4241/ns/net",
    "/proc/1/ns/net",
    "/proc/01/ns/net",
    "/proc/net",
    "/proc/4242/net",
    "/proc/self/fd/3",
    "/proc",
    "proc/self/ns/net",
    "self/ns/net",
    "./x",
    "/var/run/netns/../../proc/self/ns/net",
    "/var/run/netns/x/..",
    "/var/run/netns/x\n",
    "",
  ];
  for (const p of own) assert(netnsPathProblem(p, OWN) !== undefined, `${JSON.stringify(p)} was accepted`);
  assertEquals(
    netnsPathProblem("/proc/4242/ns/net", OWN),
    "names the network namespace of chainsaw itself (PID 4242), not a pod's",
  );
  assertEquals(
    netnsPathProblem("/proc/1/ns/net", OWN),
    "names the network namespace of init (PID 1), not a pod's",
  );
  assertEquals(netnsPathProblem("x", OWN), "is not an absolute path");
});

Deno.test("netnsPathProblem accepts a pod's netns in the forms runtimes pass", () => {
  for (
    const p of [
      "/var/run/netns/cni-1",
      "/run/netns/x",
      "/proc/77/ns/net",
      "/proc/77/task/78/ns/net",
      "/var/run/netns//cni-1/",
    ]
  ) {
    assertEquals(netnsPathProblem(p, OWN), undefined, p);
  }
});
