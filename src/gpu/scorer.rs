//! Catalogue scoring on the GPU: the index's int8 item matrix uploaded once,
//! every item scored against the profile's directions in one dispatch, and a
//! top-k selection per chunk so only candidates come back.

use super::context::{f32s, grid, pack_i8_rows, u32s, GpuContext};
use super::GpuError;
use crate::cpu::score::{quantize, top_k, ItemMatrix};

/// Items per top-k workgroup chunk.
const TOPK_CHUNK: u32 = 4096;
/// Largest k the GPU selection takes (larger k: read every score back).
pub const MAX_GPU_K: usize = 256;

/// Scores of every item for one profile: the best interest (times its gain)
/// and the push-away of the negatives (times their weights, minus the margin).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemScores {
    /// Per item: max over interests of `score · gain` (0 when there are none).
    pub positive: Vec<f32>,
    /// Per item: `max(0, max over negatives of score · weight − margin)`.
    pub push: Vec<f32>,
}

/// A query direction and its weight (gain for an interest, weight for a negative).
#[derive(Debug, Clone, Copy)]
pub struct WeightedQuery<'a> {
    /// The float direction (quantised to int8 like [`crate::cpu::score::Query`]).
    pub vector: &'a [f32],
    /// Multiplies the score.
    pub weight: f32,
}

/// A run of consecutive items in buffers within the adapter's binding limit.
struct Part {
    items: wgpu::Buffer,
    scales: wgpu::Buffer,
    first: u32,
    rows: u32,
}

/// The index's item matrix on the GPU, in parts that each fit one storage
/// binding (128 MiB by default: 1M items of 384 dims take three parts).
pub struct GpuCatalogue {
    parts: Vec<Part>,
    rows: u32,
    dims: usize,
    words: u32,
    score: wgpu::ComputePipeline,
    topk: wgpu::ComputePipeline,
}

/// One part's recorded scoring pass.
struct PartScores {
    positive: wgpu::Buffer,
    push: wgpu::Buffer,
    bind: wgpu::BindGroup,
    grid: (u32, u32),
}

impl std::fmt::Debug for GpuCatalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuCatalogue")
            .field("rows", &self.rows)
            .field("dims", &self.dims)
            .finish_non_exhaustive()
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ScoreParams {
    items: u32,
    words: u32,
    interests: u32,
    negatives: u32,
    margin: f32,
    row_stride: u32,
    pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TopkParams {
    items: u32,
    k: u32,
    chunk: u32,
    groups_x: u32,
}

impl GpuCatalogue {
    /// Uploads an item matrix (done once per index), in as many parts as the
    /// adapter's storage-binding limit needs.
    pub fn upload(ctx: &GpuContext, matrix: ItemMatrix<'_>) -> Result<Self, GpuError> {
        ctx.check()?;
        u32::try_from(matrix.rows()).map_err(|_| GpuError::TooLarge {
            what: "catalogue rows".into(),
            bytes: matrix.rows() as u64,
            limit: u64::from(u32::MAX),
        })?;
        let words = matrix.dims.div_ceil(4);
        let row_bytes = (words.max(1) * 4) as u64;
        let per_part = (ctx.adapter().max_storage_binding / row_bytes).min(u64::from(u32::MAX));
        if per_part == 0 {
            return Err(GpuError::TooLarge {
                what: "one catalogue row".into(),
                bytes: row_bytes,
                limit: ctx.adapter().max_storage_binding,
            });
        }
        Self::upload_in_parts(ctx, matrix, per_part as usize)
    }

    /// Uploads with at most `per_part` rows in each part (tests force small parts).
    pub(crate) fn upload_in_parts(
        ctx: &GpuContext,
        matrix: ItemMatrix<'_>,
        per_part: usize,
    ) -> Result<Self, GpuError> {
        let rows = matrix.rows() as u32;
        let words = matrix.dims.div_ceil(4);
        let per_part = per_part.max(1);
        let mut parts = Vec::new();
        let mut first = 0usize;
        while first < matrix.rows() || parts.is_empty() {
            let n = per_part.min(matrix.rows() - first);
            let values = &matrix.values[first * matrix.dims..(first + n) * matrix.dims];
            let packed = pack_i8_rows(values, matrix.dims);
            parts.push(Part {
                items: ctx.upload("localrec items", bytemuck::cast_slice(&packed)),
                scales: ctx.upload(
                    "localrec item scales",
                    bytemuck::cast_slice(&matrix.scales[first..first + n]),
                ),
                first: first as u32,
                rows: n as u32,
            });
            first += n;
            if n == 0 {
                break;
            }
        }
        let device = ctx.device();
        let module = device.create_shader_module(wgpu::include_wgsl!("shaders/score.wgsl"));
        let score = super::pipeline(device, &module, "localrec score");
        let module = device.create_shader_module(wgpu::include_wgsl!("shaders/topk.wgsl"));
        let topk = super::pipeline(device, &module, "localrec top-k");
        ctx.check()?;
        Ok(Self {
            parts,
            rows,
            dims: matrix.dims,
            words: words as u32,
            score,
            topk,
        })
    }

    /// Number of items.
    pub fn rows(&self) -> usize {
        self.rows as usize
    }

    fn check_dims(&self, queries: &[WeightedQuery<'_>]) -> Result<(), GpuError> {
        match queries.iter().find(|q| q.vector.len() != self.dims) {
            Some(q) => Err(GpuError::Shape(format!(
                "query of {} dims against items of {}",
                q.vector.len(),
                self.dims
            ))),
            None => Ok(()),
        }
    }

    /// Records the scoring pass of every part.
    fn encode_scores(
        &self,
        ctx: &GpuContext,
        interests: &[WeightedQuery<'_>],
        negatives: &[WeightedQuery<'_>],
        margin: f32,
    ) -> Result<Vec<PartScores>, GpuError> {
        self.check_dims(interests)?;
        self.check_dims(negatives)?;
        let mut packed = Vec::new();
        let mut weights = Vec::new();
        for q in interests.iter().chain(negatives) {
            let (values, scale) = quantize(q.vector);
            packed.extend(pack_i8_rows(&values, self.dims));
            weights.extend([scale, q.weight]);
        }
        let queries = ctx.upload("localrec queries", bytemuck::cast_slice(&packed));
        let query_weights = ctx.upload("localrec query weights", bytemuck::cast_slice(&weights));
        self.parts
            .iter()
            .map(|part| {
                let (gx, gy) = grid(part.rows.div_ceil(256));
                let params = ScoreParams {
                    items: part.rows,
                    words: self.words,
                    interests: interests.len() as u32,
                    negatives: negatives.len() as u32,
                    margin,
                    row_stride: gx * 256,
                    pad: [0; 2],
                };
                let bytes = u64::from(part.rows) * 4;
                let positive = ctx.scratch("localrec positive scores", bytes)?;
                let push = ctx.scratch("localrec push scores", bytes)?;
                let uniform = ctx.uniform("localrec score params", bytemuck::bytes_of(&params));
                let bind = super::bind(
                    ctx.device(),
                    &self.score,
                    &[
                        &uniform,
                        &part.items,
                        &part.scales,
                        &queries,
                        &query_weights,
                        &positive,
                        &push,
                    ],
                );
                Ok(PartScores {
                    positive,
                    push,
                    bind,
                    grid: (gx, gy),
                })
            })
            .collect()
    }

    /// Every item's positive and push-away scores, read back in one map.
    pub async fn scores(
        &self,
        ctx: &GpuContext,
        interests: &[WeightedQuery<'_>],
        negatives: &[WeightedQuery<'_>],
        margin: f32,
    ) -> Result<ItemScores, GpuError> {
        let passes = self.encode_scores(ctx, interests, negatives, margin)?;
        let mut wanted: Vec<(&wgpu::Buffer, u64)> = Vec::new();
        for (part, pass) in self.parts.iter().zip(&passes) {
            let bytes = u64::from(part.rows) * 4;
            wanted.push((&pass.positive, bytes));
            if !negatives.is_empty() {
                wanted.push((&pass.push, bytes));
            }
        }
        let out = ctx
            .run_and_read(
                "localrec scoring",
                |encoder| {
                    for pass in &passes {
                        super::dispatch(encoder, &self.score, &pass.bind, pass.grid);
                    }
                },
                &wanted,
            )
            .await?;
        let per_part = if negatives.is_empty() { 1 } else { 2 };
        let mut positive = Vec::with_capacity(self.rows());
        let mut push = Vec::with_capacity(self.rows());
        for chunk in out.chunks(per_part) {
            positive.extend(f32s(&chunk[0]));
            match chunk.get(1) {
                Some(b) => push.extend(f32s(b)),
                None => push.resize(positive.len(), 0.0),
            }
        }
        Ok(ItemScores { positive, push })
    }

    /// The `k` best items for one direction, best first (ties: lower index),
    /// as (item, score). Scoring and selection run on the GPU; only
    /// `k` candidates per 4096 items come back.
    pub async fn top_k(
        &self,
        ctx: &GpuContext,
        query: &[f32],
        k: usize,
    ) -> Result<Vec<(usize, f32)>, GpuError> {
        let interest = [WeightedQuery {
            vector: query,
            weight: 1.0,
        }];
        self.check_dims(&interest)?;
        if k == 0 || self.rows == 0 {
            return Ok(Vec::new());
        }
        if k > MAX_GPU_K {
            let scores = self.scores(ctx, &interest, &[], 0.0).await?;
            return Ok(top_k(scores.positive.into_iter().enumerate(), k));
        }
        let passes = self.encode_scores(ctx, &interest, &[], 0.0)?;
        let mut selections = Vec::with_capacity(passes.len());
        for (part, pass) in self.parts.iter().zip(&passes) {
            let chunks = part.rows.div_ceil(TOPK_CHUNK);
            let (gx, gy) = grid(chunks);
            let params = TopkParams {
                items: part.rows,
                k: k as u32,
                chunk: TOPK_CHUNK,
                groups_x: gx,
            };
            let candidates = u64::from(chunks) * k as u64;
            let picked_index = ctx.scratch("localrec top-k index", candidates * 4)?;
            let picked_score = ctx.scratch("localrec top-k score", candidates * 4)?;
            let uniform = ctx.uniform("localrec top-k params", bytemuck::bytes_of(&params));
            let bind = super::bind(
                ctx.device(),
                &self.topk,
                &[&uniform, &pass.positive, &picked_index, &picked_score],
            );
            selections.push((picked_index, picked_score, bind, (gx, gy), candidates));
        }
        let wanted: Vec<(&wgpu::Buffer, u64)> = selections
            .iter()
            .flat_map(|(i, s, _, _, n)| [(i, n * 4), (s, n * 4)])
            .collect();
        let out = ctx
            .run_and_read(
                "localrec top-k",
                |encoder| {
                    for (pass, (_, _, bind, g, _)) in passes.iter().zip(&selections) {
                        super::dispatch(encoder, &self.score, &pass.bind, pass.grid);
                        super::dispatch(encoder, &self.topk, bind, *g);
                    }
                },
                &wanted,
            )
            .await?;
        let mut found = Vec::new();
        for (part, pair) in self.parts.iter().zip(out.chunks(2)) {
            found.extend(
                u32s(&pair[0])
                    .into_iter()
                    .zip(f32s(&pair[1]))
                    .filter(|&(i, _)| i < part.rows)
                    .map(|(i, s)| ((part.first + i) as usize, s)),
            );
        }
        Ok(top_k(found, k))
    }
}
