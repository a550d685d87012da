// The demo shop and the encoder in every browser engine this kind of machine has: Chromium
// (playwright-core), Firefox ESR (puppeteer-core, WebDriver BiDi) and WebKitGTK's MiniBrowser
// (selenium-webdriver, WebKitWebDriver, on an Xvfb display) — scripts/engines.mjs. The same
// checks run in each; what differs between engines is stated per engine below, never skipped.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { ENGINES, launchEngine } from "../../scripts/engines.mjs";
import { referenceParity } from "./parity.mjs";

const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
assert.ok(existsSync(join(SHARED, "reference")), `${SHARED}/reference missing: set LOCALREC_SHARED`);

/** What each engine does here (Debian packages of 2026-12: Chromium 156, Firefox ESR 153, WebKitGTK 2.50). */
const EXPECT = {
  // Relaxed SIMD validates: the narrow int8 product.
  chromium: { simd: "relaxed-simd", gemm: "narrow", keepsCacheAcrossReload: true },
  firefox: { simd: "relaxed-simd", gemm: "narrow", keepsCacheAcrossReload: true },
  // No relaxed SIMD: the simd128 build. Under WebDriver its Cache API entries do not outlive the
  // first reload; the package notices (a warning) and downloads again.
  webkit: { simd: "simd128", gemm: "wide", keepsCacheAcrossReload: false },
};

// In-page helpers: each runs in the page (no closure over test variables), JSON in and out.
const shopState = () =>
  window.localrecShop && window.localrecShop.state !== "loading" ? [window.localrecShop.state, window.localrecShop.error] : null;
const topIds = () => [...document.querySelectorAll("#results .card")].slice(0, 12).map((c) => c.dataset.id);
const listChanged = (before) => {
  const ids = [...document.querySelectorAll("#results .card")].slice(0, 12).map((c) => c.dataset.id);
  return ids.length > 0 && ids.join() !== before.join() ? ids : null;
};
const ask = (text) => {
  document.querySelector("#ask").value = text;
  document.querySelector("#ask-form button").click();
  return true;
};
const click = (selector) => {
  document.querySelector(selector).click();
  return true;
};
const signalCount = () => document.querySelector("#signals").dataset.count;

for (const engine of ENGINES) {
  describe(`${engine}`, { concurrency: false }, () => {
    const expect = EXPECT[engine];
    let server, browser, tab;

    async function ready() {
      const [state, error] = await tab.waitFor(shopState, null, { timeout: 240_000 });
      assert.equal(state, "ready", `${engine}: shop failed: ${error}`);
    }
    async function act(fn, arg) {
      const before = await tab.evaluate(topIds);
      await tab.evaluate(fn, arg);
      return { before, after: await tab.waitFor(listChanged, before) };
    }

    before(async () => {
      server = await startServer({ routes: { "/reference/": join(SHARED, "reference") } });
      browser = await launchEngine(engine);
      tab = await browser.newTab();
      await tab.goto(`${server.url}/`);
      await ready();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test(`${engine}: the shop loads with the build the engine picks and useful progress`, async () => {
      const got = await tab.evaluate(() => ({
        simd: window.localrecShop.rec.simd,
        progress: window.localrecShop.progress,
        cards: document.querySelectorAll("#results .card").length,
      }));
      // (That this is what WebAssembly.validate says is checked on the encoder page, last:
      // importing the probe here would be a request after load.)
      assert.equal(got.simd, expect.simd, `${engine} (${browser.version})`);
      const wasm = server.served.filter((s) => s.path.endsWith(".wasm")).map((s) => s.path);
      const chosen = expect.simd === "relaxed-simd" ? "/pkg/localrec_relaxed_bg.wasm" : "/pkg/localrec_bg.wasm";
      assert.deepEqual(wasm, [chosen], "only the chosen build is downloaded");
      for (const file of ["model", "catalogue"]) {
        const events = got.progress.filter((p) => p.file === file);
        // A report when the answer starts (size known from content-length here), then as bytes arrive.
        assert.ok(events.length >= 2, `${file}: ${events.length} progress events`);
        assert.equal(events[0].loaded, 0);
        assert.ok(events.every((e, i) => i === 0 || e.loaded >= events[i - 1].loaded), "loaded never goes back");
        assert.ok(events.at(-1).total > 1e6 && events.at(-1).loaded === events.at(-1).total);
      }
      assert.equal(got.cards, 12);
    });

    test(`${engine}: text, like and not-interested move the ranking`, async () => {
      const said = await act(ask, "a short, light, funny comedy to laugh at");
      const genres = await tab.evaluate(() => [...document.querySelectorAll("#results .card .genres")].slice(0, 6).map((g) => g.textContent));
      assert.ok(genres.filter((g) => g.includes("Comedy")).length >= 4, `mostly comedies: ${genres}`);
      const ids = said.after;
      const liked = await act(click, `#results .card[data-id="${ids[1]}"] .like`);
      assert.ok(!liked.after.includes(ids[1]), "a liked film counts as seen");
      const nope = await act(click, `#results .card[data-id="${liked.after[0]}"] .nope`);
      assert.ok(!nope.after.includes(liked.after[0]));
      // The wish, the like and the not-interested: three signals.
      assert.equal(await tab.evaluate(signalCount), "3");
    });

    test(`${engine}: nothing is requested after load`, async () => {
      const answered = server.served.length;
      await act(ask, "a war film");
      await tab.evaluate(() => {
        const scene = document.querySelector("#scene");
        scene.value = "date";
        scene.dispatchEvent(new Event("change"));
        return true;
      });
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(server.served.slice(answered), []);
      const [shown, entries] = await tab.evaluate(() => [
        document.querySelector("#requests").textContent,
        performance.getEntriesByType("resource").map((e) => `${e.name} @${Math.round(e.startTime)}`),
      ]);
      assert.equal(shown, "0", `the page counts requests after load: ${entries.join(", ")}`);
      await tab.evaluate(() => {
        const scene = document.querySelector("#scene");
        scene.value = "";
        scene.dispatchEvent(new Event("change"));
        return true;
      });
    });

    test(`${engine}: the profile survives a reload; the cache is kept or its loss reported`, async () => {
      const signals = await tab.evaluate(signalCount);
      const answered = server.served.length;
      await tab.reload();
      await ready();
      assert.equal(await tab.evaluate(signalCount), signals);
      const assets = server.served.slice(answered).filter((s) => /\.(lrm|lri)$/.test(s.path));
      const warnings = await tab.evaluate(() => window.localrecShop.warnings);
      if (expect.keepsCacheAcrossReload) {
        assert.deepEqual(assets.map((s) => s.status), [304, 304], `revalidated, not downloaded: ${JSON.stringify(assets)}`);
        assert.deepEqual(warnings, []);
      } else {
        assert.deepEqual(assets.map((s) => s.status), [200, 200], JSON.stringify(assets));
        for (const file of ["model", "catalogue"]) {
          assert.ok(warnings.some((w) => w.startsWith(`the browser dropped the cached ${file}`)), `${file}: ${warnings}`);
        }
      }
    });

    test(`${engine}: forget me clears the profile, also after a reload`, async () => {
      await tab.evaluate(click, "#clear");
      await tab.waitFor(() => document.querySelector("#signals").dataset.count === "0");
      await tab.reload();
      await ready();
      assert.equal(await tab.evaluate(signalCount), "0");
    });

    test(`${engine}: the strict CSP holds with no violation`, async () => {
      const [csp, violations] = await tab.evaluate(() => [
        document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
        window.localrecShop.cspViolations,
      ]);
      assert.match(csp, /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'/);
      assert.deepEqual(violations, []);
    });

    test(`${engine}: bad input is a named rejection and the worker keeps working`, async () => {
      const out = await tab.evaluate(async () => {
        const rec = window.localrecShop.rec;
        const attempt = (f) => f().then(() => "no error", (e) => (e instanceof Error ? `${e.name}: ${e.message}` : `not an Error: ${e}`));
        return {
          unknown: await attempt(() => rec.feedback({ item: "No_Such_Film", kind: "like" })),
          badRating: await attempt(() => rec.feedback({ item: "Heat_(1995_film)", rating: 11 })),
          badK: await attempt(() => rec.recommend({ k: 0 })),
          badImport: await attempt(() => rec.importProfile(new Uint8Array([1, 2, 3]))),
          stillWorks: (await rec.recommend({ k: 3 })).length,
        };
      });
      assert.match(out.unknown, /^UnknownItem: /);
      assert.match(out.badRating, /^InvalidInput: .*rating: 11 is not on the 1–5 scale/);
      assert.match(out.badK, /^InvalidInput: .*invalid k/);
      assert.match(out.badImport, /^Corrupt: /);
      assert.equal(out.stillWorks, 3);
    });

    test(`${engine}: the encoder matches PyTorch with the build the engine picks (min cosine >= 0.995)`, async () => {
      await tab.goto(`${server.url}/encoder.html`);
      await tab.waitFor(() => window.localrecDemo && window.localrecDemo.state !== "loading", null, { timeout: 240_000 });
      const state = await tab.evaluate(() => [window.localrecDemo.state, window.localrecDemo.error]);
      assert.equal(state[0], "ready", state[1]);
      const r = await tab.evaluate(referenceParity);
      r.probe = await tab.evaluate(() => import("/js/simd.js").then((m) => m.chooseSimd("auto")));
      console.log(`${engine} ${browser.version} int8 ${r.simd}: n=${r.n} min=${r.min.toFixed(5)} mean=${r.mean.toFixed(5)}`);
      assert.deepEqual([r.simd, r.gemm], [expect.simd, expect.gemm]);
      assert.equal(r.probe, expect.simd, "the build choice follows WebAssembly.validate of a relaxed-SIMD module");
      assert.equal(r.n, 269);
      assert.ok(r.min >= 0.995, `min cosine ${r.min}`);
    });
  });
}
