// The bare-Deno floor of chainsaw's benchmark: the least a chained CNI plugin written for Deno can do. bench.ts
// writes it behind chainsaw's own launcher line (scripts/build.ts launcherHeader: the same /bin/sh exec line,
// the same `deno run` flags), so chain(chainsaw) minus chain(this) is chainsaw's own work.
// ADD prints prevResult with the request's cniVersion; VERSION prints the supported versions; CHECK and DEL
// print nothing.
const chunks = [];
const buf = new Uint8Array(65536);
for (;;) {
  const n = Deno.stdin.readSync(buf);
  if (n === null || n === 0) break;
  chunks.push(buf.slice(0, n));
}
let len = 0;
for (const c of chunks) len += c.length;
const all = new Uint8Array(len);
len = 0;
for (const c of chunks) {
  all.set(c, len);
  len += c.length;
}
const text = new TextDecoder().decode(all);
const command = Deno.env.get("CNI_COMMAND");
let out = "";
let code = 0;
if (command === "VERSION") {
  out = JSON.stringify({ cniVersion: "1.0.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0"] });
} else {
  const conf = JSON.parse(text);
  if (command === "ADD") {
    if (conf.prevResult === undefined) {
      out = JSON.stringify({
        cniVersion: conf.cniVersion,
        code: 7,
        msg: "must be called as a chained plugin",
      });
      code = 1;
    } else {
      out = JSON.stringify({ ...conf.prevResult, cniVersion: conf.cniVersion });
    }
  }
}
if (out !== "") {
  const data = new TextEncoder().encode(out + "\n");
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}
Deno.exit(code);
