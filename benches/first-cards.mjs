// A first visit to the film shop over a throttled network, in Chromium: how long until the first
// cards show, and until the first list driven by a typed wish.
//   node benches/first-cards.mjs [--runs 5] [--down 10] [--latency 40] [--root DIR]
//
// Each run is a first visit: a new browser (empty profile, empty Cache API and IndexedDB), the
// HTTP cache disabled, and the page's network emulated over the DevTools protocol
// (Network.emulateNetworkConditions: --down Mbit/s down and up, --latency ms per request), which
// also holds for the requests of the worker that fetches the model and the catalogue.
// Times are read in the page (performance.now(), from the navigation's start) by an observer
// that the script adds before the shop's own code runs, so any version of the shop is measured
// the same way:
//   cards   the first card in the list;
//   typed   the wish typed and submitted, as soon as the shop takes it (its loading panel gone);
//   text    the first card whose reason quotes the wish ("because you said …");
//   ready   the shop's own state "ready" (model and catalogue loaded).
// --root DIR serves www/, js/ and pkg/ from another checkout (e.g. a worktree of an older
// commit); the model bundle and the catalogue index always come from this checkout's
// models/build (scripts/setup.sh builds them).
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { startServer } from "../scripts/serve.mjs";
import { launchChromium } from "../scripts/browser.mjs";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    down: { type: "string", default: "10" },
    latency: { type: "string", default: "40" },
    root: { type: "string" },
    wish: { type: "string", default: "a short, light, funny comedy to laugh at" },
  },
});
const runs = Number(values.runs);
const mbit = Number(values.down);
const latency = Number(values.latency);
for (const [name, v] of [["runs", runs], ["down", mbit], ["latency", latency]]) {
  if (!Number.isFinite(v) || v < (name === "latency" ? 0 : 1)) throw new Error(`--${name}: ${values[name]} is not a usable number`);
}
const routes = {};
if (values.root) {
  const root = resolve(values.root);
  Object.assign(routes, { "/": join(root, "www"), "/js/": join(root, "js"), "/pkg/": join(root, "pkg") });
}
const conditions = {
  offline: false,
  latency,
  downloadThroughput: (mbit * 1e6) / 8,
  uploadThroughput: (mbit * 1e6) / 8,
};

// Runs in the page before the shop's scripts: notes when the first card and the first card
// quoting the wish appear, and when the wish was submitted.
const observe = `(() => {
  const t = (window.__firstCards = { cards: null, typed: null, text: null, ready: null });
  const check = () => {
    if (t.cards === null && document.querySelector("#results .card")) t.cards = performance.now();
    if (t.typed !== null && t.text === null) {
      for (const w of document.querySelectorAll("#results .card .why")) {
        if (w.textContent.includes("because you said")) { t.text = performance.now(); break; }
      }
    }
    if (t.ready === null && window.localrecShop?.state === "ready") t.ready = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true, attributes: true });
  document.addEventListener("submit", () => { if (t.typed === null) t.typed = performance.now(); }, true);
  const poll = () => { check(); if (t.ready === null || t.text === null) setTimeout(poll, 20); };
  poll();
})();`;

/** Throttles the page's network through its CDP session. Chromium applies the page's conditions to
 * the requests of its dedicated workers too (checked: unthrottled, a whole visit takes ~3 s). */
async function throttle(session) {
  await session.send("Network.enable");
  await session.send("Network.setCacheDisabled", { cacheDisabled: true });
  await session.send("Network.emulateNetworkConditions", conditions);
}

async function visit(server) {
  const browser = await launchChromium();
  version = browser.version();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(observe);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await throttle(cdp);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    // Type the wish as soon as the shop takes it: when the loading panel goes (every version
    // of the shop hides it once its controls are wired), then submit it.
    await page.waitForFunction(() => document.getElementById("loading")?.hidden === true, null, { timeout: 600_000, polling: 20 });
    await page.fill("#ask", values.wish);
    await page.click("#ask-form button");
    await page.waitForFunction(() => window.__firstCards.text !== null && window.__firstCards.ready !== null, null, { timeout: 600_000, polling: 100 });
    const t = await page.evaluate(() => window.__firstCards);
    const state = await page.evaluate(() => [window.localrecShop.state, window.localrecShop.error]);
    if (state[0] !== "ready") throw new Error(`the shop failed: ${state[1]} ${errors.join("; ")}`);
    return t;
  } finally {
    await browser.close();
  }
}

const server = await startServer({ routes });
let version = "";
try {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await visit(server);
    results.push(r);
    const s = (ms) => (ms / 1000).toFixed(2).padStart(6);
    console.log(`run ${i + 1}: cards ${s(r.cards)} s  typed ${s(r.typed)} s  text-driven list ${s(r.text)} s  ready ${s(r.ready)} s`);
  }
  const stat = (key) => {
    const v = results.map((r) => r[key]).sort((a, b) => a - b);
    return `${(v[v.length >> 1] / 1000).toFixed(2)} s (${(v[0] / 1000).toFixed(2)}–${(v.at(-1) / 1000).toFixed(2)})`;
  };
  console.log(`${values.root ?? "this checkout"}, Chromium ${version}: ${runs} first visits at ${mbit} Mbit/s, ${latency} ms; median (min–max)`);
  console.log(`  first cards:            ${stat("cards")}`);
  console.log(`  wish submitted:         ${stat("typed")}`);
  console.log(`  first text-driven list: ${stat("text")}`);
  console.log(`  shop ready:             ${stat("ready")}`);
} finally {
  await server.close();
}
