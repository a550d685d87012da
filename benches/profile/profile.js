// Loads one build of the wasm encoder and the int8 bundle, and exposes the
// encoder as window.encoder for benches/profile.mjs.
import init, { Encoder, simdLevel } from "/pkg/localrec.js";

const status = document.getElementById("status");
try {
  const wasm = new URL(location.href).searchParams.get("wasm") ?? "/pkg/localrec_relaxed_bg.wasm";
  await init({ module_or_path: wasm });
  const bytes = new Uint8Array(await (await fetch("/models/minilm-l6-v2-int8.lrm")).arrayBuffer());
  window.encoder = Encoder.load(bytes);
  window.simd = simdLevel();
  status.textContent = "ready";
} catch (e) {
  status.textContent = `failed: ${e.message ?? e}`;
}
