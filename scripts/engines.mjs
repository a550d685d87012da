// One small driver over the three browser engines this kind of machine has, all from Debian
// and npm (never a browser download tool):
//   chromium — Debian chromium through playwright-core (scripts/browser.mjs);
//   firefox  — Debian firefox-esr through puppeteer-core over WebDriver BiDi;
//   webkit   — Debian webkit2gtk-driver (WebKitWebDriver) + MiniBrowser through
//              selenium-webdriver, on an Xvfb display of its own (MiniBrowser has no headless mode).
// A tab offers what the cross-engine tests need and nothing engine-specific:
// goto, reload, evaluate(fn, arg) (fn runs in the page; its result must be JSON), waitFor.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import puppeteer from "puppeteer-core";
import { Builder, Capabilities } from "selenium-webdriver";
import { launchChromium } from "./browser.mjs";

export const ALL_ENGINES = ["chromium", "firefox", "webkit"];
/** The engines to run: all, or a comma-separated subset in LOCALREC_ENGINES (a developer's shortcut). */
export const ENGINES = process.env.LOCALREC_ENGINES ? process.env.LOCALREC_ENGINES.split(",") : ALL_ENGINES;

export const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER ?? "/usr/bin/WebKitWebDriver";
export const MINIBROWSER = process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** Firefox preferences for a quiet test profile: no updates, telemetry or background traffic. */
export const FIREFOX_PREFS = {
  "app.update.enabled": false,
  "app.update.auto": false,
  "toolkit.telemetry.enabled": false,
  "toolkit.telemetry.unified": false,
  "datareporting.healthreport.uploadEnabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "browser.safebrowsing.downloads.enabled": false,
  "extensions.update.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
};

/** Launches `name` (one of ENGINES) with a fresh, empty profile. */
export async function launchEngine(name) {
  switch (name) {
    case "chromium":
      return chromiumEngine();
    case "firefox":
      return firefoxEngine();
    case "webkit":
      return webkitEngine();
    default:
      throw new Error(`unknown engine ${name}: one of ${ALL_ENGINES.join(", ")}`);
  }
}

const poll = async (check, timeout, what) => {
  const until = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A tab over an object with `evaluate(fn, arg)`, `goto(url)`, `reload()`, `close()`. */
function tab(raw) {
  return {
    ...raw,
    waitFor: (fn, arg, { timeout = 60_000 } = {}) => poll(() => raw.evaluate(fn, arg), timeout, String(fn).slice(0, 80)),
  };
}

async function chromiumEngine() {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  return {
    name: "chromium",
    version: browser.version(),
    async newTab() {
      const page = await context.newPage();
      return tab({
        goto: (url) => page.goto(url),
        reload: () => page.reload(),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        close: () => page.close(),
      });
    },
    close: () => browser.close(),
  };
}

async function firefoxEngine() {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  });
  return {
    name: "firefox",
    version: await browser.version(),
    async newTab() {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      return tab({
        goto: (url) => page.goto(url, { waitUntil: "load" }),
        reload: () => page.reload({ waitUntil: "load" }),
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        close: () => page.close(),
      });
    },
    close: () => browser.close(),
  };
}

const freePort = () =>
  new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

/** An X display for MiniBrowser: the caller's DISPLAY, else an Xvfb of our own. */
async function display() {
  if (process.env.DISPLAY) return { name: process.env.DISPLAY, stop: () => {} };
  for (let n = 90 + Math.floor(Math.random() * 100); ; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const xvfb = spawn("Xvfb", [`:${n}`, "-screen", "0", "1280x900x24", "-nolisten", "tcp"], { stdio: "ignore" });
    const failed = new Promise((_, fail) => xvfb.once("exit", (code) => fail(new Error(`Xvfb :${n} exited (${code})`))));
    failed.catch(() => {});
    await Promise.race([poll(() => existsSync(`/tmp/.X11-unix/X${n}`), 10_000, `Xvfb :${n}`), failed]);
    return { name: `:${n}`, stop: () => xvfb.kill() };
  }
}

async function webkitEngine() {
  const screen = await display();
  const port = await freePort();
  const server = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
    stdio: "ignore",
    env: { ...process.env, DISPLAY: screen.name },
  });
  const stop = () => {
    server.kill();
    screen.stop();
  };
  try {
    await poll(async () => (await fetch(`http://127.0.0.1:${port}/status`).catch(() => null))?.ok, 10_000, "WebKitWebDriver");
    const caps = new Capabilities({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] },
    });
    const driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(caps).build();
    await driver.manage().setTimeouts({ script: 300_000, pageLoad: 300_000 });
    const version = (await driver.getCapabilities()).get("browserVersion");
    let opened = false;
    return {
      name: "webkit",
      version,
      async newTab() {
        // One window per session: MiniBrowser under WebDriver drives one top-level browsing context.
        if (opened) throw new Error("webkit: one tab per engine in these tests");
        opened = true;
        return tab({
          goto: (url) => driver.get(url),
          reload: () => driver.navigate().refresh(),
          evaluate: async (fn, arg) => {
            const out = await driver.executeAsyncScript(
              `const arg = arguments[0], done = arguments[arguments.length - 1];
               Promise.resolve().then(() => (${fn})(arg)).then(
                 (value) => done({ value: value === undefined ? null : value }),
                 (e) => done({ error: String((e && e.stack) || e) }));`,
              arg ?? null,
            );
            if (out.error) throw new Error(`in the page: ${out.error}`);
            return out.value;
          },
          close: async () => {},
        });
      },
      async close() {
        await driver.quit().catch(() => {});
        stop();
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}
