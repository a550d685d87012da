// The wasm encoder in headless Chromium, driven through the encoder page (www/encoder.html):
// parity with PyTorch on the 269 reference texts, typed errors, and the page UI.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { launchChromium, openEncoderPage } from "../../scripts/browser.mjs";
import { referenceParity } from "./parity.mjs";

const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
assert.ok(existsSync(join(SHARED, "reference")), `${SHARED}/reference missing: set LOCALREC_SHARED`);

let server, browser;
before(async () => {
  server = await startServer({ routes: { "/reference/": join(SHARED, "reference") } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Embeds every reference text in the page; returns min / mean cosine vs PyTorch. */
const parityIn = (page) => page.evaluate(referenceParity);

for (const [simd, gemm] of [
  ["relaxed-simd", "narrow"],
  ["simd128", "wide"],
]) {
  test(`int8 bundle in Chromium, ${simd} build, matches PyTorch (min cosine >= 0.995)`, async () => {
    const page = await openEncoderPage(browser, server.url, { simd });
    assert.deepEqual(await page.evaluate(() => [window.localrecDemo.simd, window.localrecDemo.encoder.gemm]), [simd, gemm]);
    const r = await parityIn(page);
    console.log(`chromium int8 ${simd}: n=${r.n} min=${r.min.toFixed(5)} mean=${r.mean.toFixed(5)} worst=${JSON.stringify(r.worst)}`);
    assert.equal(r.n, 269);
    assert.equal(r.dims, 384);
    assert.ok(r.min >= 0.995, `min cosine ${r.min}`);
    await page.close();
  });
}

test("the encoder page picks the relaxed-SIMD build where Chromium validates it", async () => {
  const page = await openEncoderPage(browser, server.url);
  const [simd, validates] = await page.evaluate(async () => {
    const { relaxedSimdSupported } = await import("/js/simd.js");
    return [window.localrecDemo.simd, relaxedSimdSupported()];
  });
  assert.equal(validates, true, "Chromium runs relaxed SIMD");
  assert.equal(simd, "relaxed-simd");
  await page.close();
});

test("f32 bundle in Chromium matches PyTorch (min cosine >= 0.99999)", async () => {
  const page = await openEncoderPage(browser, server.url, { model: "minilm-l6-v2-f32.lrm" });
  const r = await parityIn(page);
  console.log(`chromium f32: n=${r.n} min=${r.min.toFixed(7)} mean=${r.mean.toFixed(7)}`);
  assert.ok(r.min >= 0.99999, `min cosine ${r.min}`);
  await page.close();
});

test("bad input reaches JS as Errors with a message, and the encoder keeps working", async () => {
  const page = await openEncoderPage(browser, server.url);
  const out = await page.evaluate(async () => {
    const { Encoder } = await import("/pkg/localrec.js");
    const bytes = new Uint8Array(await (await fetch("/models/minilm-l6-v2-int8.lrm")).arrayBuffer());
    const attempt = (f) => {
      try {
        f();
        return "no error";
      } catch (e) {
        return `${e instanceof Error ? "Error" : typeof e}: ${e.message}`;
      }
    };
    const corrupt = bytes.slice();
    corrupt[corrupt.length >> 1] ^= 0x55;
    const future = bytes.slice(0, 64);
    future[8] = 99;
    const enc = window.localrecDemo.encoder;
    return {
      garbage: attempt(() => Encoder.load(new TextEncoder().encode("definitely not a model bundle"))),
      truncated: attempt(() => Encoder.load(bytes.slice(0, bytes.length - 1000))),
      corrupt: attempt(() => Encoder.load(corrupt)),
      future: attempt(() => Encoder.load(future)),
      notBytes: attempt(() => Encoder.load("model.lrm")),
      embedNumber: attempt(() => enc.embed(42)),
      batchNotArray: attempt(() => enc.embedBatch("text")),
      batchMixed: attempt(() => enc.embedBatch(["ok", null])),
      stillWorks: enc.embed("still fine after all that").length,
      empty: Array.from(enc.embed("")).every(Number.isFinite),
      huge: Array.from(enc.embed("a long review. ".repeat(70_000))).every(Number.isFinite),
      hugeTokens: enc.tokenCount("a long review. ".repeat(70_000)),
      odd: Array.from(enc.embedBatch(["e\u0301\u0302", "中文", "👍🏽", "مرحبا"])).every(Number.isFinite),
    };
  });
  assert.match(out.garbage, /^Error: not a localrec model bundle/);
  assert.match(out.truncated, /^Error: model bundle is truncated/);
  assert.match(out.corrupt, /^Error: model bundle checksum mismatch/);
  assert.match(out.future, /^Error: model bundle format version 99 is not supported/);
  assert.match(out.notBytes, /^Error: .*Uint8Array/);
  assert.match(out.embedNumber, /^Error: embed\(text\): text must be a string/);
  assert.match(out.batchNotArray, /^Error: embedBatch\(texts\): texts must be an array/);
  assert.match(out.batchMixed, /^Error: embedBatch\(texts\): texts\[1\] must be a string/);
  assert.equal(out.stillWorks, 384);
  assert.ok(out.empty && out.huge && out.odd);
  assert.equal(out.hugeTokens, 256);
  await page.close();
});

test("the encoder page embeds what the user types", async () => {
  const page = await openEncoderPage(browser, server.url);
  await page.fill("#texts", "short funny reads\nquick comic novels\nthe history of the Ottoman empire");
  await page.click("#embed");
  await page.waitForFunction(() => document.querySelectorAll("#results tbody tr").length === 3);
  const cos = await page.$$eval("#results tbody tr td:last-child", (tds) => tds.map((t) => Number(t.textContent)));
  assert.equal(cos[0], 1);
  assert.ok(cos[1] > cos[2], `similar texts should be closer: ${cos}`);
  assert.match(await page.textContent("#status"), /Embedded 3 texts/);
  await page.close();
});
