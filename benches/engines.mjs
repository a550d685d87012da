// The same measurements in every browser engine of this machine, one run (scripts/engines.mjs):
//   - encoder ms per text at 31 tokens, batch 1, with the wasm build the engine picks
//     (the encoder page; median of `--runs` timings of 5 calls each, after 5 warm-ups);
//   - feedback → new top 10 in the film shop: a text wish sent through LocalRec (worker,
//     embedding, profile, IndexedDB write, ranking of 11k films) until the page has the new
//     list (median of `--runs` wishes; Firefox and WebKit time to the millisecond).
//
//   node benches/engines.mjs [--runs 15] [--engines chromium,firefox,webkit] [--json]
//
// Run after scripts/setup.sh and scripts/build-wasm.sh. Results go to benches/README.md by hand,
// with the date, the machine and the browsers' versions this prints.
import { cpus } from "node:os";
import { startServer } from "../scripts/serve.mjs";
import { ENGINES, launchEngine } from "../scripts/engines.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const runs = Number(arg("runs", 15));
const engines = arg("engines", ENGINES.join(",")).split(",");
const json = process.argv.includes("--json");

// Cut in the page to 31 tokens with [CLS] and [SEP] (tokenCount), as benches/compare.mjs does.
const TEXT =
  "a slow, quiet war film about friendship and loss, with long shots of the sea, a great score, " +
  "two brothers who never speak of what happened, and an ending that stays with you for days after";
const WISHES = [
  "a short, light, funny comedy",
  "a slow-burning war epic",
  "no horror please",
  "something romantic for a date night",
  "a clever heist film with a twist",
  "animated films for the kids",
  "a gritty crime drama",
  "nothing too long",
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const server = await startServer();
const rows = [];
try {
  for (const name of engines) {
    const engine = await launchEngine(name);
    try {
      const tab = await engine.newTab();
      await tab.goto(`${server.url}/encoder.html`);
      await tab.waitFor(() => window.localrecDemo && window.localrecDemo.state !== "loading", null, { timeout: 240_000 });
      const enc = await tab.evaluate(
        ({ text: long, runs }) => {
          const e = window.localrecDemo.encoder;
          const words = long.split(" ");
          let n = 1;
          while (n < words.length && e.tokenCount(words.slice(0, n + 1).join(" ")) <= 31) n++;
          const text = words.slice(0, n).join(" ");
          for (let i = 0; i < 5; i++) e.embed(text);
          const times = [];
          // Five calls per timing: Firefox and WebKit round performance.now() to 1 ms here.
          for (let i = 0; i < runs; i++) {
            const t0 = performance.now();
            for (let j = 0; j < 5; j++) e.embed(text);
            times.push((performance.now() - t0) / 5);
          }
          return { times, tokens: e.tokenCount(text), simd: window.localrecDemo.simd };
        },
        { text: TEXT, runs },
      );
      await tab.goto(`${server.url}/`);
      await tab.waitFor(() => window.localrecShop && window.localrecShop.state !== "loading", null, { timeout: 240_000 });
      const feedback = [];
      for (let i = 0; i < runs; i++) {
        const ms = await tab.evaluate(async (text) => {
          const rec = window.localrecShop.rec;
          const t0 = performance.now();
          await rec.feedback({ text });
          const top = await rec.recommend({ k: 10 });
          if (top.length !== 10) throw new Error(`${top.length} results`);
          return performance.now() - t0;
        }, WISHES[i % WISHES.length]);
        feedback.push(ms);
      }
      await tab.evaluate(() => window.localrecShop.rec.clearProfile().then(() => true));
      rows.push({
        engine: name,
        version: engine.version,
        simd: enc.simd,
        tokens: enc.tokens,
        encoderMs: median(enc.times),
        feedbackMs: median(feedback),
      });
    } finally {
      await engine.close();
    }
  }
} finally {
  await server.close();
}

if (json) {
  console.log(JSON.stringify({ cpu: cpus()[0]?.model, runs, rows }, null, 2));
} else {
  console.log(`CPU: ${cpus()[0]?.model} (${cpus().length} cores); median of ${runs} runs`);
  console.log("| engine | version | wasm build | encoder ms/text (31 tok, batch 1) | feedback → new top 10 (ms) |");
  console.log("|---|---|---|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.engine} | ${r.version} | ${r.simd} | ${r.encoderMs.toFixed(1)} (${r.tokens} tok) | ${r.feedbackMs.toFixed(1)} |`);
  }
}
