import { assertEquals } from "../../../tests/support/assert.ts";
import type { AttachmentForget, AttachmentRegistration } from "../../wire/attachment.ts";
import { ROUTES } from "../../wire/routes.ts";
import { createAttachmentRoute } from "./attachment_route.ts";

const reg: AttachmentRegistration = {
  containerId: "c1",
  netns: "/var/run/netns/x",
  ifname: "net1",
  network: "net-a",
  pod: { namespace: "ns", name: "p", uid: "u1" },
  podInterfaces: ["net1"],
  onError: "fail",
  applied: "",
};

function setup() {
  const seen = { registered: [] as AttachmentRegistration[], forgotten: [] as AttachmentForget[] };
  const route = createAttachmentRoute({
    register: (r) => void seen.registered.push(r),
    forget: (f) => (seen.forgotten.push(f), 2),
  });
  const post = async (path: string, body: unknown, method = "POST") => {
    const url = new URL(`http://chainsaw${path}`);
    const init: RequestInit = { method };
    if (method === "POST") init.body = typeof body === "string" ? body : JSON.stringify(body);
    const res = await route(new Request(url, init), url);
    return { status: res.status, text: await res.text() };
  };
  return { seen, post };
}

Deno.test("attachment route: register and forget", async () => {
  const { seen, post } = setup();
  assertEquals((await post(ROUTES.register.path, reg)).status, 204);
  assertEquals(seen.registered, [reg]);
  const f = await post(ROUTES.forget.path, { containerId: "c1" });
  assertEquals([f.status, JSON.parse(f.text)], [200, { removed: 2 }]);
  assertEquals(seen.forgotten, [{ containerId: "c1" }]);
});

Deno.test("attachment route: malformed, wrong method, unknown path", async () => {
  const { seen, post } = setup();
  assertEquals((await post(ROUTES.register.path, "{")).status, 400);
  assertEquals((await post(ROUTES.register.path, { ...reg, onError: "maybe" })).status, 400);
  assertEquals((await post(ROUTES.forget.path, { containerId: "" })).status, 400);
  assertEquals((await post(ROUTES.register.path, null, "GET")).status, 405);
  assertEquals((await post(`${ROUTES.register.path}/other`, reg)).status, 404);
  assertEquals([seen.registered.length, seen.forgotten.length], [0, 0]);
});

Deno.test("attachment route: a registration owning something is answered once the state file has it", async () => {
  let release!: () => void;
  const saved = new Promise<void>((r) => release = r);
  const route = createAttachmentRoute({ register: () => saved, forget: () => 0 });
  const url = new URL(`http://chainsaw${ROUTES.register.path}`);
  const owning = {
    ...reg,
    mode: "declarative",
    effect: { items: [{ key: "route v4 main 192.0.3.0/24", kind: "route", base: [], set: [{}], by: ["x"] }] },
  };
  let answered = false;
  const answer = Promise.resolve(
    route(new Request(url, { method: "POST", body: JSON.stringify(owning) }), url),
  ).then((r) => {
    answered = true;
    return r;
  });
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  assertEquals(answered, false, "waits for the state file");
  release();
  assertEquals((await answer).status, 204);
  // Owning nothing: answered without waiting.
  const plain = await route(new Request(url, { method: "POST", body: JSON.stringify(reg) }), url);
  assertEquals(plain.status, 204);
});
