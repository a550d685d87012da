// The localrec worker: everything heavy runs here, off the page's main thread.
// It downloads the catalogue index and then the model bundle (with progress, through
// the Cache API so a second visit needs no network), loads the wasm engine,
// keeps the private profile in IndexedDB, and answers the page's requests.
// `init` answers as soon as the catalogue is in: ranking and feedback on items need no
// model. The model streams in behind it; feedback with text waits for it (in order with
// the other changes to the profile), and `modelready` / `modelerror` say how it went.
// Protocol: the page posts {id, op, args}; the worker answers {id, result} or
// {id, error: {name, message}}, and posts {event, detail} for progress, warnings and the model.
// A wasm trap leaves the instance unusable: that call fails as `WorkerCrashed` and
// the worker closes itself (the page starts a new one on the next call).
import init, { Engine, simdLevel } from "../pkg/localrec.js";
import { chooseSimd } from "./simd.js";
import { download } from "./download.js";
import { namedError } from "./errors.js";

const CACHE = "localrec-assets-v1";
const DB = "localrec";
const STORE = "profiles";

let engine = null;
// The model, loading behind the catalogue: {url, state: "loading" | "ready" | "failed",
// loading: a promise settled when it is attached or has failed, error, retry: whether a later
// text may try again (a download that failed; not a bundle the engine rejected)}.
let model = null;
// Changes to the profile (feedback, import, forget me) run one at a time in the order they
// were asked for: text that waits for the model holds back what came after it.
let changes = Promise.resolve();
let profileKey = null;
let db = null; // null: profile kept in memory only
// Tabs (and extension pages) of one origin share the stored profile. Every write is one
// IndexedDB transaction that reads what is stored, merges it in and writes the result, so
// no tab overwrites another's feedback; a BroadcastChannel tells the others to catch up.
let channel = null;
// The newest "forget me" (or import, which replaces) this worker has applied, in ms.
let clearedAt = 0;
// The stored record's write count this worker last merged or wrote: an unchanged record
// is not parsed and merged again on every write.
let storedWrites = -1;

const emit = (event, detail) => self.postMessage({ event, detail });

/**
 * Bytes of `url`: the Cache API's copy when the server says it is still current (a conditional
 * request on its ETag / Last-Modified: a 304 costs no download), else downloaded with progress
 * and cached with the server's validators. A copy without validators is used as it is; when the
 * server cannot be reached, the cached copy is used with a warning.
 *
 * A cache write that does not stick is reported: the copy is read back right after it is
 * written, and a marker in IndexedDB remembers what was cached, so a copy the browser dropped
 * later (some engines under automation, storage pressure, a user clearing site data) is
 * noticed on the next visit instead of silently costing a download.
 */
async function fetchCached(url, name, { fresh = false } = {}) {
  let cache = null;
  try {
    cache = await caches.open(CACHE);
  } catch {
    emit("warning", { message: "Cache API unavailable: assets will be downloaded every time" });
  }
  const hit = cache && !fresh ? await cache.match(url).catch(() => undefined) : undefined;
  const marker = `asset:${url}`;
  if (cache && !fresh && !hit) {
    const cachedAt = await readMarker(marker);
    if (cachedAt) {
      emit("warning", {
        message: `the browser dropped the cached ${name} (stored ${new Date(cachedAt).toISOString()}); downloading it again`,
      });
    }
  }
  const fromCache = async () => {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    emit("progress", { file: name, loaded: bytes.length, total: bytes.length, cached: true });
    return { bytes, cached: true };
  };
  const validators = hit && { etag: hit.headers.get("etag"), lastModified: hit.headers.get("last-modified") };
  if (hit && !validators.etag && !validators.lastModified) return fromCache();
  let got;
  try {
    got = await download(url, (loaded, total) => emit("progress", { file: name, loaded, total, cached: false }), validators);
  } catch (e) {
    if (!hit) throw e;
    emit("warning", { message: `could not check the ${name} for updates (${e.message ?? e}); using the cached copy` });
    return fromCache();
  }
  if (got.notModified) return fromCache();
  if (cache) {
    const headers = { "content-type": "application/octet-stream" };
    if (got.etag) headers.etag = got.etag;
    if (got.lastModified) headers["last-modified"] = got.lastModified;
    try {
      await cache.put(url, new Response(got.bytes, { headers }));
      if (await cache.match(url)) {
        await writeMarker(marker, Date.now());
      } else {
        await writeMarker(marker, 0);
        emit("warning", { message: `the browser did not keep the cached ${name}: it will be downloaded on every visit` });
      }
    } catch (e) {
      emit("warning", { message: `could not cache ${name}: ${e.message ?? e}` });
    }
  }
  return { bytes: got.bytes, cached: false };
}

/** When `key`'s asset was cached (ms), or 0; never fails (no database: 0). */
async function readMarker(key) {
  if (!db) return 0;
  try {
    return Number(await dbRequest("readonly", (s) => s.get(key))) || 0;
  } catch {
    return 0;
  }
}

async function writeMarker(key, cachedAt) {
  if (!db) return;
  try {
    await dbRequest("readwrite", (s) => s.put(cachedAt, key));
  } catch {
    // A marker only sharpens a warning; the asset itself is cached or not regardless.
  }
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

/** The stored record, `{bytes, clearedAt}` (earlier versions stored the bytes alone). */
function recordOf(value) {
  if (value == null) return null;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return { bytes: value, clearedAt: 0 };
  return value;
}

/** Brings the engine's profile up to a stored record: a newer "forget me" first, then the stored signals merged in. */
function adopt(record) {
  if (!record) return;
  if (record.writes !== undefined && record.writes === storedWrites && record.clearedAt <= clearedAt) return;
  if (record.clearedAt > clearedAt) {
    engine.clearProfile();
    clearedAt = record.clearedAt;
  }
  if (record.bytes) engine.mergeProfile(record.bytes);
  storedWrites = record.writes ?? -1;
}

/**
 * Changes the profile: `change` runs synchronously inside one read-write transaction, after
 * the stored profile was merged in (or, with `replace`, instead of it), and the result is
 * stored — so concurrent tabs never lose each other's feedback. An error from `change` aborts
 * and is the caller's; a storage failure keeps the change in memory, with a warning.
 */
function update(change, { replace = false } = {}) {
  if (!db) return Promise.resolve(change());
  return new Promise((resolve, reject) => {
    let ran = false;
    let result;
    let failure = null;
    let tx;
    try {
      tx = db.transaction(STORE, "readwrite");
    } catch (e) {
      storageFailed(e);
      resolve(change());
      return;
    }
    const store = tx.objectStore(STORE);
    const get = store.get(profileKey);
    get.onsuccess = () => {
      try {
        const stored = recordOf(get.result);
        if (!replace) adopt(stored);
        result = change();
        ran = true;
        const writes = (stored?.writes ?? 0) + 1;
        store.put({ bytes: engine.exportProfile(), clearedAt, writes }, profileKey);
        storedWrites = writes;
      } catch (e) {
        failure = e;
        tx.abort();
      }
    };
    tx.oncomplete = () => {
      channel?.postMessage({ key: profileKey });
      resolve(result);
    };
    tx.onabort = () => {
      if (failure) return reject(failure);
      storageFailed(tx.error);
      try {
        resolve(ran ? result : change());
      } catch (e) {
        reject(e);
      }
    };
  });
}

function storageFailed(e) {
  db = null;
  emit("warning", { message: `profile storage failed (${e?.message ?? e}); keeping the profile in memory only` });
}

/** Another tab changed the stored profile: catch up, and tell the page. */
async function catchUp() {
  if (!db || !engine) return;
  try {
    adopt(recordOf(await dbRequest("readonly", (s) => s.get(profileKey))));
    emit("profilechange", engine.profile());
  } catch (e) {
    emit("warning", { message: `could not read the profile another tab stored: ${e?.message ?? e}` });
  }
}

/** Runs `use(bytes)` on the file at `url`, downloading it again once if the engine rejects a cached copy. */
async function loadAsset(url, name, use) {
  const got = await fetchCached(url, name);
  try {
    return use(got.bytes);
  } catch (e) {
    if (!got.cached || e instanceof WebAssembly.RuntimeError) throw e;
    emit("warning", { message: `the cached ${name} was unusable (${e.message}); downloading it again` });
    return use((await fetchCached(url, name, { fresh: true })).bytes);
  }
}

/**
 * Downloads the model and attaches it to the engine, in the background: `modelready` when
 * it is in, `modelerror` ({name, message}) when it is not. A wasm trap leaves the instance
 * unusable: it is thrown where nothing catches it, so the page sees the worker fail and
 * starts a new one.
 */
function loadModel(url) {
  model = { url, state: "loading", error: null, retry: false };
  const current = model;
  current.loading = (async () => {
    let downloaded = false;
    try {
      await loadAsset(url, "model", (bytes) => {
        downloaded = true;
        engine.attachModel(bytes);
      });
      current.state = "ready";
      emit("modelready", {});
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        setTimeout(() => {
          throw e;
        });
      }
      current.state = "failed";
      current.error = e;
      current.retry = !downloaded;
      emit("modelerror", { name: e?.name ?? "Error", message: String(e?.message ?? e) });
    }
  })();
  return current.loading;
}

/** Whether `event` carries text, which needs the model (anything else is for the engine to judge). */
function hasText(event) {
  return event !== null && typeof event === "object" && typeof event.text === "string" && event.text.trim() !== "";
}

/** Waits for the model; rejects with `ModelNotLoaded` when it could not be loaded (a failed download is tried again). */
async function modelLoaded() {
  if (model.state === "failed" && model.retry) loadModel(model.url);
  await model.loading;
  if (model.state !== "ready") {
    const why = model.error?.message ?? model.error;
    throw namedError("ModelNotLoaded", `feedback text needs the model, which could not be loaded (${why})`);
  }
}

/** Runs `change` after every change to the profile asked for before it. */
function inOrder(change) {
  const run = changes.then(change);
  changes = run.catch(() => {});
  return run;
}

const ops = {
  async init({ model, catalogue, wasm, wasmRelaxed, simd = "auto", backend = "auto", ratingScale = "1-5" }) {
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
    // The database first: it also holds the markers of what the Cache API should have kept.
    let dbError = null;
    try {
      db = await openDb();
    } catch (e) {
      db = null;
      dbError = e;
    }
    // The catalogue first, alone: on a slow link the two files would share it, and the first
    // cards would wait for both. The model follows it in the background.
    engine = await loadAsset(catalogue, "catalogue", (bytes) => Engine.loadCatalogue(bytes));
    loadModel(model);
    if (!["auto", "gpu", "cpu"].includes(backend)) throw namedError("InvalidInput", `LocalRec.create: backend must be "auto", "gpu" or "cpu", not ${JSON.stringify(backend)}`);
    engine.setRatingScale(ratingScale);
    await engine.useGpu(backend);
    engine.takeBackendEvents();
    profileKey = `profile:${engine.modelId}:${engine.catalogueId}`;
    try {
      if (!db) throw dbError ?? new Error("the profile database closed");
      const saved = recordOf(await dbRequest("readonly", (s) => s.get(profileKey)));
      try {
        adopt(saved);
      } catch (e) {
        emit("warning", { message: `the saved profile was unreadable (${e.message}); starting afresh` });
      }
      if (typeof BroadcastChannel === "function") {
        channel = new BroadcastChannel(`localrec:${profileKey}`);
        channel.onmessage = ({ data }) => data?.key === profileKey && catchUp();
      }
    } catch (e) {
      db = null;
      emit("warning", { message: `IndexedDB unavailable (${e?.message ?? e}); the profile lives in memory only` });
    }
    return {
      items: engine.items,
      backend: engine.backend,
      simd: simdLevel(),
      dims: engine.dims,
      persistent: db !== null,
      modelLoaded: engine.modelLoaded,
    };
  },
  feedback(event) {
    const text = hasText(event);
    // Text given before the model keeps the moment it was given, not the one it is read at.
    if (text && !engine.modelLoaded && event.ts === undefined) event = { ...event, ts: Math.floor(Date.now() / 1000) };
    return inOrder(async () => {
      if (text && !engine.modelLoaded) await modelLoaded();
      await update(() => engine.feedback(event));
      return engine.profile();
    });
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
  // Import and "forget me" replace the profile in every tab: a newer `clearedAt` makes the
  // others drop what they hold before merging the stored profile.
  // Both wait for the changes asked for before them (text waiting for the model included).
  importProfile(bytes) {
    return inOrder(async () => {
      await update(
        () => {
          engine.importProfile(bytes);
          clearedAt = Math.max(Date.now(), clearedAt + 1);
        },
        { replace: true },
      );
      return engine.profile();
    });
  },
  clearProfile() {
    return inOrder(async () => {
      await update(
        () => {
          engine.clearProfile();
          clearedAt = Math.max(Date.now(), clearedAt + 1);
        },
        { replace: true },
      );
      return engine.profile();
    });
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
