//! The GPU device layer, driven through `wgpu` (the browser's WebGPU on
//! wasm32, Vulkan natively): what the GPU encoder
//! ([`crate::encoder::gpu`]) and the catalogue scoring build on.
//!
//! - [`GpuContext`]: adapter probing, error capture, uploads and readbacks.
//! - [`GpuCatalogue`]: int8 item scoring against weighted directions, and top-k.
//! - `pipeline`, `bind`, `dispatch`: the three steps every kernel launch takes.
//!
//! Every failure is a [`GpuError`] value; the CPU path is the fallback and
//! the oracle in tests (see [`crate::encoder::backend`]).

mod context;
mod scorer;

pub use crate::util::error::GpuError;
pub(crate) use context::{f32s, grid, pack_i8_rows};
pub use context::{AdapterSummary, Fault, GpuContext};
pub use scorer::{GpuCatalogue, ItemScores, WeightedQuery, MAX_GPU_K};

/// A compute pipeline for a module's `main`, with its bind group layout derived from the shader.
pub(crate) fn pipeline(
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
pub(crate) fn bind(
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
pub(crate) fn dispatch(
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
pub(crate) mod tests;
