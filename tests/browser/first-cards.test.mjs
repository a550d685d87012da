// First cards before the model, in headless Chromium: the shop shows its cold-start list as soon
// as the catalogue has arrived, while the model's download is held back; a wish typed before the
// model waits for it (visibly, with the download's progress), in order with a like given after
// it, and is read once the model is in. Also the wasm Engine's two-step load and the package's
// model state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/browser.mjs";

const MODEL = "/models/minilm-l6-v2-int8.lrm";
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh visit whose model request is held until `release()`; `served()` says whether it was answered. */
async function visitHoldingModel(url = "/") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  let release;
  const held = new Promise((ok) => (release = ok));
  let answered = false;
  // The worker fetches the model: routing the context catches its request too.
  await context.route(`**${MODEL}`, async (route) => {
    await held;
    await route.continue();
  });
  context.on("requestfinished", (r) => {
    if (r.url().endsWith(MODEL)) answered = true;
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${server.url}${url}`);
  return { context, page, release, served: () => answered, errors };
}

const ids = (page) => page.$$eval("#results .card", (cards) => cards.map((c) => c.dataset.id));

test("the first cards show before the model is loaded; a wish waits for it, visibly, and is read after", async () => {
  const { context, page, release, served, errors } = await visitHoldingModel();
  try {
    await page.waitForFunction(() => document.querySelectorAll("#results .card").length === 12, null, { timeout: 120_000 });
    const early = await page.evaluate(() => ({
      state: window.localrecShop.state,
      model: window.localrecShop.model,
      modelState: window.localrecShop.rec.modelState,
      firstCardsAt: window.localrecShop.firstCardsAt,
      loadingHidden: document.getElementById("loading").hidden,
    }));
    assert.equal(served(), false, "the model was still held when the cards showed");
    assert.deepEqual(
      { ...early, firstCardsAt: typeof early.firstCardsAt },
      { state: "loading", model: "loading", modelState: "loading", firstCardsAt: "number", loadingHidden: true },
    );
    const cold = await ids(page);
    const coldRanking = await page.evaluate(async () => (await window.localrecShop.rec.recommend({ k: 12 })).map((c) => c.id));
    assert.match(await page.textContent("#results .card .why"), /popular/);
    // The wish box says what it waits for, and that likes work now.
    assert.equal(await page.isVisible("#ask-state"), true);
    assert.match(await page.textContent("#ask-state"), /^Understanding text once the model has loaded.*likes and stars work now/);

    // A wish before the model: it waits, and says so.
    await page.fill("#ask", "a short, light, funny comedy to laugh at");
    await page.click("#ask-form button");
    await page.waitForFunction(() => document.getElementById("ask-form").dataset.waiting === "1");
    assert.match(await page.textContent("#ask-state"), /^Got “a short, light, funny comedy to laugh at”: understanding text once the model has loaded/);
    assert.equal(await page.inputValue("#ask"), "", "the box is free for the next wish");
    // A like after the wish waits behind it: changes apply in the order they were given.
    const liked = cold[3];
    const likeDone = page.evaluate((id) => window.localrecShop.rec.feedback({ item: id, kind: "like" }).then((p) => p.signals.length), liked);
    likeDone.catch(() => {}); // (awaited below; a failure before then must not hide the first one)
    await page.waitForTimeout(500);
    const meanwhile = await page.evaluate(async () => ({
      signals: (await window.localrecShop.rec.profile()).signals.length,
      top: (await window.localrecShop.rec.recommend({ k: 12 })).map((c) => c.id),
    }));
    assert.equal(meanwhile.signals, 0, "nothing applied while the wish waits for the model");
    assert.deepEqual(meanwhile.top, coldRanking, "recommend answers at once, from what is applied");
    assert.deepEqual(await ids(page), cold, "the list waits too");

    // Now the model comes: its download's progress shows in the line under the box.
    const watch = page.evaluate(() => new Promise((ok) => {
      const seen = new Set();
      const line = document.getElementById("ask-state");
      const note = () => {
        const m = line.textContent.match(/\((\d+) %\)/);
        if (m) seen.add(Number(m[1]));
        if (window.localrecShop.model !== "loading") {
          observer.disconnect();
          ok([...seen]);
        }
      };
      const observer = new MutationObserver(note);
      observer.observe(line, { childList: true, characterData: true, subtree: true, attributes: true });
      const timer = setInterval(() => {
        note();
        if (window.localrecShop.model !== "loading") clearInterval(timer);
      }, 5);
    }));
    release();
    const percents = await watch;
    await page.waitForFunction(() => window.localrecShop.state !== "loading", null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => window.localrecShop.state), "ready", errors.join("; "));
    assert.ok(percents.length > 0, "the download's progress was shown as a percentage");
    assert.ok(percents.every((p) => p >= 0 && p <= 100), `${percents}`);

    // The wish was read, then the like: both in the profile, in that order, and the list follows the wish.
    assert.equal(await likeDone, 2);
    await page.waitForFunction(() => [...document.querySelectorAll("#results .card .why")].some((w) => w.textContent.includes("because you said")), null, { timeout: 60_000 });
    const profile = await page.evaluate(() => window.localrecShop.rec.profile());
    assert.deepEqual(profile.signals.map((s) => s.text ?? s.item), ["a short, light, funny comedy to laugh at", liked]);
    assert.match(await page.textContent("#signals"), /you said “a short, light, funny comedy to laugh at”/);
    const genres = await page.$$eval("#results .card .genres", (g) => g.slice(0, 6).map((x) => x.textContent));
    assert.ok(genres.filter((g) => g.includes("Comedy")).length >= 4, `mostly comedies: ${genres}`);
    assert.equal(await page.isVisible("#ask-state"), false, "no waiting state once the model is in");
    assert.equal(await page.evaluate(() => document.getElementById("ask-form").dataset.waiting), "0");
    await page.evaluate(() => window.localrecShop.rec.clearProfile());
  } finally {
    release();
    await context.close();
  }
});

test("a model that cannot be loaded: the shop keeps its cards, says why, and text is a named rejection", async () => {
  const context = await browser.newContext();
  try {
    await context.route(`**${MODEL}`, (route) => route.fulfill({ status: 200, contentType: "application/octet-stream", body: Buffer.from("LRMODEL\0 not a bundle") }));
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.localrecShop?.state === "failed", null, { timeout: 120_000 });
    assert.equal((await ids(page)).length, 12, "the cold-start list stays");
    assert.match(await page.textContent("#ask-state"), /The model could not be loaded .*likes and stars still work/);
    const out = await page.evaluate(async () => {
      const rec = window.localrecShop.rec;
      const named = (p) => p.then(() => "resolved", (e) => `${e.name}: ${e.message}`);
      const top = await rec.recommend({ k: 3 });
      return {
        modelState: rec.modelState,
        ready: await named(rec.modelReady),
        text: await named(rec.feedback({ text: "a heist film" })),
        like: (await rec.feedback({ item: top[0].id, kind: "like" })).signals.length,
      };
    });
    assert.equal(out.modelState, "failed");
    assert.match(out.ready, /^Corrupt: /);
    assert.match(out.text, /^ModelNotLoaded: feedback text needs the model, which could not be loaded/);
    assert.equal(out.like, 1, "feedback on items still works");
  } finally {
    await context.close();
  }
});

test("LocalRec.create({ waitForModel }) resolves with the model in; by default it resolves before", async () => {
  const { context, page, release } = await visitHoldingModel("/encoder.html");
  try {
    const early = await page.evaluate(async () => {
      const { LocalRec } = await import("/js/index.js");
      const rec = await LocalRec.create({ model: "/models/minilm-l6-v2-int8.lrm", catalogue: "/catalogue.lri" });
      const events = [];
      rec.addEventListener("modelready", () => events.push("modelready"));
      window.early = { rec, events };
      return { modelState: rec.modelState, items: rec.items, top: (await rec.recommend({ k: 3 })).length };
    });
    assert.deepEqual(early, { modelState: "loading", items: 11000, top: 3 });
    release();
    const later = await page.evaluate(async () => {
      const { rec, events } = window.early;
      await rec.modelReady;
      const first = { modelState: rec.modelState, events: [...events] };
      rec.terminate();
      const { LocalRec } = await import("/js/index.js");
      const waited = await LocalRec.create({ model: "/models/minilm-l6-v2-int8.lrm", catalogue: "/catalogue.lri", waitForModel: true });
      const state = waited.modelState;
      waited.terminate();
      return { ...first, waited: state };
    });
    assert.deepEqual(later, { modelState: "ready", events: ["modelready"], waited: "ready" });
  } finally {
    release();
    await context.close();
  }
});

test("the wasm Engine loads the catalogue alone, refuses text with ModelNotLoaded, and takes the model later", async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/encoder.html`);
    const out = await page.evaluate(async () => {
      const { default: init, Engine } = await import("/pkg/localrec.js");
      await init({ module_or_path: "/pkg/localrec_bg.wasm" });
      const bytes = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
      const [model, catalogue] = await Promise.all([bytes("/models/minilm-l6-v2-int8.lrm"), bytes("/catalogue.lri")]);
      const named = (f) => {
        try {
          f();
          return "no error";
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      };
      const now = 1_700_000_000;
      const early = Engine.loadCatalogue(catalogue);
      const cold = early.recommend({ k: 5, now }).map((c) => c.id);
      const before = {
        modelLoaded: early.modelLoaded,
        dims: early.dims,
        items: early.items,
        text: named(() => early.feedback({ text: "a heist film with a clever twist", ts: now })),
        review: named(() => early.feedback({ item: cold[0], rating: 4, text: "loved it", ts: now })),
        signalsAfterText: early.profile().signals.length,
        like: named(() => early.feedback({ item: cold[1], kind: "like", ts: now })),
        badModel: named(() => early.attachModel(new Uint8Array([1, 2, 3]))),
        stillNoModel: early.modelLoaded,
      };
      early.attachModel(model);
      early.feedback({ text: "a heist film with a clever twist", ts: now + 1 });
      const late = early.recommend({ k: 10, now: now + 2 });
      // The same feedback with both loaded at once ranks the same.
      const both = Engine.load(model, catalogue);
      both.feedback({ item: cold[1], kind: "like", ts: now });
      both.feedback({ text: "a heist film with a clever twist", ts: now + 1 });
      const same = both.recommend({ k: 10, now: now + 2 });
      return {
        before,
        modelLoaded: early.modelLoaded,
        signals: early.profile().signals.length,
        late: late.map((c) => [c.id, c.score.toFixed(6)]),
        same: same.map((c) => [c.id, c.score.toFixed(6)]),
        bothModelId: both.modelId === early.modelId,
      };
    });
    assert.equal(out.before.modelLoaded, false);
    assert.equal(out.before.dims, 384);
    assert.equal(out.before.items, 11000);
    assert.equal(out.before.text, "ModelNotLoaded: feedback text needs the model, which is not loaded yet");
    assert.equal(out.before.review, "ModelNotLoaded: feedback text needs the model, which is not loaded yet");
    assert.equal(out.before.signalsAfterText, 0, "text before the model leaves no trace");
    assert.equal(out.before.like, "no error", "a like needs no model");
    assert.match(out.before.badModel, /^Corrupt: /);
    assert.equal(out.before.stillNoModel, false, "a bad bundle leaves the engine as it was");
    assert.equal(out.modelLoaded, true);
    assert.equal(out.signals, 2);
    assert.deepEqual(out.late, out.same, "attaching the model later ranks as loading both");
    assert.ok(out.bothModelId);
  } finally {
    await context.close();
  }
});
