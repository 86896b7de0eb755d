import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { forwardGc as forwardGcRequest } from "../wire/client.ts";
import {
  ATTACHMENTS_LEGACY,
  GC_TIMEOUT_MS,
  type GcAttachment,
  VALID_ATTACHMENTS,
  validAttachments,
} from "./gc.ts";

/** The plugin's GC hand-off as the handler makes it (network `net`, the plugin's bound unless given). */
const forwardGc = (socket: string, network: string, valid: GcAttachment[], timeoutMs = GC_TIMEOUT_MS) =>
  forwardGcRequest(socket, { network, valid }, timeoutMs);

Deno.test("validAttachments: the spec's list, renamed for the daemon; null is the empty list", () => {
  const raw = {
    name: "net",
    [VALID_ATTACHMENTS]: [{ containerID: "a", ifname: "eth0" }, { containerID: "b", ifname: "net1", x: 1 }],
  };
  assertEquals(validAttachments(raw), [{ containerId: "a", ifname: "eth0" }, {
    containerId: "b",
    ifname: "net1",
  }]);
  assertEquals(validAttachments({ [VALID_ATTACHMENTS]: [] }), []);
  assertEquals(validAttachments({ [VALID_ATTACHMENTS]: null }), []);
});

Deno.test("validAttachments: the 1.1.0 text's cni.dev/attachments is accepted; valid-attachments wins when both", () => {
  const a = [{ containerID: "a", ifname: "eth0" }];
  const b = [{ containerID: "b", ifname: "net1" }];
  assertEquals(validAttachments({ [ATTACHMENTS_LEGACY]: a }), [{ containerId: "a", ifname: "eth0" }]);
  assertEquals(validAttachments({ [ATTACHMENTS_LEGACY]: null }), []);
  assertEquals(validAttachments({ [ATTACHMENTS_LEGACY]: a, [VALID_ATTACHMENTS]: b }), [{
    containerId: "b",
    ifname: "net1",
  }]);
  assertEquals(validAttachments({ [ATTACHMENTS_LEGACY]: "junk", [VALID_ATTACHMENTS]: null }), []);
  const e = assertThrows(() => validAttachments({ [ATTACHMENTS_LEGACY]: "junk" }), CniError) as CniError;
  assertEquals(e.code, ErrorCode.InvalidNetworkConfig);
  assertStringIncludes(e.message, `invalid ${ATTACHMENTS_LEGACY}`);
});

Deno.test("validAttachments: missing or malformed is code 7 naming the key (and where)", () => {
  const code7 = (raw: Record<string, unknown>, part: string) => {
    const e = assertThrows(() => validAttachments(raw), CniError) as CniError;
    assertEquals(e.code, ErrorCode.InvalidNetworkConfig);
    assertStringIncludes(e.message, VALID_ATTACHMENTS);
    assertStringIncludes(e.message, part);
  };
  code7({}, "GC needs");
  code7({ [VALID_ATTACHMENTS]: "everything" }, "want a list");
  code7({ [VALID_ATTACHMENTS]: [{ containerID: "a" }] }, "[0].ifname");
  code7(
    { [VALID_ATTACHMENTS]: [{ containerID: "a", ifname: "eth0" }, { containerId: "b", ifname: "e" }] },
    "[1]",
  );
});

Deno.test("forwardGc: POSTs the list to /v1/gc and returns the count; daemon absent, failing or slow is undefined", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/d.sock`;
  const seen: Array<{ method: string; url: string; body: unknown }> = [];
  let answer = (): Response | Promise<Response> => Response.json({ removed: 2 });
  const server = Deno.serve({ path, onListen: () => {} }, async (req) => {
    seen.push({ method: req.method, url: new URL(req.url).pathname, body: await req.json() });
    return answer();
  });
  try {
    const valid = [{ containerId: "a", ifname: "eth0" }];
    assertEquals(await forwardGc(path, "net", valid), 2);
    assertEquals(seen, [{ method: "POST", url: "/v1/gc", body: { network: "net", valid } }]);
    answer = () => new Response("no\n", { status: 400 });
    assertEquals(await forwardGc(path, "net", valid), undefined);
    answer = () => new Response("not found\n", { status: 404 }); // a daemon from before GC
    assertEquals(await forwardGc(path, "net", valid), undefined);
    let release = () => {};
    answer = () => new Promise((r) => release = () => r(Response.json({ removed: 0 })));
    // Bounded by the timeout: the answer only comes after release(), below.
    assertEquals(await forwardGc(path, "net", valid, 200), undefined);
    release();
    assertEquals(await forwardGc(`${dir}/none.sock`, "net", valid), undefined);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
