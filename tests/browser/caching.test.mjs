// Honest progress and caching in headless Chromium: download progress counts decoded bytes
// against the file's real size when the host compresses (content-length then counts the
// compressed bytes), and cached assets are revalidated — an unchanged file costs a 304 and
// no download, a file replaced at the same URL reaches the next visit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/browser.mjs";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function ready(p) {
  await p.waitForFunction(() => window.localrecShop?.state !== "loading", null, { timeout: 180_000 });
  const state = await p.evaluate(() => [window.localrecShop.state, window.localrecShop.error]);
  assert.equal(state[0], "ready", `shop failed: ${state[1]}`);
}

const SIZES = {
  model: statSync(join(ROOT, "models/build/minilm-l6-v2-int8.lrm")).size,
  catalogue: statSync(join(ROOT, "models/build/films.lri")).size,
};

// Chromium asks for gzip, deflate, br and zstd, also from http://127.0.0.1.
for (const compress of ["gzip", "br"]) test(`progress counts decoded bytes against the real size when the host sends ${compress}`, async () => {
  const server = await startServer({ compress });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await ready(page);
    const encoded = server.served.filter((s) => /\.(lrm|lri)$/.test(s.path));
    assert.deepEqual(encoded.map((s) => s.encoding), [compress, compress], `both assets went out ${compress}-encoded`);
    const progress = await page.evaluate(() => window.localrecShop.progress);
    for (const [file, size] of Object.entries(SIZES)) {
      const events = progress.filter((p) => p.file === file);
      assert.ok(events.length > 1, `${file}: ${events.length} progress events`);
      for (const p of events) {
        // From the first 24 bytes on, the total is the file's own size, never the compressed one.
        if (p.loaded >= 24) assert.equal(p.total, size, `${file}: ${JSON.stringify(p)}`);
        assert.ok(p.loaded <= size, `${file}: past 100 %: ${JSON.stringify(p)}`);
      }
      assert.deepEqual([events.at(-1).loaded, events.at(-1).total], [size, size]);
    }
  } finally {
    await context.close();
    await server.close();
  }
});

test("an unchanged catalogue costs a 304, a replaced one reaches the next visit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "localrec-catalogue-"));
  const catalogue = join(dir, "catalogue.lri");
  copyFileSync(join(ROOT, "models/build/films.lri"), catalogue);
  const server = await startServer({ routes: { "/catalogue.lri": catalogue } });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await ready(page);
    assert.equal(await page.evaluate(() => window.localrecShop.rec.items), 11000);

    // Unchanged: each asset is asked about once, answered 304, read from the Cache API.
    let mark = server.served.length;
    await page.reload();
    await ready(page);
    const checked = server.served.slice(mark).filter((s) => /\.(lrm|lri)$/.test(s.path));
    assert.deepEqual(checked.map((s) => s.status), [304, 304], JSON.stringify(checked));
    const progress = await page.evaluate(() => window.localrecShop.progress);
    assert.ok(progress.some((p) => p.file === "catalogue" && p.cached), "catalogue read from the cache");

    // Replaced at the same URL (another catalogue, same model): the next visit downloads it.
    const bin = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug", "localrec");
    execFileSync(bin, ["index", "build", "--catalogue", join(ROOT, "tests/fixtures/shop.jsonl"), "-o", `${catalogue}.new`], {
      cwd: ROOT,
      stdio: "pipe",
    });
    renameSync(`${catalogue}.new`, catalogue);
    mark = server.served.length;
    await page.reload();
    await ready(page);
    const fetched = server.served.slice(mark).filter((s) => s.path.endsWith(".lri"));
    assert.deepEqual(fetched.map((s) => s.status), [200]);
    assert.equal(await page.evaluate(() => window.localrecShop.rec.items), 22);
  } finally {
    await context.close();
    await server.close();
  }
});
