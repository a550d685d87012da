// A small static server for the demo and the browser tests (loopback only).
//   /          → www/
//   /pkg/      → pkg/            (the wasm package built by scripts/build-wasm.sh)
//   /models/   → models/build/   (model bundles built by scripts/setup.sh)
//   /js/       → js/             (the npm package's JavaScript: LocalRec and its worker)
//   /catalogue.lri → models/build/films.lri (the demo's catalogue index, built by set-up)
// Run `node scripts/serve.mjs [port]` to serve the demo at http://127.0.0.1:<port>/.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
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
export function startServer({ port = 0, host = "127.0.0.1", routes = {} } = {}) {
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
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": stat.size,
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      ok({ server, url: `http://${host}:${actual}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const { url } = await startServer({ port });
  console.log(`localrec demo: ${url}/  (Ctrl-C to stop)`);
}
