// The Manifest V3 example (examples/extension) loads in Chromium (--load-extension) and in
// Firefox (a temporary add-on over WebDriver BiDi; Firefox runs the MV3 background as an event
// page from `background.scripts`, Chromium as a service worker: one manifest serves both) and
// returns recommendations from its own files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "../../scripts/serve.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/browser.mjs";
import puppeteer from "puppeteer-core";
import { FIREFOX, FIREFOX_PREFS } from "../../scripts/engines.mjs";

const dist = join(ROOT, "examples", "extension", "dist");
let context, profileDir;

before(async () => {
  execFileSync("bash", [join(ROOT, "examples", "extension", "build.sh")], { stdio: "inherit" });
  profileDir = mkdtempSync(join(tmpdir(), "localrec-ext-"));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${dist}`, `--load-extension=${dist}`],
  });
});
after(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

test("the extension page recommends films, and follows a wish", async () => {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30_000 }));
  const id = new URL(worker.url()).host;
  const page = await context.newPage();
  await page.goto(`chrome-extension://${id}/recommend.html`);
  await page.waitForFunction(() => window.localrecExtension?.state !== "loading", null, { timeout: 180_000 });
  const [state, error] = await page.evaluate(() => [window.localrecExtension.state, window.localrecExtension.error]);
  assert.equal(state, "ready", error);
  assert.match(await page.textContent("#status"), /Ready: 11000 films, cpu-simd/);
  assert.equal(await page.locator("#results li").count(), 8);
  const before = await page.$$eval("#results li", (l) => l.map((x) => x.dataset.id).join());
  await page.fill("#ask", "a Christmas family comedy");
  await page.click("#ask-form button");
  await page.waitForFunction((b) => [...document.querySelectorAll("#results li")].map((x) => x.dataset.id).join() !== b, before);
  assert.match(await page.textContent("#results li .why"), /a Christmas family comedy/);
});

test("the extension loads in Firefox too, and follows a wish", async () => {
  const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
  const addonId = manifest.browser_specific_settings.gecko.id;
  // Firefox gives each add-on a random internal UUID per profile; fixing it gives the page a known URL.
  const uuid = "6b0c3d5e-2f4a-4e8b-9a1c-7d2e5f3a9b10";
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, "extensions.webextensions.uuids": JSON.stringify({ [addonId]: uuid }) },
  });
  try {
    const installed = await browser.installExtension(dist);
    assert.equal(installed, addonId);
    // WebDriver may not navigate to moz-extension:// URLs: the add-on opens its page itself
    // when installed temporarily (background.js), and the test finds that tab (its target
    // reports about:blank over BiDi, so each page is asked where it is).
    const url = `moz-extension://${uuid}/recommend.html`;
    let page = null;
    for (const until = Date.now() + 30_000; !page && Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      for (const p of await browser.pages()) {
        if ((await p.evaluate(() => location.href).catch(() => "")) === url) page = p;
      }
    }
    assert.ok(page, `the add-on opened ${url}`);
    await page.waitForFunction(() => window.localrecExtension?.state !== "loading", { timeout: 180_000 });
    const [state, error] = await page.evaluate(() => [window.localrecExtension.state, window.localrecExtension.error]);
    assert.equal(state, "ready", error);
    assert.match(await page.$eval("#status", (e) => e.textContent), /Ready: 11000 films, cpu-simd/);
    assert.equal(await page.$$eval("#results li", (l) => l.length), 8);
    const before = await page.$$eval("#results li", (l) => l.map((x) => x.dataset.id).join());
    await page.$eval("#ask", (e) => (e.value = "a Christmas family comedy"));
    await page.click("#ask-form button");
    await page.waitForFunction((b) => [...document.querySelectorAll("#results li")].map((x) => x.dataset.id).join() !== b, {}, before);
    assert.match(await page.$eval("#results li .why", (e) => e.textContent), /a Christmas family comedy/);
  } finally {
    await browser.close();
  }
});
