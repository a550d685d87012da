// Types for the localrec package (js/index.js).

export interface Progress {
  /** "model" or "catalogue". */
  file: string;
  /** Decoded bytes so far. */
  loaded: number;
  /** The file's decoded size (from its own header, right also when the host compresses);
   * 0 while it is not known yet. The last event of a file has loaded == total. */
  total: number;
  /** True when read from the Cache API (no network). */
  cached: boolean;
}

export interface Warning {
  message: string;
}

export interface CreateOptions {
  /** URL of the model bundle (.lrm). */
  model: string;
  /** URL of the catalogue index (.lri). */
  catalogue: string;
  onProgress?: (p: Progress) => void;
  onWarning?: (w: Warning) => void;
  /** A worker running localrec's worker.js (default: a new module worker). */
  worker?: Worker;
  /** URL of localrec_bg.wasm, when a bundler moves it. */
  wasm?: string | URL;
  /** URL of localrec_relaxed_bg.wasm, when a bundler moves it. */
  wasmRelaxed?: string | URL;
  /**
   * Which wasm build runs: "auto" (default: the relaxed-SIMD build where the browser
   * validates relaxed SIMD, else simd128), "relaxed-simd" (an error without it) or
   * "simd128" (the wide int8 product: min cosine 0.99655 against PyTorch on the reference texts,
   * against 0.99608 for relaxed SIMD; measured 2026-12-02).
   */
  simd?: "auto" | "relaxed-simd" | "simd128";
  /**
   * Which path scores the catalogue: "auto" (default: WebGPU if the browser has it and a
   * one-pass timing says it is faster), "gpu" (WebGPU, an error without it) or "cpu".
   */
  backend?: "auto" | "gpu" | "cpu";
  /**
   * The scale of the ratings given to `feedback`: "1-5" (default), "0.5-5" (half stars), "1-10",
   * "thumbs" (0 or 1), or any "MIN-MAX". Each rating is mapped to 1–5 stars as the native events
   * reader maps it; a rating off the scale rejects with InvalidInput naming the scale.
   */
  ratingScale?: string;
  /** Called when a GPU fault moved scoring to the CPU (results are unaffected). */
  onBackendChange?: (change: BackendChange) => void;
  /** Called when the worker died (pending calls rejected with `WorkerCrashed`); the next call
   * starts a new one from cache with the stored profile, unless the caller supplied `worker`. */
  onCrash?: (crash: Crash) => void;
  /** Called when another tab (or extension page) of this origin changed the shared profile —
   * feedback, import or "forget me" — and this one caught up; also a "profilechange" event. */
  onProfileChange?: (profile: ProfileSummary) => void;
  /**
   * Resolve `create` only once the model is loaded too (default false: it resolves as soon as
   * the catalogue is in, and the model streams in behind it; see `LocalRec.modelReady`). With
   * true, a model that cannot be loaded rejects `create`.
   */
  waitForModel?: boolean;
}

/** Where the model stands: streaming in, loaded (text can be read), or not loadable. */
export type ModelState = "loading" | "ready" | "failed";

/** The `detail` of a "modelerror" event: the error that stopped the model. */
export interface ModelError {
  name: LocalRecErrorName | string;
  message: string;
}

export interface Crash {
  reason: string;
  /** False when the worker was the caller's (`CreateOptions.worker`): create a new LocalRec. */
  restarts: boolean;
}

/**
 * The `name` of every `Error` a LocalRec call rejects with:
 * - "InvalidInput": an argument out of range or malformed (bad rating, unknown option, bad k);
 * - "UnknownItem": an item id the catalogue does not have;
 * - "Corrupt": bytes that are not a valid model bundle, catalogue index or profile;
 * - "UnsupportedVersion": a file written by a newer localrec;
 * - "ModelMismatch": a catalogue or profile made with another model;
 * - "ModelNotLoaded": feedback text when the model could not be loaded (before it has loaded,
 *   text waits for it instead);
 * - "Compute", "Gpu", "Io": the model, the GPU or storage failed;
 * - "Terminated": `terminate()` was called (pending and later calls);
 * - "WorkerCrashed": the worker died or the engine trapped during the call (the next call restarts it);
 * - "MessageError": a message between page and worker could not be read;
 * - "UnknownOperation", "NotInitialised", "Internal": a bug in the caller or in localrec.
 * Network and other browser failures keep the browser's own error names (e.g. "TypeError").
 */
export type LocalRecErrorName =
  | "InvalidInput" | "UnknownItem" | "Corrupt" | "UnsupportedVersion" | "ModelMismatch"
  | "ModelNotLoaded" | "Compute" | "Gpu" | "Io" | "Terminated" | "WorkerCrashed" | "MessageError"
  | "UnknownOperation" | "NotInitialised" | "Internal";

export interface BackendChange {
  backend: "gpu" | "cpu-simd";
  reason: string;
}

export type FeedbackKind = "like" | "dislike" | "not_interested" | "view" | "purchase" | "review";

export interface Feedback {
  /** Free text ("too long, I want short quick reads") or a review when `item` is set. */
  text?: string;
  /** Catalogue item id. */
  item?: string;
  /** Stars, 1–5. */
  rating?: number;
  kind?: FeedbackKind;
  /** Unix seconds (default: now). */
  ts?: number;
}

export interface NumericRange {
  min?: number;
  max?: number;
}

export interface Filters {
  categories?: string[];
  /** Any of these tags. */
  tags?: string[];
  price?: NumericRange;
  attributes?: { key: string; range?: NumericRange; oneOf?: string[] }[];
  exclude?: string[];
}

export type BoostTarget =
  | { category: string }
  | { tag: string }
  | { attribute: { key: string; range?: NumericRange; equals?: string } };

export interface Scene {
  name: string;
  boosts: { target: BoostTarget; factor: number }[];
}

export interface RecommendOptions {
  k?: number;
  /** Relevance against popularity, 0–1 (default 0.9). */
  alpha?: number;
  /** MMR diversity λ, 0–1 (default 0). */
  diversity?: number;
  /** Leave out items the user already acted on (default true). */
  excludeSeen?: boolean;
  negativeMargin?: number;
  filters?: Filters;
  scene?: Scene | null;
  /** With a catalogue index built with interactions: text / collaborative / popularity
   *  weights (≥ 0, summing to 1); default: the weights learned for the catalogue. */
  blend?: { text: number; collaborative: number; popularity: number } | null;
}

export interface Reason {
  /** "collaborative": "people who liked <title> also liked this" (indexes built with interactions); "kept_out": a rejection keeps the item out. */
  kind: "feedback" | "collaborative" | "popular" | "scene" | "kept_out";
  effect: "up" | "down";
  /** The evidence in words: the user's words, an item title, "people who liked <title> also liked this", "popular", "scene: <name>", or what a rejection keeps out. */
  evidence: string;
  item?: string;
  weight: number;
}

export interface Recommendation {
  id: string;
  title: string;
  score: number;
  relevance: number;
  popularity: number;
  why: Reason[];
  snippet: string;
  url?: string;
  category?: string;
  tags: string[];
  price?: number;
  attributes: Record<string, string | number>;
}

export interface ProfileSummary {
  /** `rejects`: the concept a rejection keeps out ("horror"). */
  signals: { ts: number; weight: number; text?: string; item?: string; title?: string; rejects?: string }[];
  notInterested: string[];
  seen: string[];
  /** Size of the exported profile. */
  bytes: number;
}

/**
 * Events (`addEventListener`; `detail` as typed): "progress" (Progress), "warning" (Warning),
 * "backendchange" (BackendChange), "crash" (Crash), "profilechange" (ProfileSummary),
 * "modelready" ({}), "modelerror" (ModelError).
 */
export declare class LocalRec extends EventTarget {
  /** Resolves once the catalogue is in (the model streams in behind it), or with
   * `waitForModel` once both are. */
  static create(options: CreateOptions): Promise<LocalRec>;
  /** The path scoring the catalogue; a "backendchange" event says when a GPU fault moves it to the CPU. */
  readonly backend: "gpu" | "cpu-simd";
  /** The wasm build running: "relaxed-simd" or "simd128". */
  readonly simd: "relaxed-simd" | "simd128";
  readonly items: number;
  readonly persistent: boolean;
  /** "loading" while the model streams in (progress events with file "model"), then "ready" or "failed". */
  readonly modelState: ModelState;
  /** Resolves when the model is loaded; rejects with the named error that stopped it. */
  readonly modelReady: Promise<void>;
  /** Text before the model is loaded waits for it (keeping the time it was given); changes to the
   * profile (feedback, import, clear) apply in the order they were asked for. */
  feedback(event: Feedback): Promise<ProfileSummary>;
  recommend(options?: RecommendOptions): Promise<Recommendation[]>;
  item(id: string): Promise<Omit<Recommendation, "score" | "relevance" | "popularity" | "why">>;
  profile(): Promise<ProfileSummary>;
  exportProfile(): Promise<Uint8Array>;
  importProfile(bytes: Uint8Array | ArrayBuffer): Promise<ProfileSummary>;
  clearProfile(): Promise<ProfileSummary>;
  /** For resilience tests: "crash" kills the worker with this call pending, "trap" fails it as a
   * wasm trap would; the call rejects with `WorkerCrashed` and the next call restarts the worker. */
  injectFault(kind: "crash" | "trap"): Promise<never>;
  /** Stops the worker; pending and later calls reject with a `Terminated` error. */
  terminate(): void;
}
