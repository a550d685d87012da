//! Which path runs the encoder: the SIMD CPU path or the GPU, chosen by
//! measurement, with a silent fallback to the CPU on any GPU fault.
//!
//! At start, [`crate::encoder::Encoder::use_gpu`] uploads the weights and (for
//! [`BackendPreference::Auto`]) times one short text and one batch on each path,
//! then picks the faster separately for single texts and for batches: one
//! short text is often faster on the CPU, even next to a real GPU. A forced
//! preference skips the timing. Once the GPU fails (device lost, a failed
//! readback, a validation error), that call is finished on the CPU and every
//! later call stays there; [`crate::encoder::Encoder::backend`] and a [`BackendEvent`]
//! report the switch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{Embeddings, Encoder, Model};
use crate::encoder::gpu::GpuBert;
use crate::gpu::{GpuContext, GpuError};
use crate::util::error::Result;
use crate::util::stopwatch::Stopwatch;

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
    type Err = crate::util::error::Error;
    fn from_str(s: &str) -> crate::util::error::Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" | "cpu-simd" => Ok(Self::Cpu),
            "gpu" | "webgpu" => Ok(Self::Gpu),
            other => Err(crate::util::error::Error::InvalidInput {
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

/// Milliseconds measured when the backend was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BackendTimings {
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
        timings: Option<BackendTimings>,
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
pub(crate) struct Health {
    failed: AtomicBool,
    events: Mutex<Vec<BackendEvent>>,
}

impl Health {
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Records a GPU fault once: from now on that path runs on the CPU.
    pub(crate) fn fail(&self, reason: String) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            self.push(BackendEvent::FellBack { reason });
        }
    }

    pub(crate) fn push(&self, event: BackendEvent) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event);
        }
    }

    pub(crate) fn take_events(&self) -> Vec<BackendEvent> {
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

    pub(crate) fn set_choice(&self, choice: BackendChoice, timings: Option<BackendTimings>) {
        if let Ok(mut c) = self.choice.lock() {
            *c = choice;
        }
        self.health.push(BackendEvent::Selected {
            adapter: self.ctx.adapter().name.clone(),
            choice,
            timings,
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

// The encoder's side: attaching a GPU, choosing by timing, running on it.
/// Texts timed to choose the backend: one short text, and a batch.
const SHORT: &str = "short, light reads for the train";
const BATCH_TEXT: &str = "A quiet drama about two sisters who run a bakery in a small \
    seaside town, and the summer a stranger changes everything for them.";
const BATCH: usize = 16;

impl Encoder {
    /// Attaches a GPU: uploads the weights, then picks the path for single
    /// texts and for batches — by timing both (`Auto`) or as forced. Only
    /// int8 bundles run on the GPU. With `Auto`, any failure here leaves the
    /// encoder on the CPU and returns the CPU choice; with `Gpu`, it is an error.
    pub async fn use_gpu(
        &self,
        ctx: Arc<GpuContext>,
        preference: BackendPreference,
    ) -> Result<BackendChoice> {
        if preference == BackendPreference::Cpu {
            self.detach_gpu();
            return Ok(BackendChoice::CPU);
        }
        let attached = match &self.model {
            Model::Int8(model) => GpuBert::upload(&ctx, model),
            Model::F32(_) => Err(GpuError::Shape(
                "the GPU path runs int8 bundles; this one is f32".into(),
            )),
        };
        let model = match attached {
            Ok(m) => m,
            Err(_) if preference == BackendPreference::Auto => {
                self.set_gpu_path(None);
                return Ok(BackendChoice::CPU);
            }
            Err(e) => return Err(e.into()),
        };
        // One thread in the browser (wgpu's handles are not Send there); Send + Sync natively.
        #[allow(clippy::arc_with_non_send_sync)]
        let gpu = Arc::new(GpuPath::new(ctx, model));
        let (choice, timings) = match preference {
            BackendPreference::Gpu => (
                BackendChoice {
                    single: Backend::Gpu,
                    batch: Backend::Gpu,
                },
                None,
            ),
            _ => match self.time_backends(&gpu).await {
                Ok(c) => (
                    BackendChoice {
                        single: faster(c.cpu_single_ms, c.gpu_single_ms),
                        batch: faster(c.cpu_batch_ms, c.gpu_batch_ms),
                    },
                    Some(c),
                ),
                Err(_) => (BackendChoice::CPU, None),
            },
        };
        gpu.set_choice(choice, timings);
        self.set_gpu_path(Some(gpu));
        Ok(choice)
    }

    /// Back to the CPU for everything; the GPU's buffers are released.
    pub fn detach_gpu(&self) {
        self.set_gpu_path(None);
    }

    pub(super) fn gpu_path(&self) -> Option<Arc<GpuPath>> {
        self.gpu.lock().ok().and_then(|g| g.clone())
    }

    fn set_gpu_path(&self, path: Option<Arc<GpuPath>>) {
        if let Ok(mut g) = self.gpu.lock() {
            *g = path;
        }
    }

    /// The paths in force now (all CPU without a GPU or after a GPU fault).
    pub fn backend(&self) -> BackendChoice {
        self.gpu_path().map_or(BackendChoice::CPU, |g| g.choice())
    }

    /// The attached GPU's context (adapter details; fault injection in tests).
    pub fn gpu_context(&self) -> Option<Arc<GpuContext>> {
        self.gpu_path().map(|g| g.ctx.clone())
    }

    /// Backend events since the last call (selection, fallback).
    pub fn take_backend_events(&self) -> Vec<BackendEvent> {
        self.gpu_path().map(|g| g.take_events()).unwrap_or_default()
    }

    /// Embeddings of many texts, in input order, on the chosen paths.
    /// A GPU fault is never an error: that pass and every later one run on the CPU.
    pub async fn embed_batch_async<S: AsRef<str>>(&self, texts: &[S]) -> Result<Embeddings> {
        let (ids, groups) = self.plan(texts)?;
        let mut data = vec![0f32; texts.len() * self.dims];
        for group in groups {
            let rows: Vec<&[u32]> = group.iter().map(|&i| ids[i].as_slice()).collect();
            let pooled = match self.gpu_forward(&rows, texts.len()).await? {
                Some(pooled) => pooled,
                None => self.model.embed(&rows)?,
            };
            self.scatter(&group, &pooled, &mut data);
        }
        Ok(Embeddings {
            dims: self.dims,
            data,
        })
    }

    /// The pass on the GPU when chosen and possible: `Ok(None)` means "use the CPU".
    async fn gpu_forward(&self, rows: &[&[u32]], texts: usize) -> Result<Option<Vec<f32>>> {
        let (Some(gpu), Model::Int8(model)) = (self.gpu_path(), &self.model) else {
            return Ok(None);
        };
        let tokens: usize = rows.iter().map(|r| r.len()).sum();
        // Passes over the GPU's size limits simply run on the CPU (not a fault).
        if gpu.choice().for_texts(texts) != Backend::Gpu
            || tokens > gpu.model.max_tokens(&gpu.ctx)
            || rows.len() > crate::encoder::gpu::MAX_TEXTS_PER_PASS
        {
            return Ok(None);
        }
        let x = model.embeddings(rows)?;
        let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        match gpu.model.forward(&gpu.ctx, &x, &lens).await {
            Ok(pooled) if pooled.iter().all(|v| v.is_finite()) => Ok(Some(pooled)),
            Ok(_) => {
                gpu.fail("the GPU returned non-finite values".into());
                Ok(None)
            }
            Err(e) => {
                gpu.fail(e.to_string());
                Ok(None)
            }
        }
    }

    /// Times one short text and one batch on each path (after a warm-up run).
    async fn time_backends(&self, gpu: &GpuPath) -> std::result::Result<BackendTimings, GpuError> {
        let Model::Int8(model) = &self.model else {
            return Err(GpuError::Shape("the GPU path runs int8 bundles".into()));
        };
        let short = self
            .tokenizer
            .encode(SHORT)
            .map_err(|e| GpuError::Shape(e.to_string()))?;
        let long = self
            .tokenizer
            .encode(BATCH_TEXT)
            .map_err(|e| GpuError::Shape(e.to_string()))?;
        let single: Vec<&[u32]> = vec![&short];
        let batch: Vec<&[u32]> = vec![&long; BATCH];
        let mut ms = [0f64; 4];
        for (slot, rows) in [(0, &single), (2, &batch)] {
            let lens: Vec<usize> = rows.iter().map(|r| r.len()).collect();
            for measure in [false, true] {
                let clock = Stopwatch::start();
                model
                    .embed(rows)
                    .map_err(|e| GpuError::Shape(e.to_string()))?;
                let cpu = clock.elapsed_ms();
                // The GPU path as it runs: the embedding lookup on the CPU, then the layers.
                let clock = Stopwatch::start();
                let x = model
                    .embeddings(rows)
                    .map_err(|e| GpuError::Shape(e.to_string()))?;
                gpu.model.forward(&gpu.ctx, &x, &lens).await?;
                let gpu_ms = clock.elapsed_ms();
                if measure {
                    ms[slot] = cpu;
                    ms[slot + 1] = gpu_ms;
                }
            }
        }
        Ok(BackendTimings {
            cpu_single_ms: ms[0],
            gpu_single_ms: ms[1],
            cpu_batch_ms: ms[2],
            gpu_batch_ms: ms[3],
        })
    }
}

fn faster(cpu_ms: f64, gpu_ms: f64) -> Backend {
    if gpu_ms < cpu_ms {
        Backend::Gpu
    } else {
        Backend::CpuSimd
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
