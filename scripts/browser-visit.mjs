// The demo's scripted visit in headless Chromium, through the npm package
// (LocalRec: a Web Worker running the wasm engine): the steps of a visit file
// (events JSONL, e.g. scripts/visit.jsonl) are given one by one, and after
// each the page asks for a new top k. Prints each list with its reasons and
// the step's latency, measured in the page (performance.now(): feedback sent
// → new list back). Lists are ranked as of the step's time (`now` = its `ts`),
// as `localrec recommend` does, so both rank the same profile.
//   node scripts/browser-visit.mjs VISIT.jsonl [--k 5] [--native IDS]
// --native IDS: a file with the native top k of each step (one line per step,
// ids separated by spaces) to compare with.
import { readFileSync } from "node:fs";
import { startServer } from "./serve.mjs";
import { launchChromium } from "./browser.mjs";

const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const visitFile = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
if (!visitFile) {
  console.error("usage: node scripts/browser-visit.mjs VISIT.jsonl [--k 5] [--native IDS]");
  process.exit(2);
}
const k = Number(value("--k", 5));
const nativeFile = value("--native", null);
const steps = readFileSync(visitFile, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const native = nativeFile ? readFileSync(nativeFile, "utf8").split("\n").map((l) => l.trim().split(/\s+/).filter(Boolean)) : [];

const TITLE_CHARS = 48;
const REASON_CHARS = 72;
const cut = (s, n) => {
  const chars = [...s];
  return chars.length > n ? `${chars.slice(0, n).join("").trimEnd()}…` : s;
};
const quote = (s) => `\u201c${s}\u201d`;

/** One reason in words, as `localrec recommend` says it. */
function reasonText(w, titles) {
  const said = cut(w.evidence, REASON_CHARS);
  const title = w.item ? titles.get(w.item) : undefined;
  let words = said;
  if (w.kind === "feedback" && w.effect === "up") {
    if (title === undefined) words = `because you said ${quote(said)}`;
    else if (title === w.evidence || title === "") words = `because you liked ${quote(said)}`;
    else words = `because you said ${quote(said)} about ${quote(cut(title, TITLE_CHARS))}`;
  } else if (w.kind === "feedback") {
    words = title ? `ranked lower: like ${quote(cut(title, TITLE_CHARS))}, which you turned down`
      : `ranked lower: near what you turned down, ${quote(said)}`;
  }
  const sign = w.effect === "up" ? "+" : "-";
  if (w.kind === "kept_out") return `${sign} ${words}`;
  if (w.kind === "scene") return `${sign} ${words}  (\u00d7${Math.exp(w.weight).toFixed(2)})`;
  const weight = `${w.weight >= 0 ? "+" : ""}${w.weight.toFixed(3)}`;
  return `${sign} ${words}  (${weight})`;
}

const describe = (e) => (e.text && !e.item ? `you say ${quote(e.text)}` : `you ${e.kind ?? "rate"} ${e.item}${e.text ? `: ${quote(e.text)}` : ""}`);

const server = await startServer();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // A blank page on the server's origin: the package, its worker and the files come from there.
  await page.route(`${server.url}/visit.html`, (route) =>
    route.fulfill({ contentType: "text/html; charset=utf-8", body: "<!doctype html><title>localrec visit</title>" }));
  await page.goto(`${server.url}/visit.html`);
  const loaded = await page.evaluate(async () => {
    const { LocalRec } = await import("/js/index.js");
    const started = performance.now();
    // (create resolves once the catalogue is in; the steps are timed with the model in too)
    const rec = await LocalRec.create({ model: "/models/minilm-l6-v2-int8.lrm", catalogue: "/catalogue.lri", waitForModel: true });
    const ms = performance.now() - started;
    await rec.clearProfile();
    window.visitRec = rec;
    return { ms, backend: rec.backend, simd: rec.simd, items: rec.items };
  }).catch((e) => {
    throw new Error(`the package did not load: ${e.message} ${errors.join("; ")}`);
  });
  console.log(`Chromium (${browser.version()}), npm package LocalRec: wasm ${loaded.simd} build, scoring on ${loaded.backend}, `
    + `${loaded.items} items; model and catalogue loaded in ${loaded.ms.toFixed(0)} ms`);

  // Titles of the items the visit names, for the reasons' wording.
  const titles = new Map();
  for (const id of new Set(steps.map((s) => s.item).filter(Boolean))) {
    titles.set(id, (await page.evaluate((id) => window.visitRec.item(id), id)).title);
  }
  for (const [n, step] of steps.entries()) {
    const { user, ...event } = step;
    const { ms, cards } = await page.evaluate(async ({ event, k }) => {
      const rec = window.visitRec;
      const started = performance.now();
      await rec.feedback(event);
      const cards = await rec.recommend({ k, now: event.ts });
      return { ms: performance.now() - started, cards };
    }, { event, k });
    for (const c of cards) titles.set(c.id, c.title);
    console.log(`Step ${n + 1}: ${describe(event)}`);
    const keptOut = (cards[0]?.why ?? []).filter((w) => w.kind === "kept_out");
    for (const w of keptOut) console.log(`    ${reasonText(w, titles)}`);
    cards.forEach((c, i) => {
      console.log(`  ${i + 1}. ${c.id}  ${cut(c.title, TITLE_CHARS)}  ${c.score.toFixed(3)}`);
      for (const w of c.why.filter((w) => w.kind !== "kept_out")) console.log(`       ${reasonText(w, titles)}`);
    });
    console.log(`  feedback \u2192 top ${cards.length}: ${ms.toFixed(1)} ms (performance.now() in the page, through the worker)`);
    const want = native[n];
    if (want?.length) {
      const got = cards.map((c) => c.id);
      if (got.join(" ") === want.join(" ")) console.log(`  same top ${got.length} as natively`);
      else console.log(`  differs from natively: ${want.join(", ")}`);
    }
  }
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  await server.close();
}
