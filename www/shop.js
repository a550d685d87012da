// The demo storefront: a film shop whose ranking runs entirely in this browser
// through the localrec package (a Web Worker with the wasm engine). The first cards show
// as soon as the catalogue has arrived; the model streams in behind them, and a wish typed
// before it is in waits for it, with its progress shown under the wish box.
// Exposes `window.localrecShop` so the browser tests can drive it: `state` "loading" until
// catalogue and model are both in ("ready"; "failed" if either could not be loaded),
// `model` ("loading" | "ready" | "failed"), `firstCardsAt` (performance.now() when the first
// cards showed), `waiting` (wishes waiting for the model), `rec`, `refresh`.
import { LocalRec } from "./js/index.js";

const $ = (id) => document.getElementById(id);
const shop = (window.localrecShop = {
  state: "loading", model: "loading", firstCardsAt: null, waiting: [], modelProgress: null,
  rec: null, error: null, results: [], warnings: [], cspViolations: [], progress: [],
});
document.addEventListener("securitypolicyviolation", (e) => shop.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));

const SCENES = {
  date: { name: "date night", boosts: [
    { target: { tag: "Romance" }, factor: 1.6 }, { target: { tag: "Comedy" }, factor: 1.2 }, { target: { tag: "Horror" }, factor: 0.5 } ] },
  family: { name: "family movie night", boosts: [
    { target: { tag: "Family" }, factor: 2.0 }, { target: { tag: "Animated" }, factor: 1.8 },
    { target: { tag: "Horror" }, factor: 0.3 }, { target: { tag: "Thriller" }, factor: 0.6 } ] },
  late: { name: "late-night thrills", boosts: [
    { target: { tag: "Thriller" }, factor: 1.6 }, { target: { tag: "Horror" }, factor: 1.5 }, { target: { tag: "Family" }, factor: 0.4 } ] },
  recent: { name: "something recent", boosts: [
    { target: { attribute: { key: "year", range: { min: 2015 } } }, factor: 1.8 } ] },
};
const GENRES = ["Action", "Adventure", "Animated", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
  "Horror", "Musical", "Mystery", "Romance", "Science Fiction", "Sports", "Superhero", "Thriller", "War", "Western"];

let readyAt = 0;

function options() {
  const filters = {};
  if ($("decade").value) filters.attributes = [{ key: "decade", oneOf: [$("decade").value] }];
  if ($("genre").value) filters.tags = [$("genre").value];
  const scene = SCENES[$("scene").value] ?? null;
  return { k: 12, diversity: Number($("diversity").value), filters, scene };
}

function el(tag, { dataset, ...props } = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  Object.assign(e.dataset, dataset ?? {});
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

function why(card) {
  const up = card.why.filter((w) => w.effect === "up");
  const down = card.why.filter((w) => w.effect === "down");
  const parts = [];
  for (const w of up) {
    if (w.evidence === "popular") parts.push("popular");
    else if (w.kind === "collaborative") parts.push(w.evidence); // "people who liked X also liked this"
    else if (w.evidence.startsWith("scene: ")) parts.push(`fits ${w.evidence.slice(7)}`);
    else parts.push(w.item ? `because you liked “${w.evidence}”` : `because you said “${w.evidence}”`);
  }
  for (const w of down) {
    // "kept out: Horror (you said “no horror please”)"
    if (w.kind === "kept_out") parts.push(w.evidence);
    else parts.push(`ranked lower: like “${w.evidence}”, which you turned down`);
  }
  return parts.join(" · ");
}

function renderResults(cards) {
  const list = $("results");
  list.replaceChildren();
  for (const c of cards) {
    const year = c.attributes?.year;
    const stars = el("span", { className: "stars", role: "group", ariaLabel: `Rate ${c.title}` });
    for (let s = 1; s <= 5; s++) {
      stars.append(el("button", { type: "button", className: "star", textContent: "★", title: `${s} star${s > 1 ? "s" : ""}`,
        ariaLabel: `${s} star${s > 1 ? "s" : ""}`, onclick: () => act({ item: c.id, rating: s }) }));
    }
    const li = el("li", { className: "card", dataset: { id: c.id } },
      el("h3", {}, el("a", { href: c.url ?? "#", textContent: c.title, rel: "noopener", target: "_blank" }),
        year ? el("span", { className: "year", textContent: ` (${year})` }) : null),
      el("p", { className: "genres", textContent: (c.tags ?? []).join(" · ") }),
      el("p", { className: "snippet", textContent: c.snippet }),
      el("p", { className: "why", textContent: why(c) }),
      el("div", { className: "card-actions" },
        el("button", { type: "button", className: "like", textContent: "♥ Like", ariaLabel: `Like ${c.title}`,
          onclick: () => act({ item: c.id, kind: "like" }) }),
        el("button", { type: "button", className: "nope", textContent: "Not interested", ariaLabel: `Not interested in ${c.title}`,
          onclick: () => act({ item: c.id, kind: "not_interested" }) }),
        stars));
    list.append(li);
  }
}

function renderProfile(p) {
  const ul = $("signals");
  ul.replaceChildren();
  if (p.signals.length === 0 && p.notInterested.length === 0) {
    ul.append(el("li", { className: "empty", textContent: "Empty: the shop shows what is popular until you say or click something." }));
  }
  for (const s of p.signals.slice().reverse()) {
    const name = s.title ?? s.item;
    const what = s.rejects ? `you said no to “${s.rejects}” (“${s.text}”)`
      : s.text ? `you said “${s.text}”` : s.weight > 0 ? `you liked “${name}”` : `you turned down “${name}”`;
    ul.append(el("li", { textContent: `${s.weight > 0 ? "▲" : "▼"} ${what} (weight ${s.weight.toFixed(2)})` }));
  }
  for (const id of p.notInterested) ul.append(el("li", { textContent: `✕ not interested: ${id}` }));
  $("signals").dataset.count = String(p.signals.length);
}

/** Ranks again and shows the list; with `onlyIfChanged`, leaves the list alone when it is the same. */
async function refresh({ onlyIfChanged = false } = {}) {
  const t = performance.now();
  const cards = await shop.rec.recommend(options());
  const same = (a, b) => JSON.stringify(a.map((c) => [c.id, c.why])) === JSON.stringify(b.map((c) => [c.id, c.why]));
  if (onlyIfChanged && same(cards, shop.results)) return;
  $("latency").textContent = `updated in ${(performance.now() - t).toFixed(0)} ms`;
  shop.results = cards;
  renderResults(cards);
}

/** Gives feedback and shows the new list; false when it could not be used. */
async function act(event) {
  const t = performance.now();
  try {
    renderProfile(await shop.rec.feedback(event));
    await refresh();
    $("latency").textContent = `updated in ${(performance.now() - t).toFixed(0)} ms`;
    return true;
  } catch (e) {
    $("status").textContent = `Could not use that: ${e.message}`;
    return false;
  }
}

/** The line under the wish box: while the model loads, that text is understood once it is in
 * (with its progress, and the wishes already waiting); if it failed, why. */
function showModelState() {
  const line = $("ask-state");
  const form = $("ask-form");
  form.dataset.model = shop.model;
  form.dataset.waiting = String(shop.waiting.length);
  line.classList.toggle("failed", shop.model === "failed");
  if (shop.model === "ready") {
    line.hidden = true;
    line.textContent = "";
    return;
  }
  if (shop.model === "failed") {
    line.textContent = `The model could not be loaded (${shop.error}): wishes in words cannot be read, likes and stars still work.`;
  } else {
    const percent = shop.modelProgress === null ? "" : ` (${Math.floor(shop.modelProgress * 100)} %)`;
    const waiting = shop.waiting.length ? `Got ${shop.waiting.map((w) => `“${w}”`).join(", ")}: ` : "";
    const understanding = `${waiting ? "u" : "U"}nderstanding text once the model has loaded${percent}`;
    line.textContent = `${waiting}${understanding}; likes and stars work now.`;
  }
  line.hidden = false;
}

function countRequests() {
  const n = performance.getEntriesByType("resource").filter((e) => e.startTime > readyAt).length;
  $("requests").textContent = String(n);
}

async function main() {
  for (const g of GENRES) $("genre").append(el("option", { textContent: g }));
  const rec = await LocalRec.create({
    model: "./models/minilm-l6-v2-int8.lrm",
    catalogue: "./catalogue.lri",
    // ?backend=gpu|cpu|auto (default auto: WebGPU where the browser has it and it is faster).
    backend: new URLSearchParams(location.search).get("backend") ?? "auto",
    // ?simd=relaxed-simd|simd128|auto (default auto: the relaxed-SIMD build where the browser runs it).
    simd: new URLSearchParams(location.search).get("simd") ?? "auto",
    onBackendChange: (c) => {
      $("backend").textContent = c.backend;
      console.warn("localrec: scoring moved to the CPU:", c.reason);
    },
    onProgress: (p) => {
      shop.progress.push(p);
      if (p.file === "model") {
        shop.modelProgress = p.total ? p.loaded / p.total : null;
        if (shop.firstCardsAt !== null && shop.model === "loading") showModelState();
      }
      // Size unknown (a compressed answer whose first bytes have not arrived): an indeterminate bar.
      if (p.total) $("progress").value = p.loaded / p.total;
      else $("progress").removeAttribute("value");
      const size = p.total ? ` of ${(p.total / 1e6).toFixed(1)} MB` : "";
      $("progress-label").textContent = `${p.cached ? "Reading" : "Downloading"} the ${p.file} (${(p.loaded / 1e6).toFixed(1)} MB${size})`;
    },
    onWarning: (w) => {
      shop.warnings.push(w.message);
      console.warn("localrec:", w.message);
    },
  });
  shop.rec = rec;
  // Feedback given in another tab of the shop reaches this one's list.
  rec.addEventListener("profilechange", async (e) => {
    renderProfile(e.detail);
    await refresh();
  });
  $("backend").textContent = rec.backend;
  $("backend").title = `Which engine ranks and embeds (wasm build: ${rec.simd})`;
  // Wire every control before the shop shows: an Enter in the wish box must never submit natively.
  $("ask-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("ask").value.trim();
    if (!text) return;
    $("ask").value = "";
    // Before the model is in, the wish waits for it (the package keeps it in order with the
    // rest of the feedback); the line under the box says so.
    const waits = rec.modelState !== "ready";
    if (waits) {
      shop.waiting.push(text);
      showModelState();
    }
    const used = await act({ text });
    if (waits) {
      shop.waiting.splice(shop.waiting.indexOf(text), 1);
      showModelState();
    }
    if (!used && !$("ask").value) $("ask").value = text;
  });
  for (const id of ["scene", "decade", "genre", "diversity"]) $(id).addEventListener("change", () => refresh());
  $("clear").addEventListener("click", async () => {
    renderProfile(await rec.clearProfile());
    await refresh();
  });
  $("export").addEventListener("click", async () => {
    const bytes = await rec.exportProfile();
    const a = el("a", { href: URL.createObjectURL(new Blob([bytes])), download: "localrec-profile.lrp" });
    a.click();
    URL.revokeObjectURL(a.href);
  });
  $("import").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      renderProfile(await rec.importProfile(new Uint8Array(await file.arrayBuffer())));
      await refresh();
    } catch (err) {
      $("status").textContent = `That file is not a profile for this shop: ${err.message}`;
    }
  });
  // The catalogue is in: the first cards now, while the model streams in behind them.
  $("loading").hidden = true;
  $("shop").hidden = false;
  showModelState();
  renderProfile(await rec.profile());
  await refresh();
  shop.firstCardsAt = performance.now();
  readyAt = performance.now();
  setInterval(countRequests, 500);
  shop.refresh = refresh;
  try {
    await rec.modelReady;
  } catch (e) {
    shop.model = "failed";
    shop.error = String(e?.message ?? e);
    shop.state = "failed";
    showModelState();
    return;
  }
  shop.model = "ready";
  showModelState();
  // With the model come the embedded facet names, which ground a stored rejection ("no
  // horror") in the catalogue's genres: the list may tighten.
  await refresh({ onlyIfChanged: true });
  shop.state = "ready";
}

main().catch((e) => {
  shop.error = String(e?.message ?? e);
  shop.state = "failed";
  $("status").textContent = `Could not start: ${shop.error}`;
});
