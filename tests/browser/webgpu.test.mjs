// The WebGPU path in headless Chromium (SwiftShader, via --enable-unsafe-webgpu),
// driven through the encoder page with ?backend=gpu: GPU embeddings against the
// same page's SIMD CPU path, and a GPU fault mid-batch that must not change the
// results. SwiftShader is a software adapter: this proves correctness, not speed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { launchChromium, openEncoderPage } from "../../scripts/browser.mjs";

const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
assert.ok(existsSync(join(SHARED, "reference")), `${SHARED}/reference missing: set LOCALREC_SHARED`);

let server, browser;
before(async () => {
  server = await startServer({ routes: { "/reference/": join(SHARED, "reference") } });
  browser = await launchChromium({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** In the page: GPU (async) vs CPU (sync) embeddings of every `step`-th reference text. */
async function compare(page, { step, fault }) {
  return page.evaluate(
    async ({ step, fault }) => {
      const text = await (await fetch("/reference/minilm-l6-v2.jsonl")).text();
      const texts = text.trim().split("\n").map((l) => JSON.parse(l).text).filter((_, i) => i % step === 0);
      const enc = window.localrecDemo.encoder;
      enc.takeBackendEvents();
      if (fault) enc.injectGpuFault(fault, 0);
      const gpu = await enc.embedBatchAsync(texts);
      const cpu = enc.embedBatch(texts);
      let min = 1;
      for (let i = 0; i < texts.length; i++) {
        let dot = 0;
        for (let j = 0; j < enc.dims; j++) dot += gpu[i * enc.dims + j] * cpu[i * enc.dims + j];
        min = Math.min(min, dot);
      }
      return { n: texts.length, min, backend: enc.backend, adapter: enc.adapter, events: enc.takeBackendEvents() };
    },
    { step, fault },
  );
}

test("WebGPU embeddings in Chromium match the SIMD CPU path (cosine >= 0.9999)", async () => {
  const page = await openEncoderPage(browser, server.url, { backend: "gpu" });
  const status = await page.textContent("#status");
  const r = await compare(page, { step: 27 });
  console.log(`chromium webgpu: adapter=${JSON.stringify(r.adapter?.name)} n=${r.n} min=${r.min.toFixed(6)} backend=${JSON.stringify(r.backend)}`);
  assert.ok(r.adapter, `no WebGPU adapter in Chromium: ${status}`);
  assert.deepEqual(r.backend, { single: "gpu", batch: "gpu" }, "the GPU ran the batch");
  assert.match(status, /backend gpu on /);
  assert.ok(r.min >= 0.9999, `min cosine ${r.min}`);
  await page.close();
});

for (const fault of ["fail-readback", "lose-device"]) {
  test(`a GPU fault (${fault}) mid-batch in Chromium: same results, backend switches to the CPU`, async () => {
    const page = await openEncoderPage(browser, server.url, { backend: "gpu" });
    // Small batches, so the fault strikes in the middle of the call.
    const r = await compare(page, { step: 30, fault });
    assert.ok(r.min >= 0.9999, `min cosine ${r.min}`);
    assert.deepEqual(r.backend, { single: "cpu-simd", batch: "cpu-simd" });
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].kind, "fell-back");
    // The page keeps working on the CPU.
    await page.click("#embed");
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Embedded"));
    assert.match(await page.textContent("#status"), /on cpu-simd\.$/);
    await page.close();
  });
}
