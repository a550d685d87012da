// localrec: an on-device recommender. The page-side object is a thin typed proxy
// to a module Web Worker, so the page never freezes while the model runs.
//
//   import { LocalRec } from "localrec";
//   const rec = await LocalRec.create({ model: "/models/minilm-l6-v2-int8.lrm", catalogue: "/catalogue.lri",
//                                       onProgress: (p) => (bar.value = p.loaded / p.total) });
//   show(await rec.recommend({ k: 10 }));       // at once: the catalogue is in, the model streams in behind it
//   await rec.feedback({ text: "too long, I want something short and funny" });   // waits for the model
//   const top = await rec.recommend({ k: 10, diversity: 0.3 });

import { namedError } from "./errors.js";

export class LocalRec extends EventTarget {
  #worker = null;
  #spawn;
  #pending = new Map();
  #next = 1;
  #info;
  #initArgs;
  #restarting = null;
  #terminated = false;
  // The model: "loading" until the worker attached it ("ready") or gave up ("failed").
  #modelState = "loading";
  #modelReady;
  #modelSettle;

  /**
   * Starts the worker, downloads (or reads from cache) the catalogue, restores the profile and
   * resolves: recommendations and feedback on items work at once. The model streams in behind
   * (`modelReady`, `modelState`, "modelready" / "modelerror" events); feedback with text waits
   * for it. With `waitForModel` it resolves only once the model is in too.
   */
  static async create(options = {}) {
    const { model, catalogue, onProgress, onWarning, onBackendChange, onCrash, onProfileChange, worker, wasm, wasmRelaxed, simd = "auto", backend = "auto", ratingScale = "1-5", waitForModel = false } = options;
    // A worker we start ourselves can be started again after a crash; one the caller gave cannot.
    const spawn = worker ? null : () => new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    const rec = new LocalRec(worker ?? spawn(), spawn);
    if (onProgress) rec.addEventListener("progress", (e) => onProgress(e.detail));
    if (onWarning) rec.addEventListener("warning", (e) => onWarning(e.detail));
    if (onBackendChange) rec.addEventListener("backendchange", (e) => onBackendChange(e.detail));
    if (onCrash) rec.addEventListener("crash", (e) => onCrash(e.detail));
    if (onProfileChange) rec.addEventListener("profilechange", (e) => onProfileChange(e.detail));
    // Relative URLs mean relative to the page, not to the worker's script.
    const base = globalThis.document?.baseURI ?? globalThis.location?.href;
    const absolute = (u) => (typeof u === "string" || u instanceof URL ? new URL(u, base).href : u);
    rec.#initArgs = {
      model: absolute(model),
      catalogue: absolute(catalogue),
      wasm: wasm && absolute(wasm),
      wasmRelaxed: wasmRelaxed && absolute(wasmRelaxed),
      simd,
      backend,
      ratingScale,
    };
    try {
      rec.#info = await rec.#send("init", rec.#initArgs);
      rec.#noteModel(rec.#info.modelLoaded);
      if (waitForModel) await rec.#modelReady;
    } catch (e) {
      rec.terminate();
      throw e;
    }
    return rec;
  }

  constructor(worker, spawn = null) {
    super();
    this.#spawn = spawn;
    this.#modelReady = new Promise((resolve, reject) => (this.#modelSettle = { resolve, reject }));
    // Nobody may be waiting on it: a failed model must not be an unhandled rejection.
    this.#modelReady.catch(() => {});
    this.#attach(worker);
  }

  /** The worker's word on the model: loaded (`true`), or still loading (`false`, after a restart). */
  #noteModel(loaded) {
    if (loaded) {
      this.#modelState = "ready";
      this.#modelSettle.resolve();
    } else if (this.#modelState === "ready") {
      this.#modelState = "loading"; // a new worker loads it again (from the cache)
    }
  }

  #attach(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      if (data?.event) {
        if (data.event === "backendchange" && this.#info) this.#info.backend = data.detail.backend;
        if (data.event === "modelready") this.#noteModel(true);
        if (data.event === "modelerror") {
          this.#modelState = "failed";
          const { name = "Error", message = "" } = data.detail ?? {};
          this.#modelSettle.reject(namedError(name, message));
        }
        if (data.event === "messageerror") {
          this.#failPending(namedError("MessageError", "the worker could not read a request"));
          return;
        }
        this.dispatchEvent(new CustomEvent(data.event, { detail: data.detail }));
        return;
      }
      const p = this.#pending.get(data?.id);
      if (!p) return;
      this.#pending.delete(data.id);
      if ("error" in data) {
        const { name = "Error", message = String(data.error) } = data.error ?? {};
        p.reject(namedError(name, message));
        // A trap leaves the wasm instance unusable: the worker has closed itself.
        if (name === "WorkerCrashed") this.#crashed(message);
      } else p.resolve(data.result);
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      this.#crashed(`the worker failed: ${e.message ?? e}`);
    };
    worker.onmessageerror = () => this.#failPending(namedError("MessageError", "an answer from the worker could not be read"));
  }

  /** The worker died: every pending call fails, and the next call starts a new one. */
  #crashed(reason) {
    if (!this.#worker) return;
    this.#worker.terminate();
    this.#worker = null;
    this.#failPending(namedError("WorkerCrashed", reason));
    this.dispatchEvent(new CustomEvent("crash", { detail: { reason, restarts: this.#spawn !== null } }));
  }

  #failPending(error) {
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  /** A live worker: after a crash, a new one loaded from cache with the stored profile. */
  async #ready() {
    if (this.#terminated) throw namedError("Terminated", "this LocalRec was terminated");
    if (this.#worker && !this.#restarting) return;
    if (!this.#spawn) throw namedError("WorkerCrashed", "the worker crashed; it was the caller's, so create a new LocalRec");
    this.#restarting ??= (async () => {
      try {
        if (!this.#worker) this.#attach(this.#spawn());
        this.#info = await this.#send("init", this.#initArgs);
        this.#noteModel(this.#info.modelLoaded);
      } finally {
        this.#restarting = null;
      }
    })();
    await this.#restarting;
  }

  async #call(op, ...args) {
    await this.#ready();
    return this.#send(op, ...args);
  }

  #send(op, ...args) {
    // terminate() or a crash may have come between the caller's call and this send.
    if (this.#terminated) return Promise.reject(namedError("Terminated", "LocalRec.terminate() was called"));
    if (!this.#worker) return Promise.reject(namedError("WorkerCrashed", "the worker stopped before the call was sent"));
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
  /** "loading" while the model streams in, "ready" once feedback text can be read, "failed" if it could not be loaded. */
  get modelState() {
    return this.#modelState;
  }
  /** Resolves when the model is loaded; rejects with the named error that stopped it (e.g. `Corrupt`, `ModelMismatch`). */
  get modelReady() {
    return this.#modelReady;
  }

  /**
   * Folds feedback into the private profile: {text?, item?, rating?, kind?, ts?}. Resolves to the
   * profile summary. Text before the model is loaded waits for it (and keeps the time it was
   * given); changes to the profile apply in the order they were asked for, so what follows a
   * waiting text waits too. If the model cannot be loaded, text rejects with `ModelNotLoaded`.
   */
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
  /** Replaces the profile with exported bytes (checked; on error nothing changes); in order with feedback. */
  importProfile(bytes) {
    return this.#call("importProfile", bytes);
  }
  /** Forgets everything the profile holds, here and in storage; in order with feedback. */
  clearProfile() {
    return this.#call("clearProfile");
  }
  /** For resilience tests: `"crash"` kills the worker while this call is pending, `"trap"`
   * fails the call as a wasm trap would. Either way the call rejects with `WorkerCrashed` and
   * the next call restarts the worker (from cache, with the stored profile). */
  injectFault(kind) {
    return this.#call("injectFault", kind);
  }
  /** Stops the worker; pending and later calls reject with a `Terminated` error. */
  terminate() {
    this.#terminated = true;
    this.#worker?.terminate();
    this.#worker = null;
    this.#failPending(namedError("Terminated", "LocalRec.terminate() was called"));
  }
}
