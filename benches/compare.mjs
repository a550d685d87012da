// localrec's wasm encoder against transformers.js' runtime on the same model,
// in ONE process and one run: first in Node, then in one headless Chromium page.
//
//   Node:     localrec wasm (pkg/)  vs  onnxruntime-web wasm (transformers.js'
//             runtime; its q8 ONNX, its tokenizer, mean pooling + L2 as its
//             pipeline does), plus onnxruntime-node (native) as the server bar.
//             transformers.js' own pipeline only offers native onnxruntime in
//             Node, so the wasm side there is onnxruntime-web driven directly.
//             Also our own f32 forward (the f32 bundle), which int8 must beat.
//   Chromium: localrec wasm, both builds (relaxed SIMD, which the package picks
//             there, and simd128)  vs  transformers.js' pipeline (device "wasm", q8).
//
// One thread everywhere. Same texts (film extracts cut to 8, 32, 128 and 256
// word pieces), batch 1 and 16, each side warmed up for a second, then
// interleaved A/B/A/B runs; medians and min–max per text; each side's min
// cosine against the PyTorch reference (../shared/reference); achieved GOP/s
// against the model's 21.2 MFLOP per token.
//   npm run bench            (= node benches/compare.mjs --runs 7)
//   node benches/compare.mjs --runs 5 [--only node|chromium]
// Needs pkg/ (scripts/build-wasm.sh), the int8 bundle (scripts/setup.sh) and
// ../shared/baselines/all-MiniLM-L6-v2.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import os from "node:os";
import { startServer, ROOT } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/browser.mjs";

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const runs = process.argv.includes("--runs") ? Number(arg("--runs")) : 7;
const only = process.argv.includes("--only") ? arg("--only") : null;
const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
const BASELINE = join(SHARED, "baselines");
const MODEL_ONNX = join(BASELINE, "all-MiniLM-L6-v2", "onnx", "model_quantized.onnx");
const refs = readFileSync(join(SHARED, "reference", "minilm-l6-v2.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const source = refs.filter((r) => r.source === "wikipedia film").map((r) => r.text).join(" ");
const args = { runs, source, refTexts: refs.map((r) => r.text), refVecs: refs.map((r) => r.embedding) };
const FLOP_PER_TOKEN = 21.2e6;

// The measurement, identical in Node and in the page (it is sent there as source).
// `encoders`: { sides: { name: async (texts) => Float32Array(n·384) }, tokens: (text) => count }.
async function benchmark({ runs, source, refTexts, refVecs }, encoders) {
  const { sides, tokens } = encoders;
  const names = Object.keys(sides);
  const words = source.split(/\s+/);
  const textWith = (n) => {
    let k = 1;
    while (k < words.length && tokens(words.slice(0, k + 1).join(" ")) <= n) k++;
    return words.slice(0, k).join(" ");
  };
  const time = async (f, t) => {
    const s = performance.now();
    await f(t);
    return performance.now() - s;
  };
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[s.length >> 1], min: s[0], max: s.at(-1) };
  };
  // Warm up every side for a second so that the engines' optimising tiers are in.
  for (const f of Object.values(sides)) {
    const start = performance.now();
    while (performance.now() - start < 1000) await f([textWith(32), textWith(8)]);
  }
  const rows = [];
  for (const n of [8, 32, 128, 256]) {
    const text = textWith(n);
    for (const batch of [1, 16]) {
      const texts = Array(batch).fill(text);
      for (const f of Object.values(sides)) await f(texts);
      const t = Object.fromEntries(names.map((k) => [k, []]));
      for (let r = 0; r < runs; r++) {
        const order = r % 2 ? [...names].reverse() : names;
        for (const name of order) t[name].push((await time(sides[name], texts)) / batch);
      }
      rows.push({ tokens: tokens(text), batch, ...Object.fromEntries(names.map((k) => [k, stats(t[k])])) });
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
  const cosines = {};
  for (const name of names) cosines[name] = await minCos(sides[name]);
  return { rows, cosines };
}

function print(title, labels, result) {
  const names = Object.keys(labels);
  const [ours, theirs] = names;
  console.log(`\n${title}`);
  console.log(`| tokens | batch | ${names.map((n) => labels[n]).join(" | ")} | ratio ${ours} / ${theirs} | GOP/s ${ours} | GOP/s ${theirs} |`);
  console.log(`|---:|---:|${names.map(() => "---:").join("|")}|---:|---:|---:|`);
  const f = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const gops = (r, s) => ((r.tokens * FLOP_PER_TOKEN) / (s.median / 1000) / 1e9).toFixed(1);
  for (const r of result.rows) {
    console.log(`| ${r.tokens} | ${r.batch} | ${names.map((n) => f(r[n])).join(" | ")} | ${(r[ours].median / r[theirs].median).toFixed(2)} | ${gops(r, r[ours])} | ${gops(r, r[theirs])} |`);
  }
  console.log(`min cosine vs PyTorch over ${refs.length} texts: ${names.map((n) => `${labels[n]} ${result.cosines[n].toFixed(5)}`).join(", ")}`);
}

/// Mean pooling over the attention mask, then L2, as transformers.js' pipeline does.
function poolNormalise(hidden, dims, mask) {
  const [batch, len, width] = dims;
  const out = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) {
    const row = out.subarray(b * width, (b + 1) * width);
    let count = 0;
    for (let t = 0; t < len; t++) {
      if (!mask[b * len + t]) continue;
      count++;
      const h = hidden.subarray((b * len + t) * width, (b * len + t + 1) * width);
      for (let k = 0; k < width; k++) row[k] += h[k];
    }
    let norm = 0;
    for (let k = 0; k < width; k++) norm += (row[k] /= Math.max(count, 1)) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < width; k++) row[k] /= norm;
  }
  return out;
}

async function nodeRun() {
  const { initSync, Encoder } = await import("../pkg/localrec.js");
  initSync({ module: readFileSync(join(ROOT, "pkg", "localrec_bg.wasm")) });
  const ours = Encoder.load(readFileSync(join(ROOT, "models", "build", "minilm-l6-v2-int8.lrm")));
  // Our own f32 forward (candle's f32 kernels, the f32 bundle): the int8 one must beat it.
  const oursF32 = Encoder.load(readFileSync(join(ROOT, "models", "build", "minilm-l6-v2-f32.lrm")));
  const ortWeb = await import("onnxruntime-web");
  const ortNode = await import("onnxruntime-node");
  const { AutoTokenizer, env } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${BASELINE}/`;
  const tokenizer = await AutoTokenizer.from_pretrained("all-MiniLM-L6-v2");
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.wasmPaths = `${join(ROOT, "node_modules", "onnxruntime-web", "dist")}/`;
  const model = readFileSync(MODEL_ONNX);
  const web = await ortWeb.InferenceSession.create(model, { executionProviders: ["wasm"] });
  const native = await ortNode.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const viaOrt = (ort, session) => async (texts) => {
    const enc = tokenizer(texts, { padding: true, truncation: true });
    const feeds = {};
    for (const name of session.inputNames) {
      const t = enc[name];
      feeds[name] = new ort.Tensor("int64", t.data, t.dims);
    }
    const out = await session.run(feeds);
    const hidden = out.last_hidden_state ?? out[session.outputNames[0]];
    return poolNormalise(hidden.data, hidden.dims, enc.attention_mask.data);
  };
  const encoders = {
    sides: {
      ours: async (texts) => ours.embedBatch(texts),
      ortWeb: viaOrt(ortWeb, web),
      ortNative: viaOrt(ortNode, native),
      oursF32: async (texts) => oursF32.embedBatch(texts),
    },
    tokens: (t) => ours.tokenCount(t),
  };
  const result = await benchmark(args, encoders);
  print(
    `Node ${process.version}, ${os.cpus()[0].model} (${os.cpus().length} cores), one thread each, ${runs} interleaved runs after a 1 s warm-up; ms per text, median (min–max)`,
    {
      ours: "localrec wasm",
      ortWeb: "onnxruntime-web q8 wasm",
      ortNative: "onnxruntime-node q8 native",
      oursF32: "localrec wasm f32 forward",
    },
    result,
  );
  ours.free();
  oursF32.free();
}

async function chromiumRun() {
  const server = await startServer({
    routes: {
      "/": join(ROOT, "benches", "compare"),
      "/tjs/": join(ROOT, "node_modules", "@huggingface", "transformers", "dist"),
      "/ort/": join(ROOT, "node_modules", "onnxruntime-web", "dist"),
      "/ort-common/": join(ROOT, "node_modules", "onnxruntime-common", "dist", "esm"),
      "/baseline/": BASELINE,
    },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 180_000 });
    const status = await page.textContent("#status");
    if (status !== "ready") throw new Error(status);
    const result = await page.evaluate(
      async ([source, args]) => {
        const { ours, oursRelaxed, tjs, tokens } = window.encoders;
        const bench = (0, eval)(`(${source})`);
        return bench(args, { sides: { oursRelaxed: async (t) => oursRelaxed(t), tjs, ours: async (t) => ours(t) }, tokens });
      },
      [benchmark.toString(), args],
    );
    print(
      `Chromium ${await browser.version()} (headless), ${os.cpus()[0].model} (${os.cpus().length} cores), one thread each, ${runs} interleaved runs after a 1 s warm-up; ms per text, median (min–max)`,
      { oursRelaxed: "localrec wasm, relaxed SIMD", tjs: "transformers.js q8 wasm", ours: "localrec wasm, simd128" },
      result,
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

if (only !== "chromium") await nodeRun();
if (only !== "node") await chromiumRun();
