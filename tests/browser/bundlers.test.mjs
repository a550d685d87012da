// The npm package inside bundled apps: a minimal app (tests/browser/fixtures/app)
// imports "localrec" by name; Vite and webpack each build it (module worker + wasm
// asset), and each built app returns recommendations in Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import webpack from "webpack";
import { startServer, ROOT } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/browser.mjs";

const apps = [];
let browser;

/** A copy of the fixture app with `localrec` linked into its node_modules. */
function makeApp(name) {
  const app = mkdtempSync(join(tmpdir(), `localrec-${name}-`));
  apps.push(app);
  cpSync(join(ROOT, "tests", "browser", "fixtures", "app"), app, { recursive: true });
  mkdirSync(join(app, "node_modules"));
  symlinkSync(ROOT, join(app, "node_modules", "localrec"));
  return app;
}

/** Serves a built app (plus the model and catalogue) and checks it in Chromium. */
async function check(dist) {
  const server = await startServer({ routes: { "/": dist } });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById("status").textContent !== "loading", null, { timeout: 180_000 });
    assert.equal(await page.textContent("#status"), "ready cpu-simd 5");
    assert.equal(await page.locator("#results li").count(), 5);
    await page.close();
  } finally {
    await server.close();
  }
}

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

test("a Vite-built app using the package recommends films", async () => {
  const app = makeApp("vite");
  // Module workers need `worker.format: "es"` (Vite's default, iife, cannot hold the wasm glue's import.meta).
  await build({ root: app, logLevel: "warn", worker: { format: "es" }, build: { outDir: join(app, "dist"), target: "es2022" } });
  await check(join(app, "dist"));
});

test("a webpack-built app using the package recommends films", async () => {
  const app = makeApp("webpack");
  const compiler = webpack({
    mode: "production",
    context: app,
    entry: "./main.js",
    output: { path: join(app, "dist"), filename: "main.js", module: true, publicPath: "auto" },
    experiments: { outputModule: true },
    resolve: { symlinks: false },
    performance: { hints: false },
  });
  const stats = await new Promise((ok, fail) => compiler.run((e, s) => (e ? fail(e) : ok(s))));
  assert.ok(!stats.hasErrors(), stats.toString("errors-only"));
  copyFileSync(join(app, "index.html"), join(app, "dist", "index.html"));
  await check(join(app, "dist"));
});
