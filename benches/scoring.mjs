// Catalogue scoring in Chromium's wasm: scoring + top 10 of synthetic catalogues
// of 100k and 1M items (random unit vectors, ids only) for a visitor with one
// liked item (one interest direction), through the package's Engine
// (`loadCatalogue`, `feedback`, `recommend`). Each size is measured with full
// int8 vectors where they fit and with compact 64-byte vectors; prints the
// index size, load time and the median / min / max of `recommend({ k: 10 })`.
//   node benches/scoring.mjs [--runs 21] [--sizes 100000,1000000]
// Needs pkg/ (scripts/build-wasm.sh), the int8 bundle (scripts/setup.sh) and a
// release build of the example that writes the indexes (built here when missing).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { parseArgs } from "node:util";
import { startServer, ROOT } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/browser.mjs";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "21" }, sizes: { type: "string", default: "100000,1000000" } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const sizes = values.sizes.split(",").map(Number);

const dir = join(ROOT, "target", "bench");
mkdirSync(join(dir, "page"), { recursive: true });
writeFileSync(join(dir, "page", "index.html"), "<!doctype html><meta charset=utf-8><title>scoring</title>");
const cases = [];
for (const n of sizes) {
  // Full vectors for 1M items would be 400 MB: measured up to 100k only.
  for (const bytes of n <= 100_000 ? [384, 64] : [64]) {
    const file = join(dir, `${n}-${bytes}.lri`);
    if (!existsSync(file)) {
      execFileSync("cargo", ["run", "--quiet", "--release", "--example", "synthetic_index", "--", String(n), file,
        ...(bytes < 384 ? ["--vector-bytes", String(bytes)] : [])], { cwd: ROOT, stdio: "inherit" });
    }
    cases.push({ n, bytes, url: `/bench/${n}-${bytes}.lri`, size: statSync(file).size });
  }
}

// Runs in the page: load the index, like one item, time recommend().
const measure = async ({ url, runs }) => {
  const m = await import("/pkg/localrec.js");
  const relaxed = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 0, 253, 15, 65, 0, 253, 15, 253, 128, 2, 11]));
  await m.default({ module_or_path: relaxed ? "/pkg/localrec_relaxed_bg.wasm" : "/pkg/localrec_bg.wasm" });
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let t = performance.now();
  const engine = m.Engine.loadCatalogue(bytes);
  const loadMs = performance.now() - t;
  engine.feedback({ kind: "like", item: "item-17" });
  const times = [];
  let top;
  for (let i = 0; i < runs + 3; i++) {
    t = performance.now();
    top = engine.recommend({ k: 10 });
    if (i >= 3) times.push(performance.now() - t); // three warm-ups
  }
  times.sort((a, b) => a - b);
  const out = { relaxed, loadMs, median: times[times.length >> 1], min: times[0], max: times.at(-1), top: top.length };
  engine.free();
  return out;
};

const server = await startServer({ routes: { "/bench/": dir, "/bench/index.html": join(dir, "page", "index.html") } });
const browser = await launchChromium();
const rows = [];
try {
  for (const c of cases) {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/page/index.html`);
    const r = await page.evaluate(([fn, url, runs]) => eval(`(${fn})`)({ url, runs }), [measure.toString(), c.url, runs]);
    if (r.top !== 10) throw new Error(`${c.url}: ${r.top} results, not 10`);
    rows.push({ ...c, ...r });
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`Chromium ${browser.version?.() ?? ""} wasm (${rows[0]?.relaxed ? "relaxed-SIMD" : "simd128"} build); ${os.cpus()[0].model}, ${os.cpus().length} cores; ${runs} runs after 3 warm-ups`);
console.log("items     vector B  index MB  load ms  recommend k=10 ms: median (min–max)");
for (const r of rows) {
  console.log(
    `${String(r.n).padEnd(9)} ${String(r.bytes).padEnd(9)} ${(r.size / 1e6).toFixed(2).padEnd(9)} ${r.loadMs.toFixed(0).padEnd(8)} ${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`,
  );
}
