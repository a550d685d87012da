// localrec's wasm encoder against transformers.js (onnxruntime-web wasm, q8,
// one thread) on the same model, in ONE headless Chromium page: the same texts
// of 8, 32, 128 and 256 word pieces, batch 1 and 16, interleaved A/B/A/B;
// medians and min–max per text; plus each side's min cosine against the PyTorch
// reference (../shared/reference). Needs pkg/, the int8 bundle, and
// ../shared/baselines/all-MiniLM-L6-v2 (transformers.js' own q8 ONNX).
//   node benches/compare.mjs [--runs 7]
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import os from "node:os";
import { startServer, ROOT } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/browser.mjs";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 7;
const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
const refs = readFileSync(join(SHARED, "reference", "minilm-l6-v2.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const source = refs.filter((r) => r.source === "wikipedia film").map((r) => r.text).join(" ");

const server = await startServer({
  routes: {
    "/": join(ROOT, "benches", "compare"),
    "/tjs/": join(ROOT, "node_modules", "@huggingface", "transformers", "dist"),
    "/ort/": join(ROOT, "node_modules", "onnxruntime-web", "dist"),
    "/ort-common/": join(ROOT, "node_modules", "onnxruntime-common", "dist", "esm"),
    "/baseline/": join(SHARED, "baselines"),
  },
});
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 180_000 });
  const status = await page.textContent("#status");
  if (status !== "ready") throw new Error(status);

  const result = await page.evaluate(async ({ runs, source, refTexts, refVecs }) => {
    const { ours, tjs, tokens } = window.encoders;
    const words = source.split(/\s+/);
    const textWith = (n) => {
      let k = 1;
      while (k < words.length && tokens(words.slice(0, k + 1).join(" ")) <= n) k++;
      return words.slice(0, k).join(" ");
    };
    const sides = { ours: async (t) => ours(t), tjs };
    const time = async (f, t) => {
      const s = performance.now();
      await f(t);
      return performance.now() - s;
    };
    const stats = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return { median: s[s.length >> 1], min: s[0], max: s.at(-1) };
    };
    const rows = [];
    for (const n of [8, 32, 128, 256]) {
      const text = textWith(n);
      for (const batch of [1, 16]) {
        const texts = Array(batch).fill(text);
        for (const f of Object.values(sides)) await f(texts); // warm-up
        const t = { ours: [], tjs: [] };
        for (let r = 0; r < runs; r++) {
          for (const name of r % 2 ? ["tjs", "ours"] : ["ours", "tjs"]) t[name].push((await time(sides[name], texts)) / batch);
        }
        rows.push({ tokens: tokens(text), batch, ours: stats(t.ours), tjs: stats(t.tjs) });
      }
    }
    const minCos = async (f) => {
      let min = 1;
      for (let i = 0; i < refTexts.length; i += 16) {
        const chunk = refTexts.slice(i, i + 16);
        const out = await f(chunk);
        chunk.forEach((_, j) => {
          const v = out.subarray(j * 384, (j + 1) * 384);
          const r = refVecs[i + j];
          let d = 0, a = 0, b = 0;
          for (let k = 0; k < 384; k++) { d += v[k] * r[k]; a += v[k] * v[k]; b += r[k] * r[k]; }
          min = Math.min(min, d / Math.sqrt(a * b));
        });
      }
      return min;
    };
    return { rows, cosOurs: await minCos(sides.ours), cosTjs: await minCos(sides.tjs), ua: navigator.userAgent };
  }, { runs, source, refTexts: refs.map((r) => r.text), refVecs: refs.map((r) => r.embedding) });

  console.log(`Chromium ${await browser.version()}, ${os.cpus()[0].model} (${os.cpus().length} cores), single thread both, ${runs} interleaved runs after a warm-up; ms per text, median (min–max)`);
  console.log("| tokens | batch | localrec wasm | transformers.js q8 wasm | ratio (ours / theirs) |");
  console.log("|---:|---:|---:|---:|---:|");
  const f = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  for (const r of result.rows) {
    console.log(`| ${r.tokens} | ${r.batch} | ${f(r.ours)} | ${f(r.tjs)} | ${(r.ours.median / r.tjs.median).toFixed(2)} |`);
  }
  console.log(`min cosine vs PyTorch over ${refs.length} texts: localrec int8 ${result.cosOurs.toFixed(5)}, transformers.js q8 ${result.cosTjs.toFixed(5)}`);
} finally {
  await browser.close();
  await server.close();
}
