//! The WebGPU path: WGSL compute kernels for the encoder and the catalogue
//! scorer, driven through `wgpu` (the browser's WebGPU on wasm32, Vulkan
//! natively).
//!
//! - [`GpuContext`]: adapter probing, error capture, uploads and readbacks.
//! - [`GpuBert`]: the int8 encoder's transformer layers on the GPU (weights
//!   uploaded once, activations resident across layers, one readback per batch).
//! - [`GpuCatalogue`]: int8 item scoring against profile directions, and top-k.
//!
//! Every failure is a [`GpuError`] value; the CPU path is the fallback and
//! the oracle in tests (see [`crate::backend`]).

mod bert;
mod context;
mod scorer;

pub use bert::{GpuBert, MAX_TEXTS_PER_PASS};
pub use context::{AdapterSummary, Fault, GpuContext};
pub use scorer::{GpuCatalogue, ItemScores, WeightedQuery, MAX_GPU_K};

/// What went wrong on the GPU. None of these reach callers of the automatic
/// backend: they switch it to the CPU.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    /// No adapter (no WebGPU in this browser, no Vulkan driver).
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The device could not be opened, or reported an error.
    #[error("GPU device error: {0}")]
    Device(String),
    /// The device was lost or destroyed.
    #[error("the GPU device was lost")]
    DeviceLost,
    /// Reading results back failed.
    #[error("GPU readback failed: {0}")]
    Readback(String),
    /// A buffer would exceed the adapter's limits.
    #[error("{what} needs {bytes} bytes, over the GPU limit of {limit}")]
    TooLarge {
        /// Which buffer.
        what: String,
        /// Bytes it needs.
        bytes: u64,
        /// The adapter's limit.
        limit: u64,
    },
    /// Inputs of the wrong shape.
    #[error("wrong shape for the GPU: {0}")]
    Shape(String),
}

/// A compute pipeline for a module's `main`, with its bind group layout derived from the shader.
fn pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    label: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Binds `buffers` to bindings 0, 1, 2, … of group 0.
fn bind(
    device: &wgpu::Device,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// Records one dispatch.
fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    bind: &wgpu::BindGroup,
    (x, y): (u32, u32),
) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: None,
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind, &[]);
    pass.dispatch_workgroups(x, y, 1);
}

#[cfg(test)]
mod tests;
