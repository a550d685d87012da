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

// The simd128 build's CPU path and the GPU share weights and keep activations
// precise: they agree to 0.9999. The relaxed-SIMD build's GPU path uses its 7-bit
// weights but f32 activations while its CPU path rounds activations to 8 bits
// per block: they agree less closely (each is checked against PyTorch elsewhere).
for (const [simd, bound] of [
  ["simd128", 0.9999],
  ["relaxed-simd", 0.998],
]) {
  test(`WebGPU embeddings in Chromium match the ${simd} CPU path (cosine >= ${bound})`, async () => {
    const page = await openEncoderPage(browser, server.url, { backend: "gpu", simd });
    const status = await page.textContent("#status");
    const r = await compare(page, { step: 27 });
    console.log(`chromium webgpu (${simd}): adapter=${JSON.stringify(r.adapter?.name)} n=${r.n} min=${r.min.toFixed(6)} backend=${JSON.stringify(r.backend)}`);
    assert.ok(r.adapter, `no WebGPU adapter in Chromium: ${status}`);
    assert.deepEqual(r.backend, { single: "gpu", batch: "gpu" }, "the GPU ran the batch");
    assert.match(status, /backend gpu on /);
    assert.ok(r.min >= bound, `min cosine ${r.min}`);
    await page.close();
  });
}

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

/** In a page: an Engine on the film catalogue, its CPU ranking vs its WebGPU-scored ranking. */
async function rankings(page, { fault } = {}) {
  return page.evaluate(async ({ fault }) => {
    const m = await import("/pkg/localrec.js");
    await m.default();
    const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
    const engine = m.Engine.load(await bytes("/models/minilm-l6-v2-int8.lrm"), await bytes("/catalogue.lri"));
    const backend = await engine.useGpu("gpu");
    engine.takeBackendEvents();
    engine.feedback({ text: "short funny films for a rainy evening", ts: 1700000000 });
    engine.feedback({ text: "I don't want war films", ts: 1700000000 });
    const options = { k: 10, now: 1700000000 };
    const cpu = engine.recommend(options);
    if (fault) engine.injectGpuFault(fault, 0);
    const gpu = await engine.recommendAsync(options);
    // Calls in flight together take turns on the device (its error scopes are one stack).
    const together = await Promise.all([1, 2, 3].map(() => engine.recommendAsync(options)));
    return {
      together: together.map((list) => list.map((r) => r.id)),
      backend,
      after: engine.backend,
      events: engine.takeBackendEvents(),
      cpu: cpu.map((r) => [r.id, r.score]),
      gpu: gpu.map((r) => [r.id, r.score]),
    };
  }, { fault });
}

function sameRanking(r) {
  assert.equal(r.gpu.length, 10);
  for (const ids of r.together) assert.deepEqual(ids, r.cpu.map((x) => x[0]), "concurrent calls");
  assert.deepEqual(r.gpu.map((x) => x[0]), r.cpu.map((x) => x[0]), "same top-10");
  r.gpu.forEach((x, i) => assert.ok(Math.abs(x[1] - r.cpu[i][1]) <= 1e-3, `score ${x[1]} vs ${r.cpu[i][1]}`));
}

test("WebGPU catalogue scoring in Chromium: same top-10 and scores within 1e-3 as the CPU", async () => {
  const page = await openEncoderPage(browser, server.url, { backend: "cpu" });
  const r = await rankings(page);
  assert.equal(r.backend, "gpu");
  assert.equal(r.after, "gpu", "the GPU scored the ranking");
  sameRanking(r);
  await page.close();
});

test("a GPU fault while scoring in Chromium: same ranking from the CPU, backend switches", async () => {
  const page = await openEncoderPage(browser, server.url, { backend: "cpu" });
  const r = await rankings(page, { fault: "fail-readback" });
  sameRanking(r);
  assert.equal(r.after, "cpu-simd");
  assert.deepEqual(r.events.map((e) => e.kind), ["fell-back"]);
  await page.close();
});

test("the demo shop with ?backend=gpu scores on WebGPU and recommends", async () => {
  const page = await browser.newPage();
  const messages = [];
  page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
  await page.goto(`${server.url}/?backend=gpu`);
  // "ready" once every control is wired (an Enter before that would submit the form natively).
  await page.waitForFunction(() => window.localrecShop?.state !== "loading", null, { timeout: 180_000 });
  assert.equal(await page.evaluate(() => window.localrecShop.state), "ready");
  assert.equal(await page.textContent("#backend"), "gpu");
  const before = await page.evaluate(() => window.localrecShop.results.map((r) => r.id).join());
  await page.fill("#ask", "an animated film for kids");
  await page.press("#ask", "Enter");
  // Wait until the ranking reflects the wish (the cold-start list is already on screen).
  await page.waitForFunction((b) => window.localrecShop.results.map((r) => r.id).join() !== b, before, { timeout: 120_000 });
  assert.equal(await page.textContent("#backend"), "gpu", messages.join("\n"));
  await page.close();
});
