// Where the wasm encoder's time goes: a CDP sampling profile of one build in
// headless Chromium, self time per function, plus the median time per text.
//
//   node benches/profile.mjs [--tokens 31] [--batch 1] [--calls 400] [--build relaxed|simd128] [--wasm FILE]
//
// The page holds only our encoder (no other runtime interleaved, unlike
// benches/compare.mjs). Function names need a
// module that still has its name section: pkg/ is wasm-opt'ed and shows
// wasm-function[N]; for names pass the wasm-bindgen output before wasm-opt, e.g.
//   cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --features relaxed-simd
//   wasm-bindgen --target web --out-dir target/profile target/wasm32-unknown-unknown/wasm-release/localrec.wasm
//   node benches/profile.mjs --wasm target/profile/localrec_bg.wasm
// (its JS glue must match pkg/localrec.js, which it does for the same code).
import { readFileSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { parseArgs } from "node:util";
import { startServer, ROOT } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/browser.mjs";

const { values: opts } = parseArgs({
  options: {
    tokens: { type: "string", default: "31" },
    batch: { type: "string", default: "1" },
    calls: { type: "string", default: "400" },
    build: { type: "string", default: "relaxed" },
    wasm: { type: "string" },
  },
});
const count = (name) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number ≥ 1, not ${opts[name]}`);
  return n;
};
const [tokens, batch, calls] = [count("tokens"), count("batch"), count("calls")];
const build = opts.build;
const wasmFile = opts.wasm ?? null;
if (!["relaxed", "simd128"].includes(build)) throw new Error(`--build is relaxed or simd128, not ${build}`);

const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
const refs = readFileSync(join(SHARED, "reference", "minilm-l6-v2.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const source = refs.filter((r) => r.source === "wikipedia film").map((r) => r.text).join(" ");

const routes = { "/profile/": join(ROOT, "benches", "profile") };
let wasmUrl = build === "relaxed" ? "/pkg/localrec_relaxed_bg.wasm" : "/pkg/localrec_bg.wasm";
if (wasmFile) {
  routes["/profile-wasm/"] = dirname(resolve(wasmFile));
  wasmUrl = `/profile-wasm/${basename(wasmFile)}`;
}
const server = await startServer({ routes });
let browser;
try {
  browser = await launchChromium();
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("response", (r) => r.status() >= 400 && pageErrors.push(`${r.status()} ${r.url()}`));
  await page.goto(`${server.url}/profile/?wasm=${encodeURIComponent(wasmUrl)}`);
  await page
    .waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 120_000 })
    .catch((e) => {
      throw new Error(`profile page did not load (${pageErrors.join("; ") || e.message}); is pkg/ built (npm run build)?`);
    });
  const status = await page.textContent("#status");
  if (status !== "ready") throw new Error(`profile page: ${status} ${pageErrors.join("; ")}`);

  const timing = await page.evaluate(({ source, tokens, batch, calls }) => {
    const words = source.split(/\s+/);
    let k = 1;
    while (k < words.length && encoder.tokenCount(words.slice(0, k + 1).join(" ")) <= tokens) k++;
    window.texts = Array(batch).fill(words.slice(0, k).join(" "));
    for (let i = 0; i < calls / 4; i++) encoder.embedBatch(texts);
    const t = [];
    for (let i = 0; i < calls; i++) {
      const s = performance.now();
      encoder.embedBatch(texts);
      t.push((performance.now() - s) / batch);
    }
    t.sort((a, b) => a - b);
    return { simd, tokens: encoder.tokenCount(texts[0]), median: t[t.length >> 1], min: t[0], max: t.at(-1) };
  }, { source, tokens, batch, calls });

  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
  await cdp.send("Profiler.start");
  await page.evaluate((calls) => {
    for (let i = 0; i < calls; i++) encoder.embedBatch(texts);
  }, calls);
  const { profile } = await cdp.send("Profiler.stop");

  const byNode = new Map();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  const byName = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const t = byNode.get(node.id) ?? 0;
    total += t;
    const name = (node.callFrame.functionName || "(anonymous)").replace(/::h[0-9a-f]{16}$/, "");
    byName.set(name, (byName.get(name) ?? 0) + t);
  }
  const f = (x) => x.toFixed(2);
  console.log(`${timing.simd} build (${wasmUrl}), ${timing.tokens} tokens, batch ${batch}: ` +
    `${f(timing.median)} ms a text, median of ${calls} (min ${f(timing.min)}, max ${f(timing.max)})`);
  console.log("self time, share of the profile:");
  for (const [name, t] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`${((100 * t) / total).toFixed(1).padStart(6)}%  ${name.slice(0, 120)}`);
  }
} finally {
  await browser?.close();
  server.close();
}
