// Bundle load time of the wasm encoder in Node (simd128 build): bytes in hand →
// a ready `Encoder` (checksum, container, coded-section decoding, GEMM packing).
//   node benches/load.mjs [--runs 7] [bundle.lrm …]   (default: the int8 bundle)
// Needs pkg/ (scripts/build-wasm.sh) and the bundles (scripts/setup.sh).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/serve.mjs";

const { values, positionals } = parseArgs({
  options: { runs: { type: "string", default: "7" } },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const files = positionals.length ? positionals : [join(ROOT, "models", "build", "minilm-l6-v2-int8.lrm")];

const { initSync, Encoder } = await import("../pkg/localrec.js");
initSync({ module: readFileSync(join(ROOT, "pkg", "localrec_bg.wasm")) });
for (const file of files) {
  const bytes = readFileSync(file);
  const times = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = performance.now();
    const encoder = Encoder.load(bytes);
    const ms = performance.now() - t;
    encoder.free();
    if (i > 0) times.push(ms); // the first load warms the engine up
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(`${file}: ${bytes.length} bytes, load median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times.at(-1).toFixed(1)}) over ${runs}`);
}
