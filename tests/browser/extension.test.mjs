// The Manifest V3 example (examples/extension) loads in Chromium with
// --load-extension and returns recommendations from its own files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "../../scripts/serve.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/browser.mjs";

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
