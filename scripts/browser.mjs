// Launches Debian's Chromium headless through playwright-core, with the flags this
// machine needs (no sandbox as root, no background traffic). Shared by the demo
// script and the browser tests; never downloads a browser.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh browser (Playwright gives each launch a new, empty profile). */
export async function launchChromium({ webgpu = false } = {}) {
  const args = [...CHROMIUM_ARGS];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

/** Opens the encoder page (www/encoder.html) and waits until its encoder is loaded; returns the page. */
export async function openEncoderPage(browser, baseUrl, { model, backend, simd } = {}) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  const params = new URLSearchParams();
  if (model) params.set("model", model);
  if (backend) params.set("backend", backend);
  if (simd) params.set("simd", simd);
  const query = params.size ? `?${params}` : "";
  await page.goto(`${baseUrl}/encoder.html${query}`);
  await page.waitForFunction(() => window.localrecDemo?.state !== "loading", null, { timeout: 120_000 });
  const state = await page.evaluate(() => window.localrecDemo.state);
  if (state !== "ready") {
    const why = await page.evaluate(() => window.localrecDemo.error);
    throw new Error(`demo page failed to load: ${why} ${errors.join("; ")}`);
  }
  return page;
}
