/** The runner's deadline (AbortSignal.timeout): a command that outlives it is killed and reported as timed out. */
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { runInNetns } from "./runner.ts";

Deno.test("runInNetns kills a command that sleeps past its timeout, and lets a quick one finish", async () => {
  const dir = await Deno.makeTempDir();
  // Stands in for nsenter: ignores its arguments and sleeps (exec, so the kill reaches the sleeper itself).
  const sleeper = `${dir}/sleeper`;
  await Deno.writeTextFile(
    sleeper,
    '#!/bin/sh\nif [ "$4" = quick ]; then echo done; exit 0; fi\nexec sleep 10\n',
  );
  await Deno.chmod(sleeper, 0o755);
  const opts = { ipPath: "/usr/sbin/ip", nsenterPath: sleeper, netns: "/nonexistent", maxOutputBytes: 1024 };
  try {
    const started = performance.now();
    const slow = await runInNetns("ip route", ["route"], { ...opts, timeoutMs: 200 });
    const took = performance.now() - started;
    assertEquals([slow.timedOut, slow.exitCode, slow.signal], [true, null, "SIGKILL"]);
    // SIGKILL and timedOut say the deadline ended it (the sleeper runs 10 s); a timer never fires early.
    assert(took >= 190, `took ${took} ms`);
    const quick = await runInNetns("ip route", ["quick"], { ...opts, timeoutMs: 5000 });
    assertEquals([quick.timedOut, quick.exitCode, quick.stdout], [false, 0, "done\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
