// Embeds texts (one per line on stdin, or the arguments) with the wasm encoder
// in headless Chromium, through the demo page, and prints one line per text:
// its first dimensions, and the cosine to the native CLI's vector when given
// one (--native FILE holding the CLI's JSON lines).
import { readFileSync } from "node:fs";
import { startServer } from "./serve.mjs";
import { launchChromium, openEncoderPage } from "./browser.mjs";

const args = process.argv.slice(2);
let nativeFile = null;
const texts = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--native") nativeFile = args[++i];
  else texts.push(args[i]);
}
if (texts.length === 0) texts.push(...readFileSync(0, "utf8").replace(/\n$/, "").split("\n"));
const native = nativeFile ? readFileSync(nativeFile, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : null;

const server = await startServer();
const browser = await launchChromium();
try {
  const page = await openEncoderPage(browser, server.url);
  const { rows, ms, dims, quant } = await page.evaluate((texts) => {
    const enc = window.localrecDemo.encoder;
    const t = performance.now();
    const flat = enc.embedBatch(texts);
    const ms = performance.now() - t;
    const rows = texts.map((_, i) => Array.from(flat.subarray(i * enc.dims, (i + 1) * enc.dims)));
    return { rows, ms, dims: enc.dims, quant: enc.quant };
  }, texts);
  console.log(`Chromium (${await browser.version()}), wasm ${quant} encoder: ${texts.length} texts, ${dims} dims, ${ms.toFixed(0)} ms`);
  rows.forEach((v, i) => {
    const head = v.slice(0, 5).map((x) => x.toFixed(4).padStart(7)).join(" ");
    let line = `  [${head} …]  ${JSON.stringify(texts[i].slice(0, 48))}`;
    if (native) line += `  cosine to native: ${v.reduce((s, x, j) => s + x * native[i][j], 0).toFixed(6)}`;
    console.log(line);
  });
} finally {
  await browser.close();
  await server.close();
}
