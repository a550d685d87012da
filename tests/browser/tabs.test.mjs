// Several tabs of the demo shop share one profile: feedback from every tab is
// kept (each write is one IndexedDB transaction that merges what is stored),
// the open tabs catch up within a second (BroadcastChannel) and show it, a
// reload mid-way loses nothing, and "forget me" in one tab clears them all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../scripts/serve.mjs";
import { launchChromium } from "../../scripts/browser.mjs";

let server, browser, context;

before(async () => {
  server = await startServer();
  browser = await launchChromium();
  context = await browser.newContext();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function ready(p) {
  await p.waitForFunction(() => window.localrecShop?.state !== "loading", null, { timeout: 180_000 });
  assert.equal(await p.evaluate(() => window.localrecShop.state), "ready");
}
async function open() {
  const p = await context.newPage();
  await p.goto(`${server.url}/`);
  await ready(p);
  return p;
}
const give = (p, event) => p.evaluate((e) => window.localrecShop.rec.feedback(e).then(() => true), event);
/**
 * What a tab's worker holds: signals (as words or item ids, sorted) and the not-interested items.
 * Sorted: signals of the same second may be listed in arrival order in the tab that made them and
 * in the merge's order in the others; which ones are held is what must agree.
 */
const held = (p) =>
  p.evaluate(async () => {
    const profile = await window.localrecShop.rec.profile();
    return { signals: profile.signals.map((s) => `${s.ts}|${s.weight}|${s.text ?? ""}|${s.item ?? ""}`).sort(), notInterested: profile.notInterested };
  });
/** Waits up to `ms` for every tab to hold `want`; returns what each holds. */
async function inStep(pages, want, ms = 1000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = await Promise.all(pages.map(held));
    if (now.every((h) => JSON.stringify(h) === JSON.stringify(want)) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("three tabs: interleaved feedback and a reload mid-way lose nothing; every tab keeps in step; forget me clears all", async () => {
  const [a, b, c] = [await open(), await open(), await open()];
  await a.evaluate(() => window.localrecShop.rec.clearProfile());
  const texts = ["a slow war epic", "a silly comedy", "something with dragons", "a heist with a twist", "courtroom drama"];
  await give(a, { text: texts[0] });
  await Promise.all([give(b, { text: texts[1] }), give(c, { text: texts[2] })]);
  await give(a, { item: "Heat_(1995_film)", kind: "like" });
  // A reload in the middle: the reloaded tab starts from storage and keeps going.
  await b.reload();
  await ready(b);
  await Promise.all([
    give(b, { text: texts[3] }),
    give(c, { item: "Troy_(film)", kind: "not_interested" }),
    give(a, { text: texts[4] }),
  ]);

  // A new tab reads only what storage holds: the whole history, each event once.
  const d = await open();
  const stored = await held(d);
  for (const t of texts) {
    assert.equal(stored.signals.filter((s) => s.split("|")[2] === t).length, 1, `"${t}" once in ${stored.signals}`);
  }
  assert.equal(stored.signals.filter((s) => s.endsWith("|Heat_(1995_film)")).length, 1, `the like once: ${stored.signals}`);
  assert.deepEqual(stored.notInterested, ["Troy_(film)"]);

  // Every open tab caught up within a second, and its shop shows the others' words.
  const tabs = [a, b, c];
  const now = await inStep(tabs, stored);
  now.forEach((h, i) => assert.deepEqual(h, stored, `tab ${"abc"[i]} is in step`));
  for (const p of tabs) {
    await p.waitForFunction((words) => words.every((w) => document.querySelector("#signals").textContent.includes(w)), texts, { timeout: 1000 });
  }

  // "Forget me" in one tab clears every tab and storage.
  await b.evaluate(() => window.localrecShop.rec.clearProfile());
  const empty = { signals: [], notInterested: [] };
  const cleared = await inStep([a, b, c, d], empty);
  cleared.forEach((h, i) => assert.deepEqual(h, empty, `tab ${"abcd"[i]} cleared`));
  const e = await open();
  assert.deepEqual(await held(e), empty, "storage cleared");
  // And a tab that held the old profile does not bring it back with its next feedback.
  await give(c, { text: "after forgetting" });
  const fresh = await held(c);
  assert.equal(fresh.signals.length, 1, `only the new signal: ${fresh.signals}`);
  const last = await inStep([a, b, d, e], fresh);
  last.forEach((h, i) => assert.deepEqual(h, fresh, `tab ${"abde"[i]} has only the new signal`));
  await a.evaluate(() => window.localrecShop.rec.clearProfile());
});
