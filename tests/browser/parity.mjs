// Shared by the browser tests: runs in a page of www/encoder.html (pass it to the driver's
// evaluate), embeds the 269 reference texts (/reference/, served from ../shared/reference) and
// returns min / mean cosine against PyTorch, with the worst text and the build that ran.
export async function referenceParity() {
  const text = await (await fetch("/reference/minilm-l6-v2.jsonl")).text();
  const refs = text.trim().split("\n").map((l) => JSON.parse(l));
  const demo = window.localrecDemo;
  const enc = demo.encoder;
  const flat = enc.embedBatch(refs.map((r) => r.text));
  let min = 1, sum = 0, worst = "";
  refs.forEach((r, i) => {
    const v = flat.subarray(i * enc.dims, (i + 1) * enc.dims);
    let dot = 0, na = 0, nb = 0;
    for (let j = 0; j < v.length; j++) {
      dot += v[j] * r.embedding[j];
      na += v[j] * v[j];
      nb += r.embedding[j] * r.embedding[j];
    }
    const c = dot / Math.sqrt(na * nb);
    sum += c;
    if (c < min) [min, worst] = [c, r.text.slice(0, 50)];
  });
  return { n: refs.length, min, mean: sum / refs.length, worst, dims: enc.dims, simd: demo.simd, gemm: enc.gemm };
}
