// The demo storefront end to end in headless Chromium: load, ready, text
// feedback moves the ranking, like / not-interested move it again, reload keeps
// the profile, "forget me" clears it, nothing leaves the page after the initial
// assets, and a second visit reads model and catalogue from the Cache API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/browser.mjs";

let server, browser, context, page;
const requests = [];

async function ready(p) {
  await p.waitForFunction(() => window.localrecShop?.state !== "loading", null, { timeout: 180_000 });
  const state = await p.evaluate(() => [window.localrecShop.state, window.localrecShop.error]);
  assert.equal(state[0], "ready", `shop failed: ${state[1]}`);
}
const top = (p, n = 12) => p.$$eval("#results .card", (cards, n) => cards.slice(0, n).map((c) => c.dataset.id), n);
const tagsOfTop = (p, n) => p.$$eval("#results .card .genres", (g, n) => g.slice(0, n).map((x) => x.textContent), n);

before(async () => {
  server = await startServer();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on("request", (r) => requests.push({ url: r.url(), at: Date.now() }));
  page = await context.newPage();
  await page.goto(`${server.url}/`);
  await ready(page);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("the shop loads with the CPU SIMD backend and a cold-start list", async () => {
  const urls = requests.map((r) => r.url);
  assert.ok(urls.some((u) => u.endsWith("/models/minilm-l6-v2-int8.lrm")), `model fetched: ${urls}`);
  assert.ok(urls.some((u) => u.endsWith("/catalogue.lri")), "catalogue fetched");
  // Progress events stream in for both files while they download.
  const progress = await page.evaluate(() => window.localrecShop.progress);
  for (const file of ["model", "catalogue"]) {
    const events = progress.filter((p) => p.file === file);
    assert.ok(events.length > 1, `${file}: ${events.length} progress events`);
    assert.equal(events.at(-1).loaded, events.at(-1).total);
  }
  assert.equal(await page.textContent("#backend"), "cpu-simd");
  // Chromium runs relaxed SIMD: the package picks that build and downloads only it.
  assert.equal(await page.evaluate(() => window.localrecShop.rec.simd), "relaxed-simd");
  assert.ok(urls.some((u) => u.endsWith("/pkg/localrec_relaxed_bg.wasm")), "relaxed build fetched");
  assert.ok(!urls.some((u) => u.endsWith("/pkg/localrec_bg.wasm")), "simd128 build not fetched");
  const ids = await top(page);
  assert.equal(ids.length, 12);
  assert.match(await page.textContent("#results .card .why"), /popular/);
  assert.match(await page.textContent("#signals"), /Empty/);
});

test("text feedback moves the ranking toward it, with the reason shown", async () => {
  const before = await top(page);
  await page.fill("#ask", "a short, light, funny comedy to laugh at");
  await page.click("#ask-form button");
  await page.waitForFunction((b) => {
    const ids = [...document.querySelectorAll("#results .card")].map((c) => c.dataset.id);
    return ids.length > 0 && ids.join() !== b.join();
  }, before);
  const genres = await tagsOfTop(page, 6);
  assert.ok(genres.filter((g) => g.includes("Comedy")).length >= 4, `mostly comedies: ${genres}`);
  assert.match(await page.textContent("#results .card .why"), /because you said “a short, light, funny comedy/);
  assert.match(await page.textContent("#signals"), /you said “a short, light, funny comedy/);
});

test("the placeholder's words do what they say: short and funny, no horror", async () => {
  const placeholder = await page.getAttribute("#ask", "placeholder");
  const text = placeholder.replace(/^e\.g\.\s*/, "");
  assert.equal(text, "something short and funny, no horror please");
  const before = await top(page);
  await page.fill("#ask", text);
  await page.click("#ask-form button");
  await page.waitForFunction((b) => {
    const ids = [...document.querySelectorAll("#results .card")].map((c) => c.dataset.id);
    return ids.length > 0 && ids.join() !== b.join();
  }, before);
  const genres = await tagsOfTop(page, 12);
  assert.equal(genres.length, 12);
  assert.ok(!genres.some((g) => /Horror|Slasher/.test(g)), `no horror in the top 12: ${genres}`);
  assert.ok(genres.filter((g) => g.includes("Comedy")).length >= 6, `mostly comedies: ${genres}`);
  assert.match(await page.textContent("#results .card .why"), /kept out: Horror.*no horror please/);
  assert.match(await page.textContent("#signals"), /you said no to “horror”/);
  // A newer wish asks for it again: the rejection no longer holds.
  const kept = await top(page);
  await page.fill("#ask", "actually, horror films please");
  await page.click("#ask-form button");
  await page.waitForFunction((b) => {
    const ids = [...document.querySelectorAll("#results .card")].map((c) => c.dataset.id);
    return ids.length > 0 && ids.join() !== b.join();
  }, kept);
  // (The profile still wants comedies too, so the list mixes both.)
  const again = await tagsOfTop(page, 12);
  assert.ok(again.filter((g) => /Horror|Slasher/.test(g)).length >= 2, `horror is back: ${again}`);
  assert.doesNotMatch(await page.textContent("#results"), /kept out/);
});

test("like and not-interested change the list again", async () => {
  const ids = await top(page);
  await page.click(`#results .card[data-id="${ids[1]}"] .like`);
  await page.waitForFunction((id) => !document.querySelector(`#results .card[data-id="${id}"]`), ids[1]);
  const afterLike = await top(page);
  assert.ok(!afterLike.includes(ids[1]), "a liked film counts as seen");
  await page.click(`#results .card[data-id="${afterLike[0]}"] .nope`);
  await page.waitForFunction((id) => !document.querySelector(`#results .card[data-id="${id}"]`), afterLike[0]);
  assert.match(await page.textContent("#signals"), /not interested/);
});

test("a screenshot of the shop after feedback", async () => {
  // Written to target/ (docs/demo.png in the README is a copy of one such run).
  mkdirSync(join(ROOT, "target", "screenshots"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "target", "screenshots", "demo.png"), fullPage: false });
});

test("nothing leaves the page after the initial assets", async () => {
  const readyAt = Date.now();
  await page.fill("#ask", "a war film");
  await page.click("#ask-form button");
  await page.selectOption("#scene", "date");
  await page.selectOption("#decade", "1990s");
  await page.waitForTimeout(1500);
  const late = requests.filter((r) => r.at >= readyAt);
  assert.deepEqual(late.map((r) => r.url), [], "no request after load");
  assert.equal(await page.textContent("#requests"), "0");
  await page.selectOption("#scene", "");
  await page.selectOption("#decade", "");
});

test("reload keeps the profile, model and catalogue come from the cache", async () => {
  const signals = await page.getAttribute("#signals", "data-count");
  const first = requests.length;
  const answered = server.served.length;
  await page.reload();
  await ready(page);
  assert.equal(await page.getAttribute("#signals", "data-count"), signals);
  // Each asset is only asked about (a conditional request) and answered 304: no download.
  const again = server.served.slice(answered).filter((s) => /\.(lrm|lri)$/.test(s.path));
  assert.deepEqual(again.map((s) => s.status), [304, 304], `assets re-fetched: ${JSON.stringify(again)}`);

});

test("forget me clears the profile, here and after a reload", async () => {
  await page.click("#clear");
  await page.waitForFunction(() => document.querySelector("#signals").dataset.count === "0");
  assert.match(await page.textContent("#results .card .why"), /popular/);
  await page.reload();
  await ready(page);
  assert.equal(await page.getAttribute("#signals", "data-count"), "0");
});

test("the page runs under its strict CSP with no violation", async () => {
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
  assert.match(csp, /default-src 'self'; script-src 'self' 'wasm-unsafe-eval'/);
  assert.deepEqual(await page.evaluate(() => window.localrecShop.cspViolations), []);
});

test("corrupt cached files are downloaded again", async () => {
  await page.evaluate(async () => {
    const cache = await caches.open("localrec-assets-v1");
    const url = new URL("./catalogue.lri", location.href).href;
    await cache.put(url, new Response(new Uint8Array([76, 82, 73, 78, 68, 69, 88, 0, 1, 2, 3])));
  });
  const first = requests.length;
  await page.reload();
  await ready(page);
  const warnings = await page.evaluate(() => window.localrecShop.warnings);
  assert.ok(warnings.some((w) => w.includes("the cached catalogue was unusable") && w.includes("downloading it again")), `warnings: ${warnings}`);
  assert.ok(requests.slice(first).some((r) => r.url.endsWith("/catalogue.lri")), "catalogue re-fetched");
  assert.equal((await top(page)).length, 12);
});

test("without IndexedDB the profile lives in memory, with a warning", async () => {
  const out = await page.evaluate(async () => {
    // Hold the database open at a newer version: the worker's open() then fails.
    const blocker = await new Promise((ok, fail) => {
      const r = indexedDB.open("localrec", 99);
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
      r.onblocked = () => fail(new Error("blocked by an open connection"));
    });
    const { LocalRec } = await import("/js/index.js");
    const warnings = [];
    const rec = await LocalRec.create({
      model: "./models/minilm-l6-v2-int8.lrm",
      catalogue: "./catalogue.lri",
      onWarning: (w) => warnings.push(w.message),
    });
    const summary = await rec.feedback({ text: "a heist film with a clever twist" });
    const top = await rec.recommend({ k: 3 });
    rec.terminate();
    blocker.close();
    await new Promise((ok) => {
      const d = indexedDB.deleteDatabase("localrec");
      d.onsuccess = d.onerror = d.onblocked = () => ok();
    });
    return { persistent: rec.persistent, warnings, signals: summary.signals.length, top: top.length };
  });
  assert.equal(out.persistent, false);
  assert.ok(out.warnings.some((w) => w.includes("IndexedDB unavailable")), `${out.warnings}`);
  assert.equal(out.signals, 1);
  assert.equal(out.top, 3);
});

test("bad input from JS is a rejected promise and the worker keeps working", async () => {
  const out = await page.evaluate(async () => {
    const rec = window.localrecShop.rec;
    const attempt = async (f) => {
      try {
        await f();
        return "no error";
      } catch (e) {
        if (!(e instanceof Error)) return `not an Error: ${e}`;
        return `${e.name}: ${e.message}`;
      }
    };
    return {
      unknown: await attempt(() => rec.feedback({ item: "No_Such_Film", kind: "like" })),
      badKind: await attempt(() => rec.feedback({ item: "Heat_(1995_film)", kind: "love" })),
      badRating: await attempt(() => rec.feedback({ item: "Heat_(1995_film)", rating: 11 })),
      notObject: await attempt(() => rec.feedback("hello")),
      badK: await attempt(() => rec.recommend({ k: 0 })),
      badAlpha: await attempt(() => rec.recommend({ alpha: "high" })),
      badImport: await attempt(() => rec.importProfile(new Uint8Array([1, 2, 3]))),
      stillWorks: (await rec.recommend({ k: 3 })).length,
    };
  });
  // Each is an Error whose stable name says what kind of failure it is.
  assert.match(out.unknown, /^UnknownItem: .*unknown item id `No_Such_Film`/);
  assert.match(out.badKind, /^InvalidInput: .*unknown variant `love`/);
  assert.match(out.badRating, /^InvalidInput: .*rating: 11 is not on the 1–5 scale/);
  assert.match(out.notObject, /^InvalidInput: .*must be an object/);
  assert.match(out.badK, /^InvalidInput: .*invalid k/);
  assert.match(out.badAlpha, /^InvalidInput: .*recommend\(options\)/);
  assert.match(out.badImport, /^Corrupt: .*(profile is truncated|not a localrec profile)/);
  assert.equal(out.stillWorks, 3);
});

test("the worker always answers: unknown operations, terminate, a crash mid-call and a restart", async () => {
  const out = await page.evaluate(async () => {
    const { LocalRec } = await import("/js/index.js");
    const named = (p) => p.then((v) => `resolved: ${JSON.stringify(v)}`, (e) => `${e.name}: ${e.message}`);
    const options = { model: "./models/minilm-l6-v2-int8.lrm", catalogue: "./catalogue.lri" };

    // The worker's own protocol: an inherited key is not an operation.
    const raw = new Worker("/js/worker.js", { type: "module" });
    const answer = (msg) => new Promise((ok) => {
      raw.onmessage = ({ data }) => data.event || ok(data);
      raw.postMessage(msg);
    });
    const inherited = await answer({ id: 1, op: "constructor", args: [] });
    const early = await answer({ id: 2, op: "recommend", args: [{}] });
    raw.terminate();

    // terminate() with a call in flight: the call rejects, and so do later ones.
    const a = await LocalRec.create(options);
    const inFlight = named(a.recommend({ k: 5 }));
    a.terminate();
    const afterTerminate = await named(a.profile());

    // A crash with a call pending, then a trap: each call rejects as WorkerCrashed,
    // a "crash" event fires, and the next call runs on a new worker with the stored profile.
    const crashes = [];
    const b = await LocalRec.create({ ...options, onCrash: (c) => crashes.push(c) });
    await b.clearProfile();
    await b.feedback({ text: "a slow war epic" });
    const before = (await b.profile()).signals.length;
    const crashed = await named(b.injectFault("crash"));
    const restored = (await b.profile()).signals.length;
    const trapped = await named(b.injectFault("trap"));
    const top = (await b.recommend({ k: 4 })).length;
    const badFault = await named(b.injectFault("meteor"));
    await b.clearProfile();
    b.terminate();
    return { inherited: inherited.error, early: early.error, inFlight: await inFlight, afterTerminate, before, crashed, restored, trapped, top, badFault, crashes };
  });
  assert.deepEqual(out.inherited, { name: "UnknownOperation", message: "unknown operation constructor" });
  assert.equal(out.early.name, "NotInitialised");
  assert.match(out.inFlight, /^Terminated: /);
  assert.match(out.afterTerminate, /^Terminated: /);
  assert.equal(out.before, 1);
  assert.match(out.crashed, /^WorkerCrashed: .*injected crash/);
  assert.equal(out.restored, 1, "the restarted worker restored the stored profile");
  assert.match(out.trapped, /^WorkerCrashed: the engine trapped/);
  assert.equal(out.top, 4, "the worker restarted after the trap");
  assert.match(out.badFault, /^InvalidInput: /);
  assert.equal(out.crashes.length, 2, JSON.stringify(out.crashes));
  assert.ok(out.crashes.every((c) => c.restarts === true));
});

test("ratings on another scale: half stars are read as the native reader reads them", async () => {
  const out = await page.evaluate(async () => {
    const { LocalRec } = await import("/js/index.js");
    const options = { model: "./models/minilm-l6-v2-int8.lrm", catalogue: "./catalogue.lri" };
    const named = (p) => p.then((v) => "resolved", (e) => `${e.name}: ${e.message}`);
    const badScale = await named(LocalRec.create({ ...options, ratingScale: "5-1" }));
    const rec = await LocalRec.create({ ...options, ratingScale: "0.5-5" });
    await rec.clearProfile();
    const lowest = await rec.feedback({ item: "Heat_(1995_film)", rating: 0.5 });
    const offScale = await named(rec.feedback({ item: "Heat_(1995_film)", rating: 6 }));
    await rec.clearProfile();
    rec.terminate();
    return { badScale, weight: lowest.signals[0].weight, offScale };
  });
  assert.match(out.badScale, /^InvalidInput: .*rating scale/);
  // 0.5 of 0.5–5 is 1 star: the weight of a 1-star rating, (1 − 3) / 2 = −1.
  assert.equal(out.weight, -1);
  assert.match(out.offScale, /^InvalidInput: .*rating: 6 is not on the 0.5–5 scale/);
});
