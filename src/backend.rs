//! Which path runs the encoder: the SIMD CPU path or the GPU, chosen by
//! measurement, with a silent fallback to the CPU on any GPU fault.
//!
//! At start, [`crate::Encoder::use_gpu`] uploads the weights and (for
//! [`BackendPreference::Auto`]) times one short text and one batch on each path,
//! then picks the faster separately for single texts and for batches: one
//! short text is often faster on the CPU, even next to a real GPU. A forced
//! preference skips the timing. Once the GPU fails (device lost, a failed
//! readback, a validation error), that call is finished on the CPU and every
//! later call stays there; [`crate::Encoder::backend`] and a [`BackendEvent`]
//! report the switch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::gpu::{GpuBert, GpuContext, WeightedQuery};

/// A compute path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// The int8 SIMD CPU path (simd128 in the browser, AVX2 natively).
    CpuSimd,
    /// WGSL kernels on the GPU (WebGPU in the browser, Vulkan natively).
    Gpu,
}

impl Backend {
    /// The name the CLI and JavaScript use: "cpu-simd" or "gpu".
    pub fn name(self) -> &'static str {
        match self {
            Backend::CpuSimd => "cpu-simd",
            Backend::Gpu => "gpu",
        }
    }
}

/// What the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendPreference {
    /// Measure both and take the faster, per single text and per batch.
    #[default]
    Auto,
    /// The CPU only.
    Cpu,
    /// The GPU for everything (still falls back to the CPU on a fault).
    Gpu,
}

impl std::str::FromStr for BackendPreference {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" | "cpu-simd" => Ok(Self::Cpu),
            "gpu" | "webgpu" => Ok(Self::Gpu),
            other => Err(crate::Error::InvalidInput {
                what: "backend",
                reason: format!("{other:?} is not one of auto, cpu, gpu"),
            }),
        }
    }
}

/// The path chosen for single texts and for batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackendChoice {
    /// For a call with one text.
    pub single: Backend,
    /// For a forward pass of several texts.
    pub batch: Backend,
}

impl BackendChoice {
    /// Both on the CPU.
    pub const CPU: Self = Self {
        single: Backend::CpuSimd,
        batch: Backend::CpuSimd,
    };
    /// The path for a forward pass of `texts` texts.
    pub fn for_texts(self, texts: usize) -> Backend {
        if texts <= 1 {
            self.single
        } else {
            self.batch
        }
    }
}

/// Milliseconds measured by the calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibration {
    /// One short text on the CPU.
    pub cpu_single_ms: f64,
    /// The same text on the GPU.
    pub gpu_single_ms: f64,
    /// A batch on the CPU.
    pub cpu_batch_ms: f64,
    /// The same batch on the GPU.
    pub gpu_batch_ms: f64,
}

/// Something the backend did that the caller may want to show or log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BackendEvent {
    /// The GPU was attached and a choice made.
    Selected {
        /// The adapter's name.
        adapter: String,
        /// What was chosen.
        choice: BackendChoice,
        /// The timings behind it (absent when the choice was forced).
        calibration: Option<Calibration>,
    },
    /// The GPU failed; this call and later ones run on the CPU.
    FellBack {
        /// What failed.
        reason: String,
    },
}

/// Whether a GPU path has failed, and the events it has to report: shared by
/// the encoder's and the scorer's GPU paths.
#[derive(Default)]
struct Health {
    failed: AtomicBool,
    events: Mutex<Vec<BackendEvent>>,
}

impl Health {
    fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Records a GPU fault once: from now on that path runs on the CPU.
    fn fail(&self, reason: String) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            self.push(BackendEvent::FellBack { reason });
        }
    }

    fn push(&self, event: BackendEvent) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event);
        }
    }

    fn take_events(&self) -> Vec<BackendEvent> {
        self.events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

/// The GPU side of an encoder: context, resident weights, choice and health.
pub(crate) struct GpuPath {
    pub(crate) ctx: Arc<GpuContext>,
    pub(crate) model: GpuBert,
    choice: Mutex<BackendChoice>,
    health: Health,
}

impl GpuPath {
    pub(crate) fn new(ctx: Arc<GpuContext>, model: GpuBert) -> Self {
        Self {
            ctx,
            model,
            choice: Mutex::new(BackendChoice::CPU),
            health: Health::default(),
        }
    }

    /// The choice now in force (all CPU after a fault).
    pub(crate) fn choice(&self) -> BackendChoice {
        if self.health.failed() {
            return BackendChoice::CPU;
        }
        self.choice.lock().map(|c| *c).unwrap_or(BackendChoice::CPU)
    }

    pub(crate) fn set_choice(&self, choice: BackendChoice, calibration: Option<Calibration>) {
        if let Ok(mut c) = self.choice.lock() {
            *c = choice;
        }
        self.health.push(BackendEvent::Selected {
            adapter: self.ctx.adapter().name.clone(),
            choice,
            calibration,
        });
    }

    /// Records a GPU fault: from now on everything runs on the CPU.
    pub(crate) fn fail(&self, reason: String) {
        self.health.fail(reason);
    }

    pub(crate) fn take_events(&self) -> Vec<BackendEvent> {
        self.health.take_events()
    }
}

/// Directions paired with their ranking weights.
fn weighted(directions: &[crate::profile::Direction], weights: Vec<f32>) -> Vec<WeightedQuery<'_>> {
    directions
        .iter()
        .zip(weights)
        .map(|(d, weight)| WeightedQuery {
            vector: &d.vector,
            weight,
        })
        .collect()
}

/// Measures elapsed wall time, natively and in the browser (where
/// `std::time::Instant` is unavailable): `performance.now()`, else `Date.now()`.
pub(crate) struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start: f64,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        return Self {
            start: std::time::Instant::now(),
        };
        #[cfg(target_arch = "wasm32")]
        Self { start: js_now_ms() }
    }

    pub(crate) fn elapsed_ms(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64() * 1e3;
        #[cfg(target_arch = "wasm32")]
        (js_now_ms() - self.start)
    }
}

#[cfg(target_arch = "wasm32")]
fn js_now_ms() -> f64 {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let performance = js_sys::Reflect::get(&global, &"performance".into())
        .ok()
        .filter(|p| p.is_object());
    if let Some(p) = performance {
        let now = js_sys::Reflect::get(&p, &"now".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(v) = now.and_then(|f| f.call0(&p).ok()).and_then(|v| v.as_f64()) {
            return v;
        }
    }
    js_sys::Date::now()
}

/// Catalogue scoring on the GPU for a [`crate::Recommender`]'s index, chosen
/// by measurement (or forced), falling back to the CPU kernel on any fault.
/// Built once per index; the CPU ranker does everything after the scores
/// (filters, popularity blend, exact re-ranking, diversity, explanations).
pub struct CatalogueScoring {
    ctx: Arc<GpuContext>,
    catalogue: crate::gpu::GpuCatalogue,
    choice: Backend,
    health: Health,
}

impl std::fmt::Debug for CatalogueScoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogueScoring")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl CatalogueScoring {
    /// Uploads `index`'s item matrix and picks the path: `Auto` times one
    /// scoring pass on each, `Gpu` forces the GPU, `Cpu` keeps the CPU.
    pub async fn attach(
        ctx: Arc<GpuContext>,
        index: &crate::CatalogueIndex,
        preference: BackendPreference,
    ) -> crate::Result<Self> {
        let catalogue = crate::gpu::GpuCatalogue::upload(&ctx, index.matrix())?;
        let mut scoring = Self {
            ctx,
            catalogue,
            choice: Backend::CpuSimd,
            health: Health::default(),
        };
        let (choice, calibration) = match preference {
            BackendPreference::Cpu => (Backend::CpuSimd, None),
            BackendPreference::Gpu => (Backend::Gpu, None),
            // Nothing to time on an empty catalogue: the CPU has nothing to do either.
            BackendPreference::Auto if index.is_empty() => (Backend::CpuSimd, None),
            BackendPreference::Auto => {
                let probe: Vec<f32> = index.vector(0);
                let m = index.matrix();
                let kernel = crate::scoring::Kernel::detect();
                let q = [crate::scoring::Query::new(&probe)];
                let mut out = vec![Vec::new()];
                let mut ms = [0f64; 2];
                for measure in [false, true] {
                    let clock = Stopwatch::start();
                    m.score_all(kernel, &q, &mut out);
                    let cpu = clock.elapsed_ms();
                    let clock = Stopwatch::start();
                    let one = [WeightedQuery {
                        vector: &probe,
                        weight: 1.0,
                    }];
                    let gpu = scoring.catalogue.scores(&scoring.ctx, &one, &[], 0.0).await;
                    let gpu_ms = clock.elapsed_ms();
                    if gpu.is_err() {
                        ms = [0.0, f64::INFINITY];
                        break;
                    }
                    if measure {
                        ms = [cpu, gpu_ms];
                    }
                }
                let choice = if ms[1] < ms[0] {
                    Backend::Gpu
                } else {
                    Backend::CpuSimd
                };
                (
                    choice,
                    Some(Calibration {
                        cpu_single_ms: ms[0],
                        gpu_single_ms: ms[1],
                        cpu_batch_ms: ms[0],
                        gpu_batch_ms: ms[1],
                    }),
                )
            }
        };
        scoring.choice = choice;
        scoring.health.push(BackendEvent::Selected {
            adapter: scoring.ctx.adapter().name.clone(),
            choice: BackendChoice {
                single: choice,
                batch: choice,
            },
            calibration,
        });
        Ok(scoring)
    }

    /// The path in force (the CPU after a GPU fault).
    pub fn backend(&self) -> Backend {
        if self.health.failed() {
            Backend::CpuSimd
        } else {
            self.choice
        }
    }

    /// The GPU context (adapter details; fault injection in tests).
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Events since the last call (selection, fallback).
    pub fn take_events(&self) -> Vec<BackendEvent> {
        self.health.take_events()
    }

    /// The top items for `profile`, as [`crate::Recommender::recommend`]
    /// returns them, with the catalogue scored on the chosen path. A GPU fault
    /// is not an error: this call and later ones score on the CPU.
    pub async fn recommend(
        &self,
        rec: &crate::Recommender,
        profile: &crate::IntentProfile,
        options: &crate::RankOptions,
    ) -> crate::Result<Vec<crate::Recommendation>> {
        if self.backend() != Backend::Gpu || self.catalogue.rows() != rec.index().len() {
            return rec.recommend(profile, options);
        }
        options.validate()?;
        profile.check_model(rec.index().model_id(), rec.index().dims())?;
        let ranker = rec.ranker();
        let (directions, _, _) = ranker.read_profile(profile, options.now);
        let (gains, strengths) = crate::Ranker::direction_weights(&directions);
        let interests = weighted(&directions.interests, gains);
        let negatives = weighted(&directions.negatives, strengths);
        let scores = self
            .catalogue
            .scores(&self.ctx, &interests, &negatives, options.negative_margin)
            .await;
        match scores {
            Ok(scores) => ranker
                .with_item_scores(crate::ranker::ItemScoresRef {
                    positive: &scores.positive,
                    push: &scores.push,
                })?
                .rank(profile, options),
            Err(e) => {
                self.health.fail(e.to_string());
                rec.recommend(profile, options)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_parse_and_choices_split_by_size() {
        assert_eq!(
            "auto".parse::<BackendPreference>().unwrap(),
            BackendPreference::Auto
        );
        assert_eq!(
            "gpu".parse::<BackendPreference>().unwrap(),
            BackendPreference::Gpu
        );
        assert_eq!(
            "cpu-simd".parse::<BackendPreference>().unwrap(),
            BackendPreference::Cpu
        );
        assert!("tpu".parse::<BackendPreference>().is_err());
        let c = BackendChoice {
            single: Backend::CpuSimd,
            batch: Backend::Gpu,
        };
        assert_eq!(c.for_texts(1), Backend::CpuSimd);
        assert_eq!(c.for_texts(8), Backend::Gpu);
    }
}
