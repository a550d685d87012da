// Loads the encoders in the page: localrec's wasm Encoder, both builds (relaxed
// SIMD and simd128: the same glue imported twice is two module instances), and
// transformers.js (onnxruntime-web wasm backend, q8, single thread) on the same
// model, and exposes them to the harness (benches/compare.mjs) as window.encoders.
import init, { Encoder } from "/pkg/localrec.js";
import initRelaxed, { Encoder as EncoderRelaxed, simdLevel } from "/pkg/localrec.js?relaxed";
import { pipeline, env } from "@huggingface/transformers";

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = "/baseline/";
env.backends.onnx.wasm.wasmPaths = "/ort/";
env.backends.onnx.wasm.numThreads = 1;

try {
  await init({ module_or_path: "/pkg/localrec_bg.wasm" });
  await initRelaxed({ module_or_path: "/pkg/localrec_relaxed_bg.wasm" });
  if (simdLevel() !== "relaxed-simd") throw new Error(`the relaxed build reports ${simdLevel()}`);
  const bytes = new Uint8Array(await (await fetch("/models/minilm-l6-v2-int8.lrm")).arrayBuffer());
  const ours = Encoder.load(bytes);
  const oursRelaxed = EncoderRelaxed.load(bytes);
  const extractor = await pipeline("feature-extraction", "all-MiniLM-L6-v2", { dtype: "q8", device: "wasm" });
  window.encoders = {
    ours: (texts) => ours.embedBatch(texts),
    oursRelaxed: (texts) => oursRelaxed.embedBatch(texts),
    tjs: async (texts) => (await extractor(texts, { pooling: "mean", normalize: true })).data,
    tokens: (t) => ours.tokenCount(t),
  };
  document.getElementById("status").textContent = "ready";
} catch (e) {
  document.getElementById("status").textContent = `failed: ${e.message ?? e}`;
}
