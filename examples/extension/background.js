// The MV3 service worker does no machine learning: service workers cannot start
// module workers or keep a model in memory reliably, so the recommender runs in
// the extension page (recommend.html) inside a module Web Worker. This file only
// opens that page from the toolbar button's context menu.
chrome.runtime.onInstalled.addListener(() => {
  chrome.action.setBadgeText({ text: "" });
});
