import { assert, assertEquals } from "../../tests/support/assert.ts";
import { sampleCommand, sampleReport } from "../../tests/daemon_fixtures.ts";
import {
  ALL_HOSTILE,
  assertNoRawControl,
  countRecords,
  FAKE_HEADER,
  HOSTILE,
  HOSTILE_OUTPUT,
} from "../../tests/support/hostile.ts";
import { formatHuman, OUTPUT_INDENT, type Report } from "./report.ts";

/** A report whose every string field a hostile sender chose. */
function hostileReport(): Report {
  const h = ALL_HOSTILE;
  return sampleReport({
    verb: "ADD",
    pod: { namespace: `ns${HOSTILE.newline}`, name: `p${HOSTILE.rlo}`, uid: h },
    containerId: `c${HOSTILE.cr}`,
    netns: `/n${HOSTILE.lineSeparator}`,
    ifname: `e${HOSTILE.clear}`,
    network: `n${HOSTILE.osc8}`,
    detected: Object.values(HOSTILE),
    commands: [
      sampleCommand({
        command: h,
        argv: Object.values(HOSTILE),
        stdout: HOSTILE_OUTPUT,
        stderr: HOSTILE_OUTPUT,
      }),
      sampleCommand({ exitCode: null, signal: `SIGKILL${HOSTILE.newline}`, stdout: "", stderr: "" }),
    ],
    verdict: "failed",
    error: { code: 100, msg: `command failed: ${h}\nstderr: ${HOSTILE_OUTPUT}` },
  });
}

Deno.test("formatHuman: a hostile report is one record with nothing raw", () => {
  const text = formatHuman(hostileReport());
  assertNoRawControl(text, "human record");
  assertEquals(countRecords(text), { headers: 1, ends: 1 });
  const lines = text.split("\n");
  assertEquals(lines.pop(), "");
  // the record's own lines, then each output line indented
  const structural = lines.filter((l) => !l.startsWith(OUTPUT_INDENT));
  assertEquals(structural.length, 1 + 1 + 2 * 2 + 1, structural.join("\n"));
  assert(structural[0].startsWith("2026-11-23T12:00:00.000Z ADD ns"), structural[0]);
  assert(structural[1].startsWith("Detected commands: ["));
  assert(structural.at(-1)!.startsWith("Result: failed (code 100: command failed: "));
  // ip's output keeps one line per line it printed, twice (stdout and stderr)
  const output = lines.filter((l) => l.startsWith(OUTPUT_INDENT));
  assertEquals(output.length, 2 * (HOSTILE_OUTPUT.split("\n").length - 1));
  assert(output.includes(OUTPUT_INDENT + FAKE_HEADER), "a forged header line stays visible, indented");
  assert(text.includes(String.raw`progress 10%\r2026-11-23T`), "a CR inside a line is shown as \\r");
  assert(
    text.includes(String.raw`\x1b[2J`) && text.includes(String.raw`\u202e`) &&
      text.includes(String.raw`\ud800`),
  );
});

Deno.test("formatHuman: an ordinary report is unchanged apart from the output's indent", () => {
  assertEquals(
    formatHuman(sampleReport()),
    "2026-11-23T12:00:00.000Z ADD default/p1 container=ctr-1 netns=/var/run/netns/cs-test ifname=net1 " +
      "network=test-chainsaw-chain\n" +
      "Detected commands: [ip route]\n" +
      "Running ip route ===============\n" +
      "    default via 192.0.2.1 dev eth0\n" +
      "(exit 0, 1.5 ms)\n" +
      "Result: applied in 12.5 ms\n",
  );
});

Deno.test("formatHuman: a report with a trace id ends its header with trace=<id>; without one, no trace", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const header = formatHuman(sampleReport({ traceId })).split("\n")[0];
  assert(header.endsWith(` network=test-chainsaw-chain trace=${traceId}`), header);
  assert(!formatHuman(sampleReport()).includes("trace"), "no trace id, no trace= field");
  // a hostile sender's trace id (the wire schema refuses it, but the renderer does not rely on that)
  const forged = formatHuman(sampleReport({ traceId: `x\n${FAKE_HEADER} y` }));
  assertEquals(countRecords(forged), { headers: 1, ends: 1 });
  assertNoRawControl(forged, "forged trace id");
});

Deno.test("formatHuman: the NAD follows the chain's network= (the key is not shown); each warning is a line", () => {
  const text = formatHuman(
    sampleReport({ nad: "default/test-chainsaw", key: "net1", warnings: ['key "x"\nmatches none'] }),
  );
  const [header, warning] = text.split("\n");
  assert(header.endsWith(" network=test-chainsaw-chain nad=default/test-chainsaw"), header);
  assertEquals(warning, String.raw`Warning: key "x"\nmatches none`);
  assertEquals(countRecords(text), { headers: 1, ends: 1 });
});
