// The Node.js anchor of chainsaw's benchmark: a minimal chained CNI pass-through (CommonJS, so it runs from an
// extensionless file). bench.ts writes it behind a `#!/path/to/node` line. ADD prints prevResult with the
// request's cniVersion; VERSION prints the supported versions; CHECK and DEL print nothing.
"use strict";
const { Buffer } = require("node:buffer");
const { readFileSync, writeSync } = require("node:fs");
const process = require("node:process");

const command = process.env.CNI_COMMAND;
const text = readFileSync(0, "utf8");
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
  const data = Buffer.from(out + "\n");
  let off = 0;
  while (off < data.length) off += writeSync(1, data, off);
}
process.exitCode = code;
