// The extension page: the same LocalRec package as the web demo, loading the
// model and catalogue shipped inside the extension (no network at all).
import { LocalRec } from "./js/index.js";

const $ = (id) => document.getElementById(id);
const page = (window.localrecExtension = { state: "loading", error: null });

function show(cards) {
  $("results").replaceChildren(
    ...cards.map((c) => {
      const li = document.createElement("li");
      li.dataset.id = c.id;
      li.textContent = c.title;
      const why = document.createElement("span");
      why.className = "why";
      why.textContent = c.why.map((w) => w.evidence).join(" · ");
      li.append(why);
      return li;
    }),
  );
}

async function main() {
  const rec = await LocalRec.create({
    model: "model.lrm",
    catalogue: "catalogue.lri",
    onProgress: (p) => ($("progress").value = p.total ? p.loaded / p.total : 0),
  });
  $("status").textContent = `Ready: ${rec.items} films, ${rec.backend}.`;
  show(await rec.recommend({ k: 8 }));
  $("ask-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    await rec.feedback({ text: $("ask").value });
    show(await rec.recommend({ k: 8 }));
  });
  page.rec = rec;
  page.state = "ready";
}

main().catch((e) => {
  page.error = String(e?.message ?? e);
  page.state = "failed";
  $("status").textContent = `Could not start: ${page.error}`;
});
