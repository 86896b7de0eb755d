// Declarative runs against a fake netns (a snapshot that fake commands change): the order of snapshot, take-back,
// batch and rollback, what is skipped, and which effect is kept. The real netns: tests/declarative_exec_test.ts.
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import type { Entry, NetnsSnapshot } from "../netns/model.ts";
import type { BatchInput, BatchOutcome } from "./_netns_batch.ts";
import type { RestoreOutcome } from "./netns_snapshot.ts";
import type { CommandResult } from "../report/report.ts";
import { type DeclarativeDeps, DeclarativeRun, takeBackAll, TakeBackError } from "./declarative.ts";
import { diffObjects } from "../declarative/effect.ts";
import type { EffectItem } from "../wire/effect.ts";

const BINS = { ipPath: "/usr/sbin/ip", nsenterPath: "/usr/bin/nsenter" };

function route(dst: string): Entry {
  return { type: "unicast", dst, dev: "eth0", table: "main", family: 4 };
}

/** A netns made of a snapshot; `route add|del X`, `link set mtu N` and `fail` change or fail it. */
class FakeNetns {
  state: NetnsSnapshot = {
    netns: "/var/run/netns/x",
    links: [{ ifindex: 2, ifname: "eth0", flags: ["UP"], mtu: 1500 }],
    addresses: [],
    routes: [route("default")],
    rules: [],
    neighbours: [],
    tentative: [],
  };
  log: string[] = [];
  restoreFails = false;

  apply(argv: readonly string[]): string | undefined {
    const [obj, verb, arg, , val] = argv;
    const s = this.state;
    if (obj === "route" && verb === "add") {
      if (s.routes.some((r) => r.dst === arg)) return "RTNETLINK answers: File exists";
      this.state = { ...s, routes: [...s.routes, route(arg)] };
    } else if (obj === "route" && verb === "del") {
      if (!s.routes.some((r) => r.dst === arg)) return "RTNETLINK answers: No such process";
      this.state = { ...s, routes: s.routes.filter((r) => r.dst !== arg) };
    } else if (obj === "link") {
      this.state = { ...s, links: [{ ...s.links[0], mtu: Number(val) }] };
    } else if (obj !== "route") {
      return "Error: fails";
    }
    return undefined;
  }

  deps(): DeclarativeDeps {
    return {
      snapshot: () => {
        this.log.push("snapshot");
        return Promise.resolve(this.state);
      },
      restore: (target) => {
        this.log.push("restore");
        if (this.restoreFails) {
          this.restoreFails = false;
          return Promise.resolve(
            { ok: false, passes: 1, steps: [], durationMs: 1, failures: ["nope"] } as RestoreOutcome,
          );
        }
        this.state = target;
        return Promise.resolve({ ok: true, passes: 1, steps: [], durationMs: 1 } as RestoreOutcome);
      },
      run: () => Promise.reject(new Error("not batched")),
      batch: (input: BatchInput): Promise<BatchOutcome> => {
        this.log.push(`batch ${input.commands.map((c) => c.argv.join(" ")).join("; ")}`);
        const out: BatchOutcome = {
          before: this.state,
          results: [],
          after: [],
          dumped: [0, 1, 2, 3, 4],
          timedOut: false,
          durationMs: 1,
        };
        for (const [i, c] of input.commands.entries()) {
          const err = this.apply(c.argv);
          out.results.push(result(c.source, c.argv, err));
          if (err) {
            out.failedAt = i;
            break;
          }
          out.after.push(this.state);
        }
        return Promise.resolve(out);
      },
    };
  }
}

function result(command: string, argv: readonly string[], err?: string): CommandResult {
  return {
    command,
    argv: [...argv],
    exitCode: err ? 2 : 0,
    signal: null,
    timedOut: false,
    durationMs: 0,
    stdout: "",
    stderr: err ?? "",
    truncated: false,
  };
}

/** Runs `commands` the way applyCommands drives the hooks (stop at the first failure). */
async function runList(ns: FakeNetns, commands: string[], prior: EffectItem[]) {
  const run = new DeclarativeRun({
    netns: ns.state.netns,
    bins: BINS,
    onError: "rollback",
    prior,
    batchTimeoutMs: 1000,
    maxOutputBytes: 1 << 20,
  }, ns.deps());
  const prepared = commands.map((c) => ({ source: c, argv: c.split(" ") }));
  await run.beforeRun(prepared);
  const results: CommandResult[] = [];
  let failed = false;
  for (const p of prepared) {
    const r = await run.run(p.source, p.argv, { ...BINS, netns: "x", timeoutMs: 1, maxOutputBytes: 1 });
    results.push(r);
    if (r.exitCode !== 0) {
      failed = true;
      break;
    }
  }
  return { results, settled: await run.settle(failed, true) };
}

Deno.test("declarative run: ADD batches the list and owns what each command changed", async () => {
  const ns = new FakeNetns();
  const { results, settled } = await runList(ns, ["route add A", "link set dev eth0 mtu 1400"], []);
  assertEquals(ns.log, ["batch route add A; link set dev eth0 mtu 1400"], "one process, no other snapshot");
  assertEquals(results.map((r) => r.exitCode), [0, 0]);
  assertEquals(settled.effect.map((i) => [i.key, i.by]), [
    ["link 2 mtu", ["link set dev eth0 mtu 1400"]],
    ["route v4 main A", ["route add A"]],
  ]);
});

Deno.test("declarative run: an edit snapshots, takes back first, skips kept commands, runs the rest", async () => {
  const ns = new FakeNetns();
  const first = await runList(ns, ["route add A", "route add B"], []);
  ns.log = [];
  const { results, settled } = await runList(ns, ["route add B", "route add C"], first.settled.effect);
  assertEquals(ns.log, ["snapshot", "restore", "batch route add C"]);
  assertEquals(results.map((r) => [r.command, r.exitCode, r.kept ?? false]), [
    ["route add B", 0, true],
    ["route add C", 0, false],
  ]);
  assertEquals(settled.takenBack.map((i) => i.key), ["route v4 main A"]);
  assertEquals(settled.effect.map((i) => i.key), ["route v4 main B", "route v4 main C"]);
  assertEquals(ns.state.routes.map((r) => r.dst), ["default", "B", "C"]);
});

Deno.test("declarative run: a failing edit restores the netns from before the edit and keeps the old effect", async () => {
  const ns = new FakeNetns();
  const first = await runList(ns, ["route add A"], []);
  const before = ns.state;
  ns.log = [];
  const { settled } = await runList(ns, ["route add C", "route del Z"], first.settled.effect);
  assertEquals(ns.log, ["snapshot", "restore", "batch route add C; route del Z", "restore"]);
  assertEquals(settled.effect, first.settled.effect);
  assertEquals(settled.rollback?.ok, true);
  assertEquals(diffObjects(ns.state, before), []);
});

Deno.test("declarative run: taking back that fails is undone and thrown; takeBackAll empties the effect", async () => {
  const ns = new FakeNetns();
  const first = await runList(ns, ["route add A", "link set dev eth0 mtu 1400"], []);
  ns.restoreFails = true;
  await assertRejects(() => runList(ns, ["route add C"], first.settled.effect), TakeBackError);
  assert(ns.state.routes.some((r) => r.dst === "A"), "the old effect is still in place");
  const input = {
    netns: "x",
    bins: BINS,
    onError: "rollback" as const,
    prior: first.settled.effect,
    batchTimeoutMs: 0,
    maxOutputBytes: 0,
  };
  const all = await takeBackAll(input, ns.deps());
  assertEquals(all.effect, []);
  assertEquals(all.takenBack.length, 2);
  assertEquals([ns.state.routes.map((r) => r.dst), ns.state.links[0].mtu], [["default"], 1500]);
});

Deno.test("declarative run: command by command, the write-ahead snapshot is the run's start (not read twice)", async () => {
  const ns = new FakeNetns();
  const recorded: NetnsSnapshot[] = [];
  const deps: DeclarativeDeps = {
    ...ns.deps(),
    run: (command, argv) => {
      ns.log.push(`run ${command}`);
      return Promise.resolve(result(command, argv, ns.apply(argv)));
    },
  };
  const run = new DeclarativeRun({
    netns: "x",
    bins: BINS,
    onError: "continue", // not batched: command by command
    prior: [],
    batchTimeoutMs: 1000,
    maxOutputBytes: 1 << 20,
    beforeChange: (start) => {
      recorded.push(start);
      return Promise.resolve();
    },
  }, deps);
  const prepared = [{ source: "route add A", argv: ["route", "add", "A"] }];
  await run.beforeRun(prepared);
  await run.run("route add A", prepared[0].argv, { ...BINS, netns: "x", timeoutMs: 1, maxOutputBytes: 1 });
  const settled = await run.settle(false, true);
  assertEquals(ns.log, ["snapshot", "run route add A", "snapshot"]);
  assertEquals(recorded.length, 1);
  assertEquals(settled.start, recorded[0]);
  assertEquals(settled.effect.map((i) => i.key), ["route v4 main A"]);
});
