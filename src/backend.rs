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

use crate::gpu::{GpuBert, GpuContext};

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

/// The GPU side of an encoder: context, resident weights, choice and health.
pub(crate) struct GpuPath {
    pub(crate) ctx: Arc<GpuContext>,
    pub(crate) model: GpuBert,
    choice: Mutex<BackendChoice>,
    failed: AtomicBool,
    events: Mutex<Vec<BackendEvent>>,
}

impl GpuPath {
    pub(crate) fn new(ctx: Arc<GpuContext>, model: GpuBert) -> Self {
        Self {
            ctx,
            model,
            choice: Mutex::new(BackendChoice::CPU),
            failed: AtomicBool::new(false),
            events: Mutex::new(Vec::new()),
        }
    }

    /// The choice now in force (all CPU after a fault).
    pub(crate) fn choice(&self) -> BackendChoice {
        if self.failed.load(Ordering::SeqCst) {
            return BackendChoice::CPU;
        }
        self.choice.lock().map(|c| *c).unwrap_or(BackendChoice::CPU)
    }

    pub(crate) fn set_choice(&self, choice: BackendChoice, calibration: Option<Calibration>) {
        if let Ok(mut c) = self.choice.lock() {
            *c = choice;
        }
        self.push(BackendEvent::Selected {
            adapter: self.ctx.adapter().name.clone(),
            choice,
            calibration,
        });
    }

    /// Records a GPU fault: from now on everything runs on the CPU.
    pub(crate) fn fail(&self, reason: String) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            self.push(BackendEvent::FellBack { reason });
        }
    }

    fn push(&self, event: BackendEvent) {
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
