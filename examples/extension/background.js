// The MV3 service worker does no machine learning: service workers cannot start
// module workers or keep a model in memory reliably, so the recommender runs in
// the extension page (recommend.html) inside a module Web Worker. This file only
// opens that page from the toolbar button's context menu.
chrome.runtime.onInstalled.addListener((details) => {
  chrome.action.setBadgeText({ text: "" });
  // A temporary add-on (Firefox: about:debugging, web-ext run, a test's WebDriver install)
  // opens its page at once, so a developer sees it work. Chromium never sets `temporary`.
  if (details.temporary) chrome.tabs.create({ url: "recommend.html" });
});
