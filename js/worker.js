// The localrec worker: everything heavy runs here, off the page's main thread.
// It downloads the model bundle and the catalogue index (with progress, through
// the Cache API so a second visit needs no network), loads the wasm engine,
// keeps the private profile in IndexedDB, and answers the page's requests.
// Protocol: the page posts {id, op, args}; the worker answers {id, result} or
// {id, error: {name, message}}, and posts {event, detail} for progress and warnings.
// A wasm trap leaves the instance unusable: that call fails as `WorkerCrashed` and
// the worker closes itself (the page starts a new one on the next call).
import init, { Engine, simdLevel } from "../pkg/localrec.js";
import { chooseSimd } from "./simd.js";
import { download } from "./download.js";

const CACHE = "localrec-assets-v1";
const DB = "localrec";
const STORE = "profiles";

let engine = null;
let profileKey = null;
let db = null; // null: profile kept in memory only

const emit = (event, detail) => self.postMessage({ event, detail });

/** An `Error` with a stable `name` (see index.d.ts: `LocalRecErrorName`). */
function namedError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Bytes of `url`, from the Cache API when there, else downloaded with progress and cached. */
async function fetchCached(url, name, { fresh = false } = {}) {
  let cache = null;
  try {
    cache = await caches.open(CACHE);
  } catch {
    emit("warning", { message: "Cache API unavailable: assets will be downloaded every time" });
  }
  if (cache && !fresh) {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      emit("progress", { file: name, loaded: bytes.length, total: bytes.length, cached: true });
      return { bytes, cached: true };
    }
  }
  const bytes = await download(url, (loaded, total) => emit("progress", { file: name, loaded, total, cached: false }));
  if (cache) {
    try {
      await cache.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
    } catch (e) {
      emit("warning", { message: `could not cache ${name}: ${e.message ?? e}` });
    }
  }
  return { bytes, cached: false };
}

function openDb() {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = indexedDB.open(DB, 1);
    } catch (e) {
      reject(e);
      return;
    }
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => {
      const handle = req.result;
      // Another page wants a newer schema: let it, and keep this profile in memory.
      handle.onversionchange = () => {
        handle.close();
        if (db === handle) {
          db = null;
          emit("warning", { message: "the profile database was upgraded elsewhere; keeping the profile in memory only" });
        }
      };
      resolve(handle);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("IndexedDB is blocked"));
  });
}

function dbRequest(mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    // The transaction is atomic: a reload before "complete" keeps the last committed profile.
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

async function persist() {
  if (!db) return;
  try {
    await dbRequest("readwrite", (s) => s.put(engine.exportProfile(), profileKey));
  } catch (e) {
    db = null;
    emit("warning", { message: `profile storage failed (${e.message ?? e}); keeping the profile in memory only` });
  }
}

/** Loads, re-downloading a cached file once if the engine rejects it (corrupt cache). */
async function loadEngine(model, catalogue) {
  let m = await fetchCached(model, "model");
  let c = await fetchCached(catalogue, "catalogue");
  try {
    return Engine.load(m.bytes, c.bytes);
  } catch (e) {
    if (!m.cached && !c.cached) throw e;
    emit("warning", { message: `cached assets were unusable (${e.message}); downloading them again` });
    m = await fetchCached(model, "model", { fresh: true });
    c = await fetchCached(catalogue, "catalogue", { fresh: true });
    return Engine.load(m.bytes, c.bytes);
  }
}

const ops = {
  async init({ model, catalogue, wasm, wasmRelaxed, simd = "auto", backend = "auto" }) {
    if (typeof model !== "string" || typeof catalogue !== "string") {
      throw namedError("InvalidInput", "LocalRec.create needs `model` and `catalogue` URLs (strings)");
    }
    // Literal URLs, so bundlers emit both builds.
    const build = chooseSimd(simd);
    const url =
      build === "relaxed-simd"
        ? (wasmRelaxed ?? new URL("../pkg/localrec_relaxed_bg.wasm", import.meta.url))
        : (wasm ?? new URL("../pkg/localrec_bg.wasm", import.meta.url));
    await init({ module_or_path: url });
    engine = await loadEngine(model, catalogue);
    if (!["auto", "gpu", "cpu"].includes(backend)) throw namedError("InvalidInput", `LocalRec.create: backend must be "auto", "gpu" or "cpu", not ${JSON.stringify(backend)}`);
    await engine.useGpu(backend);
    engine.takeBackendEvents();
    profileKey = `profile:${engine.modelId}:${engine.catalogueId}`;
    try {
      db = await openDb();
      const saved = await dbRequest("readonly", (s) => s.get(profileKey));
      if (saved) {
        try {
          engine.importProfile(saved);
        } catch (e) {
          emit("warning", { message: `the saved profile was unreadable (${e.message}); starting afresh` });
        }
      }
    } catch (e) {
      db = null;
      emit("warning", { message: `IndexedDB unavailable (${e?.message ?? e}); the profile lives in memory only` });
    }
    return { items: engine.items, backend: engine.backend, simd: simdLevel(), dims: engine.dims, persistent: db !== null };
  },
  async feedback(event) {
    engine.feedback(event);
    await persist();
    return engine.profile();
  },
  async recommend(options) {
    const results = await engine.recommendAsync(options ?? {});
    for (const e of engine.takeBackendEvents()) {
      if (e.kind === "fell-back") emit("backendchange", { backend: engine.backend, reason: e.reason });
    }
    return results;
  },
  profile() {
    return engine.profile();
  },
  item(id) {
    return engine.item(id);
  },
  exportProfile() {
    return engine.exportProfile();
  },
  async importProfile(bytes) {
    engine.importProfile(bytes);
    await persist();
    return engine.profile();
  },
  async clearProfile() {
    engine.clearProfile();
    if (db) {
      try {
        await dbRequest("readwrite", (s) => s.delete(profileKey));
      } catch (e) {
        emit("warning", { message: `could not delete the stored profile: ${e.message ?? e}` });
      }
    }
    return engine.profile();
  },
};

// Fault injection for the page's resilience tests (LocalRec.injectFault).
const faults = {
  // The worker dies with this call pending: an uncaught error, then nothing more.
  crash() {
    setTimeout(() => {
      throw new Error("injected crash");
    });
    return new Promise(() => {});
  },
  trap() {
    throw new WebAssembly.RuntimeError("unreachable (injected trap)");
  },
};
ops.injectFault = (kind) => {
  if (!Object.hasOwn(faults, kind)) throw namedError("InvalidInput", `injectFault: unknown fault ${JSON.stringify(kind)}`);
  return faults[kind]();
};

self.onmessage = async ({ data }) => {
  const { id, op, args = [] } = data ?? {};
  try {
    if (typeof op !== "string" || !Object.hasOwn(ops, op)) throw namedError("UnknownOperation", `unknown operation ${String(op)}`);
    if (op !== "init" && !engine) throw namedError("NotInitialised", "LocalRec is not initialised");
    if (!Array.isArray(args)) throw namedError("InvalidInput", "args must be an array");
    const result = await ops[op](...args);
    self.postMessage({ id, result });
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      self.postMessage({ id, error: { name: "WorkerCrashed", message: `the engine trapped: ${e.message}` } });
      self.close();
      return;
    }
    self.postMessage({ id, error: { name: e?.name ?? "Error", message: String(e?.message ?? e) } });
  }
};
// A request that could not be read: its caller would wait forever, so say so.
self.onmessageerror = () => emit("messageerror", {});
