// Streams a URL into one Uint8Array, reporting (loaded, total) in decoded bytes as they arrive.
//
// `total` is what the body will decode to: read from the file's own header as soon as its
// first 24 bytes have arrived (every localrec file starts with a 32-byte envelope stating its
// payload length), which stays right under gzip or brotli, where `content-length` counts
// compressed bytes; else `content-length` when the response is not compressed; else 0
// (unknown: show an indeterminate state). The first report (loaded 0) comes when the answer
// starts, the last always has loaded == total.
//
// With `validators` ({etag, lastModified} of a cached copy) the request is conditional, and a
// 304 answer resolves to {notModified: true} without a body.
export async function download(url, onProgress = () => {}, validators = null) {
  const headers = {};
  if (validators?.etag) headers["if-none-match"] = validators.etag;
  if (validators?.lastModified) headers["if-modified-since"] = validators.lastModified;
  // The package keeps its own copy (Cache API): the HTTP cache must not answer for the server.
  const res = await fetch(url, { headers, cache: "no-store" });
  if (res.status === 304 && validators) return { notModified: true };
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const encoding = (res.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  let total = encoding === "identity" ? Number(res.headers.get("content-length")) || 0 : 0;
  let sized = false;
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  // A first report as soon as the answer starts: engines that hand over the body in one or
  // two large chunks (WebKit) still show a download under way, of known or unknown size.
  onProgress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (!sized && loaded >= 24) {
      const stated = envelopeSize(chunks);
      if (stated) total = stated;
      sized = true;
    }
    onProgress(loaded, Math.max(total, total ? loaded : 0));
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  onProgress(loaded, loaded);
  return { bytes, etag: res.headers.get("etag"), lastModified: res.headers.get("last-modified") };
}

/** 32 + the payload length a localrec envelope states (magic "LR…"), or 0 when it is not one. */
function envelopeSize(chunks) {
  const head = new Uint8Array(24);
  let at = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, 24 - at);
    head.set(c.subarray(0, n), at);
    at += n;
    if (at === 24) break;
  }
  if (head[0] !== 0x4c || head[1] !== 0x52) return 0; // "LR"
  const payload = new DataView(head.buffer).getBigUint64(16, true);
  return payload < 2n ** 40n ? 32 + Number(payload) : 0;
}
