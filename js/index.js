// localrec: an on-device recommender. The page-side object is a thin typed proxy
// to a module Web Worker, so the page never freezes while the model runs.
//
//   import { LocalRec } from "localrec";
//   const rec = await LocalRec.create({ model: "/models/minilm-l6-v2-int8.lrm", catalogue: "/catalogue.lri",
//                                       onProgress: (p) => (bar.value = p.loaded / p.total) });
//   await rec.feedback({ text: "too long, I want something short and funny" });
//   const top = await rec.recommend({ k: 10, diversity: 0.3 });

export class LocalRec extends EventTarget {
  #worker;
  #pending = new Map();
  #next = 1;
  #info;

  /** Starts the worker, downloads (or reads from cache) the model and catalogue, restores the profile. */
  static async create(options = {}) {
    const { model, catalogue, onProgress, onWarning, onBackendChange, worker, wasm, wasmRelaxed, simd = "auto", backend = "auto" } = options;
    const w = worker ?? new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const rec = new LocalRec(w);
    if (onProgress) rec.addEventListener("progress", (e) => onProgress(e.detail));
    if (onWarning) rec.addEventListener("warning", (e) => onWarning(e.detail));
    if (onBackendChange) rec.addEventListener("backendchange", (e) => onBackendChange(e.detail));
    // Relative URLs mean relative to the page, not to the worker's script.
    const base = globalThis.document?.baseURI ?? globalThis.location?.href;
    const absolute = (u) => (typeof u === "string" || u instanceof URL ? new URL(u, base).href : u);
    try {
      rec.#info = await rec.#call("init", {
        model: absolute(model),
        catalogue: absolute(catalogue),
        wasm: wasm && absolute(wasm),
        wasmRelaxed: wasmRelaxed && absolute(wasmRelaxed),
        simd,
        backend,
      });
    } catch (e) {
      w.terminate();
      throw e;
    }
    return rec;
  }

  constructor(worker) {
    super();
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      if (data?.event) {
        if (data.event === "backendchange" && this.#info) this.#info.backend = data.detail.backend;
        this.dispatchEvent(new CustomEvent(data.event, { detail: data.detail }));
        return;
      }
      const p = this.#pending.get(data?.id);
      if (!p) return;
      this.#pending.delete(data.id);
      if ("error" in data) p.reject(new Error(data.error));
      else p.resolve(data.result);
    };
    worker.onerror = (e) => {
      const err = new Error(`localrec worker failed: ${e.message ?? e}`);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
  }

  #call(op, ...args) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, args });
    });
  }

  /** Which path scores the catalogue: "gpu" (WebGPU) or "cpu-simd". */
  get backend() {
    return this.#info.backend;
  }
  /** The wasm build running: "relaxed-simd" (the faster narrow int8 product) or "simd128". */
  get simd() {
    return this.#info.simd;
  }
  /** Number of items in the catalogue. */
  get items() {
    return this.#info.items;
  }
  /** False when IndexedDB was unavailable and the profile lives in memory only. */
  get persistent() {
    return this.#info.persistent;
  }

  /** Folds feedback into the private profile: {text?, item?, rating?, kind?, ts?}. Resolves to the profile summary. */
  feedback(event) {
    return this.#call("feedback", event);
  }
  /** The top items: {k?, alpha?, diversity?, excludeSeen?, filters?, scene?}. */
  recommend(options = {}) {
    return this.#call("recommend", options);
  }
  /** One catalogue item by id. */
  item(id) {
    return this.#call("item", id);
  }
  /** What the profile holds (for a privacy panel). */
  profile() {
    return this.#call("profile");
  }
  /** The profile as bytes (versioned, checksummed). */
  exportProfile() {
    return this.#call("exportProfile");
  }
  /** Replaces the profile with exported bytes (checked; on error nothing changes). */
  importProfile(bytes) {
    return this.#call("importProfile", bytes);
  }
  /** Forgets everything the profile holds, here and in storage. */
  clearProfile() {
    return this.#call("clearProfile");
  }
  /** Stops the worker. */
  terminate() {
    this.#worker.terminate();
  }
}
