//! The int8 encoder's transformer layers on the GPU.
//!
//! The same weights as the CPU's int8 forward (`encoder::int8`) (int8 with one scale per
//! 32 inputs, dequantised in the shader), uploaded once. A batch's texts lie
//! end to end as one `[tokens, hidden]` matrix, as on the CPU: the CPU does the
//! embedding lookup and its LayerNorm (a table read), the GPU runs every layer
//! (fused QKV GEMM, attention per text, output GEMM, residual + LayerNorm,
//! GELU GEMM, down GEMM, residual + LayerNorm), then mean pooling and L2
//! normalisation; one readback per batch.

use crate::cpu::gemm::PackedLinear;
use crate::encoder::int8::{Int8Bert, Norm};
use crate::gpu::{bind, dispatch, f32s, grid, pack_i8_rows, pipeline, GpuContext, GpuError};

/// A linear layer on the GPU.
struct GpuLinear {
    weights: wgpu::Buffer,
    scales: wgpu::Buffer,
    bias: wgpu::Buffer,
    outputs: u32,
    inputs: u32,
}

impl GpuLinear {
    fn upload(ctx: &GpuContext, linear: &PackedLinear) -> Self {
        let (values, scales) = linear.unpack();
        Self {
            weights: ctx.upload(
                "localrec weights",
                bytemuck::cast_slice(&pack_i8_rows(&values, linear.inputs())),
            ),
            scales: ctx.upload("localrec weight scales", bytemuck::cast_slice(&scales)),
            bias: ctx.upload("localrec bias", bytemuck::cast_slice(linear.bias())),
            outputs: linear.outputs() as u32,
            inputs: linear.inputs() as u32,
        }
    }
}

struct GpuNorm {
    gamma: wgpu::Buffer,
    beta: wgpu::Buffer,
}

impl GpuNorm {
    fn upload(ctx: &GpuContext, norm: &Norm) -> Self {
        Self {
            gamma: ctx.upload("localrec gamma", bytemuck::cast_slice(&norm.gamma)),
            beta: ctx.upload("localrec beta", bytemuck::cast_slice(&norm.beta)),
        }
    }
}

struct GpuLayer {
    qkv: GpuLinear,
    attn_out: GpuLinear,
    attn_norm: GpuNorm,
    up: GpuLinear,
    down: GpuLinear,
    out_norm: GpuNorm,
}

struct Pipelines {
    gemm: wgpu::ComputePipeline,
    attention: wgpu::ComputePipeline,
    norm: wgpu::ComputePipeline,
    pool: wgpu::ComputePipeline,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GemmParams {
    rows: u32,
    outputs: u32,
    inputs: u32,
    gelu: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AttentionParams {
    tokens: u32,
    hidden: u32,
    heads: u32,
    head_dim: u32,
    scale: f32,
    pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NormParams {
    rows: u32,
    width: u32,
    eps: f32,
    row_stride: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PoolParams {
    texts: u32,
    width: u32,
    pad: [u32; 2],
}

/// Most texts in one GPU pass (pooling takes one workgroup per text in a 1-D grid).
pub const MAX_TEXTS_PER_PASS: usize = 65_535;
/// Largest head width the attention kernel holds in registers.
const MAX_HEAD_DIM: usize = 128;
/// Token rows per GEMM workgroup tile.
const TILE: u32 = 64;

/// The encoder's layers, resident on the GPU.
pub struct GpuBert {
    layers: Vec<GpuLayer>,
    pipelines: Pipelines,
    hidden: u32,
    intermediate: u32,
    heads: u32,
    head_dim: u32,
    eps: f32,
}

impl std::fmt::Debug for GpuBert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBert")
            .field("layers", &self.layers.len())
            .field("hidden", &self.hidden)
            .finish_non_exhaustive()
    }
}

impl GpuBert {
    /// Uploads a CPU model's weights (once).
    pub(crate) fn upload(ctx: &GpuContext, model: &Int8Bert) -> Result<Self, GpuError> {
        ctx.check()?;
        if model.head_dim > MAX_HEAD_DIM || model.layers.is_empty() {
            return Err(GpuError::Shape(format!(
                "{} layers with heads of {} (the kernels take 1+ layers and heads up to {MAX_HEAD_DIM})",
                model.layers.len(),
                model.head_dim
            )));
        }
        let device = ctx.device();
        let load = |src: wgpu::ShaderModuleDescriptor<'_>, label: &str| {
            pipeline(device, &device.create_shader_module(src), label)
        };
        let pipelines = Pipelines {
            gemm: load(wgpu::include_wgsl!("shaders/gemm.wgsl"), "localrec gemm"),
            attention: load(
                wgpu::include_wgsl!("shaders/attention.wgsl"),
                "localrec attention",
            ),
            norm: load(wgpu::include_wgsl!("shaders/norm.wgsl"), "localrec norm"),
            pool: load(wgpu::include_wgsl!("shaders/pool.wgsl"), "localrec pool"),
        };
        let layers = model
            .layers
            .iter()
            .map(|l| GpuLayer {
                qkv: GpuLinear::upload(ctx, &l.qkv),
                attn_out: GpuLinear::upload(ctx, &l.attn_out),
                attn_norm: GpuNorm::upload(ctx, &l.attn_norm),
                up: GpuLinear::upload(ctx, &l.up),
                down: GpuLinear::upload(ctx, &l.down),
                out_norm: GpuNorm::upload(ctx, &l.out_norm),
            })
            .collect::<Vec<_>>();
        let intermediate = layers[0].up.outputs;
        let out = Self {
            layers,
            pipelines,
            hidden: model.hidden as u32,
            intermediate,
            heads: model.heads as u32,
            head_dim: model.head_dim as u32,
            eps: model.eps,
        };
        ctx.check()?;
        Ok(out)
    }

    /// Most tokens one forward pass may hold within the adapter's buffer limit.
    pub fn max_tokens(&self, ctx: &GpuContext) -> usize {
        let widest = u64::from(3 * self.hidden).max(u64::from(self.intermediate)) * 4;
        let by_limit = ctx.adapter().max_storage_binding / widest.max(1);
        // Norm and pooling take one workgroup per row in a 2-D grid; keep batches sane.
        by_limit.min(16_384) as usize
    }

    /// Pooled, L2-normalised embeddings of texts whose embedded tokens
    /// (`[tokens, hidden]`, after the embedding LayerNorm) lie end to end in `x`,
    /// `lens[i]` tokens each.
    pub async fn forward(
        &self,
        ctx: &GpuContext,
        x: &[f32],
        lens: &[usize],
    ) -> Result<Vec<f32>, GpuError> {
        let h = self.hidden as usize;
        let tokens: usize = lens.iter().sum();
        if lens.is_empty() {
            return Ok(Vec::new());
        }
        if x.len() != tokens * h || lens.contains(&0) {
            return Err(GpuError::Shape(format!(
                "{} values for {tokens} tokens of width {h} (and no empty text)",
                x.len()
            )));
        }
        if lens.len() > MAX_TEXTS_PER_PASS {
            return Err(GpuError::Shape(format!(
                "{} texts in one pass (at most {MAX_TEXTS_PER_PASS})",
                lens.len()
            )));
        }
        if tokens > self.max_tokens(ctx) {
            return Err(GpuError::TooLarge {
                what: "token batch".into(),
                bytes: (tokens * 3 * h * 4) as u64,
                limit: ctx.adapter().max_storage_binding,
            });
        }
        let t = tokens as u32;
        let mut spans = Vec::with_capacity(tokens * 2);
        let mut texts = Vec::with_capacity(lens.len() * 2);
        let mut start = 0u32;
        for &len in lens {
            for _ in 0..len {
                spans.extend([start, len as u32]);
            }
            texts.extend([start, len as u32]);
            start += len as u32;
        }
        let f = 4u64;
        let hidden = ctx.upload("localrec hidden", bytemuck::cast_slice(x));
        let qkv = ctx.scratch("localrec qkv", u64::from(t * 3 * self.hidden) * f)?;
        let context = ctx.scratch("localrec context", u64::from(t * self.hidden) * f)?;
        let projected = ctx.scratch("localrec projected", u64::from(t * self.hidden) * f)?;
        let inner = ctx.scratch("localrec inner", u64::from(t * self.intermediate) * f)?;
        let pooled = ctx.scratch("localrec pooled", (lens.len() * h) as u64 * f)?;
        let spans = ctx.upload("localrec spans", bytemuck::cast_slice(&spans));
        let texts = ctx.upload("localrec texts", bytemuck::cast_slice(&texts));

        let gemm_params = |l: &GpuLinear, gelu: bool| {
            ctx.uniform(
                "localrec gemm params",
                bytemuck::bytes_of(&GemmParams {
                    rows: t,
                    outputs: l.outputs,
                    inputs: l.inputs,
                    gelu: u32::from(gelu),
                }),
            )
        };
        let (ngx, ngy) = grid(t);
        let norm_params = ctx.uniform(
            "localrec norm params",
            bytemuck::bytes_of(&NormParams {
                rows: t,
                width: self.hidden,
                eps: self.eps,
                row_stride: ngx,
            }),
        );
        let attention_params = ctx.uniform(
            "localrec attention params",
            bytemuck::bytes_of(&AttentionParams {
                tokens: t,
                hidden: self.hidden,
                heads: self.heads,
                head_dim: self.head_dim,
                scale: 1.0 / (self.head_dim as f32).sqrt(),
                pad: [0; 3],
            }),
        );
        let pool_params = ctx.uniform(
            "localrec pool params",
            bytemuck::bytes_of(&PoolParams {
                texts: lens.len() as u32,
                width: self.hidden,
                pad: [0; 2],
            }),
        );
        let p = &self.pipelines;
        let device = ctx.device();
        // (pipeline, bind group, grid) per dispatch, in order.
        type Step<'s> = (&'s wgpu::ComputePipeline, wgpu::BindGroup, (u32, u32));
        let mut steps: Vec<Step<'_>> = Vec::new();
        // y = x·Wᵀ + b (GELU when `gelu`), with this call's params for the layer shape.
        let gemm = |l: &GpuLinear, gelu: bool, x: &wgpu::Buffer, y: &wgpu::Buffer| -> Step<'_> {
            let params = gemm_params(l, gelu);
            let group = bind(
                device,
                &p.gemm,
                &[&params, x, &l.weights, &l.scales, &l.bias, y],
            );
            (&p.gemm, group, (l.outputs.div_ceil(TILE), t.div_ceil(TILE)))
        };
        // hidden = LayerNorm(hidden + projected).
        let norm = |n: &GpuNorm| -> Step<'_> {
            let group = bind(
                device,
                &p.norm,
                &[&norm_params, &hidden, &projected, &n.gamma, &n.beta],
            );
            (&p.norm, group, (ngx, ngy))
        };
        for layer in &self.layers {
            steps.push(gemm(&layer.qkv, false, &hidden, &qkv));
            steps.push((
                &p.attention,
                bind(
                    device,
                    &p.attention,
                    &[&attention_params, &qkv, &spans, &context],
                ),
                grid((t * self.heads).div_ceil(64)),
            ));
            steps.push(gemm(&layer.attn_out, false, &context, &projected));
            steps.push(norm(&layer.attn_norm));
            steps.push(gemm(&layer.up, true, &hidden, &inner));
            steps.push(gemm(&layer.down, false, &inner, &projected));
            steps.push(norm(&layer.out_norm));
        }
        steps.push((
            &p.pool,
            bind(device, &p.pool, &[&pool_params, &hidden, &texts, &pooled]),
            (lens.len() as u32, 1),
        ));
        let bytes = (lens.len() * h * 4) as u64;
        let out = ctx
            .run_and_read(
                "localrec encoder",
                |encoder| {
                    for (pipeline, group, g) in &steps {
                        dispatch(encoder, pipeline, group, *g);
                    }
                },
                &[(&pooled, bytes)],
            )
            .await?;
        Ok(f32s(&out[0]))
    }
}
