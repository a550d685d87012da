// The intent benchmark in WebAssembly (Node): does free-text feedback move the
// top 10 the way a person meant it? The same queries and figures as the
// native `localrec intent-bench` (src/offline/eval/intent.rs), through the wasm
// `Engine` that the npm package's worker drives, plus the time from a text
// to a new top 10. The films' genre tags and category are the ground truth.
//   npm run bench:intent            (../shared/intent/queries.jsonl)
//   node benches/intent.mjs [QUERIES.jsonl] [--rows] [--build relaxed|simd128]
// Needs pkg/ (scripts/build-wasm.sh), models/build/minilm-l6-v2-int8.lrm and
// models/build/films.lri (scripts/setup.sh).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { ROOT } from "../scripts/serve.mjs";

const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const SHARED = resolve(process.env.LOCALREC_SHARED ?? join(ROOT, "..", "shared"));
const queriesFile = args.find((a) => a.endsWith(".jsonl")) ?? join(SHARED, "intent", "queries.jsonl");
const build = value("--build", "simd128");
const wasmFile = build === "relaxed" ? "localrec_relaxed_bg.wasm" : "localrec_bg.wasm";

const { initSync, Engine } = await import(join(ROOT, "pkg/localrec.js"));
initSync({ module: readFileSync(join(ROOT, "pkg", wasmFile)) });
const engine = Engine.load(
  readFileSync(join(ROOT, "models/build/minilm-l6-v2-int8.lrm")),
  readFileSync(join(ROOT, "models/build/films.lri")),
);
const films = gunzipSync(readFileSync(join(ROOT, "data/films/films.jsonl.gz")))
  .toString()
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));
const facetsOf = new Map(films.map((f) => [f.id, new Set([...(f.tags ?? []), f.category].filter(Boolean))]));
// Most popular first, ties in file order (the native bench's order).
const byPopularity = films.map((f, i) => [f, i]).sort((a, b) => (b[0].popularity ?? 0) - (a[0].popularity ?? 0) || a[1] - b[1]).map(([f]) => f);
const share = (ids, tags) => ids.filter((id) => tags.some((t) => facetsOf.get(id)?.has(t))).length / Math.max(ids.length, 1);
const top = () => engine.recommend({ k: 10, now: ts }).map((r) => r.id);
const queries = readFileSync(queriesFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

let ts = 1_700_000_000;
engine.clearProfile();
const cold = top();
const rows = [];
const latencies = [];
for (const q of queries) {
  engine.clearProfile();
  let before = null;
  if (q.like_top) {
    const liked = byPopularity.filter((f) => q.like_top.tags.some((t) => facetsOf.get(f.id).has(t))).slice(0, q.like_top.n);
    for (const f of liked) engine.feedback({ item: f.id, kind: "like", ts: ts++ });
    before = top();
  }
  let ids = [];
  for (const e of q.events) {
    const started = performance.now();
    engine.feedback({ ...e, ts: ts++ });
    ids = top();
    latencies.push(performance.now() - started);
  }
  const r = { id: q.id, type: q.type, text: q.events.map((e) => e.text).join(" / "), top3: ids.slice(0, 3) };
  if (q.want?.length) r.want = share(ids, q.want);
  if (q.avoid?.length) {
    r.avoid = share(ids, q.avoid);
    r.avoid_cold = share(cold, q.avoid);
    if (before) r.avoid_before = share(before, q.avoid);
  }
  rows.push(r);
}

// A 32-token text with a wish and two rejections, 21 times into a fresh profile:
// feedback → new top 10 (the latency target is for this length).
const long = "something short and funny for a long train ride with my two friends, but no horror and nothing too violent please, maybe an animated film or a musical";
const longTimes = [];
for (let i = 0; i < 21; i++) {
  engine.clearProfile();
  const started = performance.now();
  engine.feedback({ text: long, ts: ts++ });
  top();
  longTimes.push(performance.now() - started);
}
longTimes.sort((a, b) => a - b);

// Mean with a 95% percentile-bootstrap interval over queries (fixed seed).
function estimate(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  if (xs.length === 0) return { mean: 0, low: 0, high: 0 };
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const means = [];
  for (let b = 0; b < 1000; b++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(next() * xs.length)];
    means.push(s / xs.length);
  }
  means.sort((a, b) => a - b);
  return { mean, low: means[24], high: means[974] };
}
const by = (type, key) => estimate(rows.filter((r) => r.type === type && r[key] !== undefined).map((r) => r[key]));
latencies.sort((a, b) => a - b);
const summary = {
  build,
  pos_want: by("pos", "want"),
  neg_avoid: by("neg", "avoid"),
  neg_avoid_cold: by("neg", "avoid_cold"),
  combo_want: by("combo", "want"),
  combo_avoid: by("combo", "avoid"),
  hist_neg_avoid_before: by("history-neg", "avoid_before"),
  hist_neg_avoid_after: by("history-neg", "avoid"),
  hist_pos_want: by("history-pos", "want"),
  queries: rows.length,
  feedback_to_top10_ms: { median: latencies[latencies.length >> 1], p95: latencies[Math.floor(latencies.length * 0.95)], max: latencies.at(-1) },
  feedback_32_tokens_to_top10_ms: { median: longTimes[10], min: longTimes[0], max: longTimes[20] },
};
if (args.includes("--rows")) for (const r of rows) console.log(JSON.stringify(r));
console.log(JSON.stringify(summary, null, 2));
