// First wasm timing figures: per-text embedding latency of the wasm encoder for
// texts of 8, 32 and 128 word pieces, in Node and in headless Chromium (through
// the demo page), single-threaded. Prints a table with medians and min–max.
//   node benches/wasm-embed.mjs [--runs 15]
// Needs pkg/ (scripts/build-wasm.sh) and the int8 bundle (scripts/setup.sh).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { startServer, ROOT } from "../scripts/serve.mjs";
import { launchChromium, openEncoderPage } from "../scripts/browser.mjs";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 15;
const LENGTHS = [8, 32, 128];
const SOURCE =
  "Miami Connection is a 1987 independent martial arts action film about a band of orphans who fight a gang of ninjas who have taken over the drug trade in Orlando. It was directed by Richard Park and stars Y. K. Kim, a taekwondo master who also wrote and produced the film. The film was a box office failure on release but found a cult following after it was restored and re-released in 2012 by the Alamo Drafthouse, which bought a print on eBay.";

// The same measurement runs in Node and in the page: build texts, warm up, time.
const measure = (encoder, lengths, runs, source) => {
  const words = Array.from({ length: 400 }, (_, i) => source.split(/\s+/)[i % source.split(/\s+/).length]);
  const textWith = (tokens) => {
    let n = 1;
    while (n < words.length && encoder.tokenCount(words.slice(0, n + 1).join(" ")) <= tokens) n++;
    return words.slice(0, n).join(" ");
  };
  const out = {};
  for (const tokens of lengths) {
    const text = textWith(tokens);
    for (let i = 0; i < 3; i++) encoder.embed(text);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      encoder.embed(text);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    out[tokens] = { tokens: encoder.tokenCount(text), median: times[times.length >> 1], min: times[0], max: times.at(-1) };
  }
  return out;
};

const { initSync, Encoder } = await import("../pkg/localrec.js");
initSync({ module: readFileSync(join(ROOT, "pkg/localrec_bg.wasm")) });
const encoder = Encoder.load(readFileSync(join(ROOT, "models/build/minilm-l6-v2-int8.lrm")));
const node = measure(encoder, LENGTHS, runs, SOURCE);

const server = await startServer();
const browser = await launchChromium();
let chromium;
try {
  const page = await openEncoderPage(browser, server.url);
  chromium = await page.evaluate(
    ([fn, lengths, runs, source]) => eval(`(${fn})`)(window.localrecDemo.encoder, lengths, runs, source),
    [measure.toString(), LENGTHS, runs, SOURCE],
  );
} finally {
  await browser.close();
  await server.close();
}

console.log(`wasm encoder, int8 bundle, ${runs} runs after 3 warm-ups; ${os.cpus()[0].model}, ${os.cpus().length} cores`);
console.log("| tokens | Node median (min–max) ms | Chromium median (min–max) ms |");
console.log("|---:|---:|---:|");
for (const t of LENGTHS) {
  const f = (r) => `${r.median.toFixed(1)} (${r.min.toFixed(1)}–${r.max.toFixed(1)})`;
  console.log(`| ${node[t].tokens} | ${f(node[t])} | ${f(chromium[t])} |`);
}
