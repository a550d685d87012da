//! The GPU device: adapter probing, error capture, uploads and readbacks.
//!
//! One [`GpuContext`] is built per process (per page in the browser) and shared
//! by the GPU encoder and scorer. Every piece of GPU work runs inside error
//! scopes, and wgpu's "uncaptured error" and "device lost" hooks only record
//! what happened, so a GPU fault never panics: it comes back as a
//! [`GpuError`], and callers fall back to the CPU path.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use wgpu::util::DeviceExt;

use super::GpuError;

/// What the adapter is, as probed at start.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    /// Adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "SwiftShader".
    pub name: String,
    /// Backend: "vulkan", "webgpu", …
    pub backend: String,
    /// Discrete / integrated / virtual / cpu / other.
    pub device_type: String,
    /// A software rasteriser (lavapipe, SwiftShader, WARP): correct but slow.
    pub software: bool,
    /// Largest storage buffer binding, bytes.
    pub max_storage_binding: u64,
    /// Whether the adapter offers `shader-f16` (the kernels accumulate in f32 either way).
    pub shader_f16: bool,
}

/// A deliberate fault, for resilience tests and demos. It strikes at a
/// readback: after `after` more readbacks have succeeded, so a multi-pass
/// call can be hit in its middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Destroys the device (as a lost device): this and every later GPU call fail.
    LoseDevice {
        /// Readbacks that still succeed first.
        after: u32,
    },
    /// That readback fails, as a failing `mapAsync` would.
    FailReadback {
        /// Readbacks that still succeed first.
        after: u32,
    },
}

/// The adapter, device and queue, with the state of their health.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    lost: Arc<AtomicBool>,
    uncaptured: Arc<Mutex<Option<String>>>,
    fault: Mutex<Option<Fault>>,
    /// One piece of GPU work at a time: error scopes are a per-device stack,
    /// so interleaved async calls would pop each other's scopes.
    gate: Gate,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.summary)
            .field("lost", &self.lost.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Finds an adapter and opens a device on it. `Err(GpuError::NoAdapter)`
    /// when the platform has none (no WebGPU in this browser, no Vulkan driver).
    pub async fn acquire() -> Result<Self, GpuError> {
        #[cfg(target_arch = "wasm32")]
        let backends = wgpu::Backends::BROWSER_WEBGPU;
        #[cfg(not(target_arch = "wasm32"))]
        let backends = wgpu::Backends::VULKAN;
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type).to_lowercase(),
            software: info.device_type == wgpu::DeviceType::Cpu
                || info.name.to_lowercase().contains("swiftshader")
                || info.name.to_lowercase().contains("llvmpipe"),
            max_storage_binding: limits.max_storage_buffer_binding_size,
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("localrec"),
                required_features: wgpu::Features::empty(),
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        Ok(Self {
            device,
            queue,
            summary,
            lost,
            uncaptured,
            fault: Mutex::new(None),
            gate: Gate::default(),
        })
    }

    /// What the adapter is.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// Whether the device is gone (lost, destroyed): every call will fail.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Arms a fault (resilience tests); it replaces any armed one.
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.fault.lock() {
            *f = Some(fault);
        }
    }

    /// Counts down the armed fault at a readback; `Err` when it strikes.
    fn strike(&self) -> Result<(), GpuError> {
        let Ok(mut armed) = self.fault.lock() else {
            return Ok(());
        };
        match *armed {
            Some(Fault::LoseDevice { after: 0 }) => {
                *armed = None;
                self.device.destroy();
                self.lost.store(true, Ordering::SeqCst);
                Err(GpuError::DeviceLost)
            }
            Some(Fault::FailReadback { after: 0 }) => {
                *armed = None;
                Err(GpuError::Readback("injected readback failure".into()))
            }
            Some(Fault::LoseDevice { after }) => {
                *armed = Some(Fault::LoseDevice { after: after - 1 });
                Ok(())
            }
            Some(Fault::FailReadback { after }) => {
                *armed = Some(Fault::FailReadback { after: after - 1 });
                Ok(())
            }
            None => Ok(()),
        }
    }

    pub(crate) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// Fails fast when the device is gone or an earlier error was not captured.
    pub(crate) fn check(&self) -> Result<(), GpuError> {
        if self.is_lost() {
            return Err(GpuError::DeviceLost);
        }
        if let Some(message) = self.uncaptured.lock().ok().and_then(|mut s| s.take()) {
            return Err(GpuError::Device(message));
        }
        Ok(())
    }

    /// A storage buffer holding `data`.
    pub(crate) fn upload(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        // Storage bindings need a 4-byte-aligned size of at least the shader's
        // element size (16 bytes covers every element type the kernels use).
        let mut padded;
        let contents = if data.len() < 16 || !data.len().is_multiple_of(4) {
            padded = data.to_vec();
            padded.resize(data.len().div_ceil(4).max(4) * 4, 0);
            &padded[..]
        } else {
            data
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A uniform buffer holding `data`.
    pub(crate) fn uniform(&self, label: &str, data: &[u8]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: data,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// An uninitialised storage buffer of `bytes` (rounded up to 4), copyable out.
    pub(crate) fn scratch(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
        let size = bytes.max(4).div_ceil(4) * 4;
        if size > self.summary.max_storage_binding {
            return Err(GpuError::TooLarge {
                what: label.to_string(),
                bytes: size,
                limit: self.summary.max_storage_binding,
            });
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// Records work with `encode`, submits it, and reads back `sources`
    /// (buffer, bytes) in one map. Validation and out-of-memory errors raised
    /// by the work come back as errors.
    pub(crate) async fn run_and_read(
        &self,
        label: &str,
        encode: impl FnOnce(&mut wgpu::CommandEncoder),
        sources: &[(&wgpu::Buffer, u64)],
    ) -> Result<Vec<Vec<u8>>, GpuError> {
        let _turn = self.gate.enter().await;
        self.check()?;
        let total: u64 = sources.iter().map(|(_, n)| n.div_ceil(4) * 4).sum();
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("localrec readback"),
            size: total.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        encode(&mut encoder);
        let mut offset = 0;
        for (buffer, bytes) in sources {
            let n = bytes.div_ceil(4) * 4;
            if n > 0 {
                encoder.copy_buffer_to_buffer(buffer, 0, &staging, offset, n);
            }
            offset += n;
        }
        self.queue.submit([encoder.finish()]);
        let validation = validation.pop().await;
        let oom = oom.pop().await;
        if let Some(e) = validation.or(oom) {
            return Err(GpuError::Device(e.to_string()));
        }
        self.strike()?;
        let slice = staging.slice(..);
        let mapped = MapSignal::default();
        let signal = mapped.clone();
        slice.map_async(wgpu::MapMode::Read, move |r| signal.finish(r.is_ok()));
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        if !mapped.await {
            self.check()?;
            return Err(GpuError::Readback("buffer map failed".into()));
        }
        let view = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let mut out = Vec::with_capacity(sources.len());
        let mut offset = 0usize;
        for (_, bytes) in sources {
            let n = *bytes as usize;
            out.push(view[offset..offset + n].to_vec());
            offset += n.div_ceil(4) * 4;
        }
        drop(view);
        staging.unmap();
        self.check()?;
        Ok(out)
    }
}

/// An async mutual exclusion without a runtime: waiters queue their wakers.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, VecDeque<Waker>)>,
}

impl Gate {
    fn enter(&self) -> Enter<'_> {
        Enter { gate: self }
    }
}

/// Resolves to a [`Turn`] once the gate is free.
struct Enter<'a> {
    gate: &'a Gate,
}

impl<'a> Future for Enter<'a> {
    type Output = Turn<'a>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Turn<'a>> {
        let gate = self.gate;
        let Ok(mut state) = gate.state.lock() else {
            // A poisoned lock means a panic elsewhere; go ahead rather than hang.
            return Poll::Ready(Turn { gate: None });
        };
        if state.0 {
            state.1.push_back(cx.waker().clone());
            Poll::Pending
        } else {
            state.0 = true;
            Poll::Ready(Turn { gate: Some(gate) })
        }
    }
}

/// Holds the gate until dropped, then wakes the waiters (one wins, the rest queue again).
struct Turn<'a> {
    gate: Option<&'a Gate>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(gate) = self.gate {
            if let Ok(mut state) = gate.state.lock() {
                state.0 = false;
                for waiter in state.1.drain(..) {
                    waiter.wake();
                }
            }
        }
    }
}

/// Resolves when a buffer map finishes: `true` if it succeeded.
#[derive(Clone, Default)]
struct MapSignal {
    state: Arc<Mutex<(Option<bool>, Option<Waker>)>>,
}

impl MapSignal {
    fn finish(&self, ok: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.0 = Some(ok);
            if let Some(w) = s.1.take() {
                w.wake();
            }
        }
    }
}

impl Future for MapSignal {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.state.lock() {
            Ok(mut s) => match s.0 {
                Some(ok) => Poll::Ready(ok),
                None => {
                    s.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            },
            Err(_) => Poll::Ready(false),
        }
    }
}

/// Reinterprets little-endian bytes as f32 values.
pub(crate) fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Reinterprets little-endian bytes as u32 values.
pub(crate) fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Packs int8 rows of `dims` values into u32 words (4 per word, little-endian),
/// each row padded with zeros to `dims.div_ceil(4)` words.
pub(crate) fn pack_i8_rows(values: &[i8], dims: usize) -> Vec<u32> {
    let words = dims.div_ceil(4);
    let rows = values.len().checked_div(dims).unwrap_or(0);
    let mut out = vec![0u32; rows * words];
    for (r, row) in values.chunks_exact(dims.max(1)).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[r * words + j / 4] |= u32::from(v as u8) << (8 * (j % 4));
        }
    }
    out
}

/// Splits `groups` workgroups into an (x, y) grid within the per-dimension limit.
pub(crate) fn grid(groups: u32) -> (u32, u32) {
    const MAX: u32 = 65_535;
    if groups <= MAX {
        (groups.max(1), 1)
    } else {
        (MAX, groups.div_ceil(MAX))
    }
}
