// The demo page: downloads the model bundle with progress, loads the wasm
// encoder, attaches WebGPU when the browser has it (?backend=auto|gpu|cpu,
// default auto: measured against the SIMD CPU path), and embeds what the user
// types. ?simd=auto|relaxed-simd|simd128 picks the wasm build (default auto:
// relaxed SIMD where the browser validates it). Exposes `window.localrecDemo`
// ({ state, encoder, backend, simd, error }) so the browser tests can drive it.
import init, { Encoder, simdLevel } from "./pkg/localrec.js";
import { download } from "./js/download.js";
import { chooseSimd } from "./js/simd.js";

const demo = (window.localrecDemo = { state: "loading", encoder: null, backend: null, simd: null, error: null });
const $ = (id) => document.getElementById(id);

/** The bundle named by ?model= (a plain file name under /models/), else the int8 default. */
function modelUrl() {
  const name = new URLSearchParams(location.search).get("model") ?? "minilm-l6-v2-int8.lrm";
  if (!/^[\w.-]+\.lrm$/.test(name)) throw new Error(`bad model name ${name}`);
  return `./models/${name}`;
}

/** The backend preference named by ?backend= (auto, gpu or cpu). */
function backendPreference() {
  const name = new URLSearchParams(location.search).get("backend") ?? "auto";
  if (!["auto", "gpu", "cpu"].includes(name)) throw new Error(`bad backend ${name}`);
  return name;
}

function describe(backend) {
  return backend.single === backend.batch ? backend.batch : `${backend.single} (single), ${backend.batch} (batches)`;
}

function cosine(a, b) {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // both unit length
}

function render(texts, flat, dims) {
  const body = $("results").tBodies[0];
  body.replaceChildren();
  const first = flat.subarray(0, dims);
  texts.forEach((text, i) => {
    const row = flat.subarray(i * dims, (i + 1) * dims);
    const tr = document.createElement("tr");
    const cells = [
      text || "(empty)",
      String(demo.encoder.tokenCount(text)),
      Array.from(row.subarray(0, 6), (x) => x.toFixed(4)).join(" ") + " …",
      cosine(first, row).toFixed(4),
    ];
    cells.forEach((c, j) => {
      const td = document.createElement("td");
      td.textContent = c;
      if (j === 2) td.className = "vec";
      tr.append(td);
    });
    body.append(tr);
  });
}

async function main() {
  const t0 = performance.now();
  const build = chooseSimd(new URLSearchParams(location.search).get("simd") ?? "auto");
  await init({ module_or_path: build === "relaxed-simd" ? "./pkg/localrec_relaxed_bg.wasm" : "./pkg/localrec_bg.wasm" });
  demo.simd = simdLevel();
  const { bytes } = await download(modelUrl(), (loaded, total) => {
    $("progress").value = total ? loaded / total : 0;
  });
  $("progress").value = 1;
  const t1 = performance.now();
  demo.encoder = Encoder.load(bytes);
  const t2 = performance.now();
  demo.backend = await demo.encoder.useGpu(backendPreference());
  const adapter = demo.encoder.adapter;
  $("status").textContent =
    `Ready: ${demo.encoder.quant} model, ${demo.encoder.dims} dimensions, ${demo.simd} build (${demo.encoder.gemm} int8 product), ` +
    `backend ${describe(demo.backend)}${adapter ? ` on ${adapter.name || "a WebGPU adapter"}` : ""} ` +
    `(download ${(t1 - t0).toFixed(0)} ms, load ${(t2 - t1).toFixed(0)} ms).`;
  $("embed").disabled = false;
  $("embed").addEventListener("click", async () => {
    const texts = $("texts").value.split("\n");
    const t = performance.now();
    try {
      const flat = await demo.encoder.embedBatchAsync(texts);
      render(texts, flat, demo.encoder.dims);
      demo.backend = demo.encoder.backend;
      $("status").textContent =
        `Embedded ${texts.length} texts in ${(performance.now() - t).toFixed(0)} ms on ${describe(demo.backend)}.`;
    } catch (e) {
      $("status").textContent = `Error: ${e.message}`;
    }
  });
  demo.state = "ready";
}

main().catch((e) => {
  demo.error = String(e?.message ?? e);
  demo.state = "failed";
  $("status").textContent = `Could not load the model: ${demo.error}`;
});
