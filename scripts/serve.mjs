// A small static server for the demo and the browser tests (loopback only).
//   /          → www/
//   /pkg/      → pkg/            (the wasm package built by scripts/build-wasm.sh)
//   /models/   → models/build/   (model bundles built by scripts/setup.sh)
//   /js/       → js/             (the npm package's JavaScript: LocalRec and its worker)
//   /catalogue.lri → models/build/films.lri (the demo's catalogue index, built by set-up)
// Run `node scripts/serve.mjs [port]` to serve the demo at http://127.0.0.1:<port>/.
//
// Every file carries an ETag and Last-Modified and a conditional request for an unchanged file
// is answered 304, as a real host does. With `compress: "gzip" | "br"` (tests) files go out
// encoded when the request accepts it, content-length counting the encoded bytes; `served`
// logs {path, status, encoding} of every answer.
import { createServer } from "node:http";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants as zlib } from "node:zlib";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".jsonl": "application/x-ndjson",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};

/** Starts the server; `routes` maps URL prefixes to folders (longest prefix wins). */
export function startServer({ port = 0, host = "127.0.0.1", routes = {}, compress = null } = {}) {
  const served = [];
  const encoded = new Map(); // file + mtime → encoded bytes
  const table = Object.entries({
    "/": join(ROOT, "www"),
    "/pkg/": join(ROOT, "pkg"),
    "/models/": join(ROOT, "models", "build"),
    "/js/": join(ROOT, "js"),
    "/catalogue.lri": join(ROOT, "models", "build", "films.lri"),
    ...routes,
  }).sort((a, b) => b[0].length - a[0].length);

  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    let path = decodeURIComponent(url.pathname);
    if (path.endsWith("/")) path += "index.html";
    const route = table.find(([prefix]) => path.startsWith(prefix));
    const base = route[1];
    const file = normalize(join(base, path.slice(route[0].length)));
    if (!file.startsWith(base)) {
      res.writeHead(403).end("forbidden");
      return;
    }
    let stat;
    try {
      stat = statSync(file);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}`);
      return;
    }
    if (!stat.isFile()) {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const lastModified = new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString();
    const validators = { etag, "last-modified": lastModified, "cache-control": "no-cache" };
    const since = Date.parse(req.headers["if-modified-since"] ?? "");
    const unchanged = req.headers["if-none-match"]
      ? req.headers["if-none-match"].split(",").some((t) => t.trim() === etag)
      : Number.isFinite(since) && Math.floor(stat.mtimeMs / 1000) * 1000 <= since;
    if (unchanged) {
      served.push({ path, status: 304, encoding: null });
      res.writeHead(304, validators).end();
      return;
    }
    const type = TYPES[extname(file)] ?? "application/octet-stream";
    const accepts = (req.headers["accept-encoding"] ?? "").split(",").map((e) => e.trim().split(";")[0]);
    if (compress && accepts.includes(compress)) {
      const key = `${file}:${stat.mtimeMs}:${compress}`;
      if (!encoded.has(key)) {
        const raw = readFileSync(file);
        encoded.set(
          key,
          compress === "br" ? brotliCompressSync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } }) : gzipSync(raw, { level: 6 }),
        );
      }
      const body = encoded.get(key);
      served.push({ path, status: 200, encoding: compress });
      res.writeHead(200, { ...validators, "content-type": type, "content-length": body.length, "content-encoding": compress, vary: "accept-encoding" });
      return req.method === "HEAD" ? res.end() : res.end(body);
    }
    served.push({ path, status: 200, encoding: null });
    res.writeHead(200, { ...validators, "content-type": type, "content-length": stat.size });
    if (req.method === "HEAD") return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      ok({ server, url: `http://${host}:${actual}`, served, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url } = await startServer({ port });
  console.log(`localrec demo: ${url}/  (Ctrl-C to stop)`);
}
