//! Catalogue scoring on the GPU: the index's int8 item matrix uploaded once,
//! every item scored against the profile's directions in one dispatch, and a
//! top-k selection per chunk so only candidates come back.

use super::context::{f32s, grid, pack_i8_rows, u32s, GpuContext};
use super::GpuError;
use crate::scoring::{quantize, top_k, ItemMatrix};

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
    /// The float direction (quantised to int8 like [`crate::scoring::Query`]).
    pub vector: &'a [f32],
    /// Multiplies the score.
    pub weight: f32,
}

/// The index's item matrix on the GPU.
pub struct GpuCatalogue {
    items: wgpu::Buffer,
    scales: wgpu::Buffer,
    rows: u32,
    dims: usize,
    words: u32,
    score: wgpu::ComputePipeline,
    topk: wgpu::ComputePipeline,
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
    /// Uploads an item matrix (done once per index).
    pub fn upload(ctx: &GpuContext, matrix: ItemMatrix<'_>) -> Result<Self, GpuError> {
        ctx.check()?;
        let rows = u32::try_from(matrix.rows()).map_err(|_| GpuError::TooLarge {
            what: "catalogue rows".into(),
            bytes: matrix.rows() as u64,
            limit: u64::from(u32::MAX),
        })?;
        let words = matrix.dims.div_ceil(4);
        let packed = pack_i8_rows(matrix.values, matrix.dims);
        let bytes = (packed.len() * 4) as u64;
        if bytes > ctx.adapter().max_storage_binding {
            return Err(GpuError::TooLarge {
                what: "catalogue matrix".into(),
                bytes,
                limit: ctx.adapter().max_storage_binding,
            });
        }
        let device = ctx.device();
        let module = device.create_shader_module(wgpu::include_wgsl!("shaders/score.wgsl"));
        let score = super::pipeline(device, &module, "localrec score");
        let module = device.create_shader_module(wgpu::include_wgsl!("shaders/topk.wgsl"));
        let topk = super::pipeline(device, &module, "localrec top-k");
        Ok(Self {
            items: ctx.upload("localrec items", bytemuck::cast_slice(&packed)),
            scales: ctx.upload("localrec item scales", bytemuck::cast_slice(matrix.scales)),
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

    /// Records the scoring pass; returns the (positive, push) buffers.
    fn encode_scores(
        &self,
        ctx: &GpuContext,
        interests: &[WeightedQuery<'_>],
        negatives: &[WeightedQuery<'_>],
        margin: f32,
    ) -> Result<(wgpu::Buffer, wgpu::Buffer, wgpu::BindGroup, (u32, u32)), GpuError> {
        self.check_dims(interests)?;
        self.check_dims(negatives)?;
        let mut packed = Vec::new();
        let mut weights = Vec::new();
        for q in interests.iter().chain(negatives) {
            let (values, scale) = quantize(q.vector);
            packed.extend(pack_i8_rows(&values, self.dims));
            weights.extend([scale, q.weight]);
        }
        let groups = self.rows.div_ceil(256);
        let (gx, gy) = grid(groups);
        let params = ScoreParams {
            items: self.rows,
            words: self.words,
            interests: interests.len() as u32,
            negatives: negatives.len() as u32,
            margin,
            row_stride: gx * 256,
            pad: [0; 2],
        };
        let bytes = u64::from(self.rows) * 4;
        let positive = ctx.scratch("localrec positive scores", bytes)?;
        let push = ctx.scratch("localrec push scores", bytes)?;
        let uniform = ctx.uniform("localrec score params", bytemuck::bytes_of(&params));
        let queries = ctx.upload("localrec queries", bytemuck::cast_slice(&packed));
        let query_weights = ctx.upload("localrec query weights", bytemuck::cast_slice(&weights));
        let bind = super::bind(
            ctx.device(),
            &self.score,
            &[
                &uniform,
                &self.items,
                &self.scales,
                &queries,
                &query_weights,
                &positive,
                &push,
            ],
        );
        Ok((positive, push, bind, (gx, gy)))
    }

    /// Every item's positive and push-away scores, read back in one map.
    pub async fn scores(
        &self,
        ctx: &GpuContext,
        interests: &[WeightedQuery<'_>],
        negatives: &[WeightedQuery<'_>],
        margin: f32,
    ) -> Result<ItemScores, GpuError> {
        let (positive, push, bind, (gx, gy)) =
            self.encode_scores(ctx, interests, negatives, margin)?;
        let bytes = u64::from(self.rows) * 4;
        let wanted: Vec<(&wgpu::Buffer, u64)> = if negatives.is_empty() {
            vec![(&positive, bytes)]
        } else {
            vec![(&positive, bytes), (&push, bytes)]
        };
        let out = ctx
            .run_and_read(
                "localrec scoring",
                |encoder| super::dispatch(encoder, &self.score, &bind, (gx, gy)),
                &wanted,
            )
            .await?;
        let positive = f32s(&out[0]);
        let push = match out.get(1) {
            Some(b) => f32s(b),
            None => vec![0.0; positive.len()],
        };
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
        if k == 0 || self.rows == 0 {
            return Ok(Vec::new());
        }
        if k > MAX_GPU_K {
            let scores = self
                .scores(
                    ctx,
                    &[WeightedQuery {
                        vector: query,
                        weight: 1.0,
                    }],
                    &[],
                    0.0,
                )
                .await?;
            return Ok(top_k(scores.positive.into_iter().enumerate(), k));
        }
        let interest = [WeightedQuery {
            vector: query,
            weight: 1.0,
        }];
        let (positive, _push, bind, score_grid) = self.encode_scores(ctx, &interest, &[], 0.0)?;
        let chunks = self.rows.div_ceil(TOPK_CHUNK);
        let (gx, gy) = grid(chunks);
        let params = TopkParams {
            items: self.rows,
            k: k as u32,
            chunk: TOPK_CHUNK,
            groups_x: gx,
        };
        let candidates = u64::from(chunks) * k as u64;
        let picked_index = ctx.scratch("localrec top-k index", candidates * 4)?;
        let picked_score = ctx.scratch("localrec top-k score", candidates * 4)?;
        let uniform = ctx.uniform("localrec top-k params", bytemuck::bytes_of(&params));
        let topk_bind = super::bind(
            ctx.device(),
            &self.topk,
            &[&uniform, &positive, &picked_index, &picked_score],
        );
        let out = ctx
            .run_and_read(
                "localrec top-k",
                |encoder| {
                    super::dispatch(encoder, &self.score, &bind, score_grid);
                    super::dispatch(encoder, &self.topk, &topk_bind, (gx, gy));
                },
                &[
                    (&picked_index, candidates * 4),
                    (&picked_score, candidates * 4),
                ],
            )
            .await?;
        let found = u32s(&out[0])
            .into_iter()
            .zip(f32s(&out[1]))
            .filter(|&(i, _)| i < self.rows)
            .map(|(i, s)| (i as usize, s));
        Ok(top_k(found, k))
    }
}
