//! Int8 GEMM for the encoder's linear layers: `y = x·Wᵀ + b`.
//!
//! Weights arrive as GGML `Q8_0` rows (int8, one scale per [`BLOCK`] inputs),
//! exactly as the bundle stores them, and are repacked once at load into
//! panels of [`PANEL`] outputs: for every block, sixteen input pairs, each pair
//! as 8 outputs × 2 consecutive inputs (16 bytes). One 16-byte load then feeds
//! a pairwise multiply-add against a broadcast pair of activations, and every
//! 32-bit lane of the result belongs to one output, so no horizontal sums are
//! ever needed.
//!
//! Activations are quantised per row at run time to i16 (full range, one f32
//! scale per row; 15 bits keep the activations exact to 3e-5 of the row's
//! largest value). Within a block the products accumulate in i32 — at most
//! 32 · 32767 · 127 < 2³¹, so no overflow is possible — then each block sum is
//! scaled by its weights' scales into an f32 accumulator.
//!
//! Kernels: wasm32 simd128 (`i32x4.dot_i16x8_s`), x86-64 AVX2
//! (`vpmaddwd`, chosen at run time), and a portable loop. All three compute
//! the same integer sums, so they agree to the last f32 rounding. Rows are
//! processed in cache blocks of `ROW_BLOCK` rows: one panel's weights stay in L1
//! while every row tile of the block streams past them.
//!
//! That is the [`Scheme::Wide`] product. The relaxed-SIMD wasm build runs
//! [`Scheme::Narrow`] instead (module `narrow`): 8-bit activations and 7-bit
//! weights, twice the multiply-adds per instruction for a small loss of
//! precision.

mod narrow;
mod rows;
#[cfg(test)]
mod tests;
mod tiles;

use crate::cpu::isa::Kernel;
use crate::util::error::{Error, Result};
use narrow::NarrowPanels;
pub(crate) use rows::f16_to_f32;
use rows::Form;
pub use rows::QuantizedRows;
use tiles::tile_kernel;

/// How a linear layer's integer product is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Activations as i16 per row × `Q8_0` weights: the precise product
    /// (min cosine 0.9986 against PyTorch), run by every kernel.
    Wide,
    /// Activations as i8 per row and block of 32 × weights re-rounded to
    /// 7 bits, for relaxed SIMD's 8-bit dot product (min cosine 0.996).
    Narrow,
}

impl Scheme {
    /// The scheme this build runs: [`Scheme::Narrow`] in the relaxed-SIMD wasm
    /// build (cargo feature `relaxed-simd`), [`Scheme::Wide`] everywhere else.
    pub fn for_build() -> Self {
        if cfg!(all(target_arch = "wasm32", feature = "relaxed-simd")) {
            Scheme::Narrow
        } else {
            Scheme::Wide
        }
    }

    /// `"wide"` or `"narrow"`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Wide => "wide",
            Scheme::Narrow => "narrow",
        }
    }
}

/// Outputs per weight panel (one 256-bit or two 128-bit lanes of i32).
pub const PANEL: usize = 8;
/// Inputs per weight scale: the GGML `Q8_0` block.
pub const BLOCK: usize = 32;
/// Bytes of one GGML `Q8_0` block: an f16 scale and 32 int8 values.
pub const Q8_0_BLOCK_BYTES: usize = 2 + BLOCK;
/// Rows of activations per kernel call.
const TILE_ROWS: usize = 4;
/// Rows per cache block (their quantised activations stay in L2).
const ROW_BLOCK: usize = 64;
/// Packed bytes of one block of one panel.
const PANEL_BLOCK_BYTES: usize = PANEL * BLOCK;

/// A linear layer's weights in the kernel's layout, with its bias.
#[derive(Debug, Clone)]
pub struct PackedLinear {
    outputs: usize,
    inputs: usize,
    blocks: usize,
    panels: usize,
    weights: Panels,
    /// One per output.
    bias: Vec<f32>,
}

/// Packed weights, in the layout of one [`Scheme`].
#[derive(Debug, Clone)]
enum Panels {
    Wide {
        /// `[panel][block][pair 0..16][output 0..8][2]` int8 values.
        values: Vec<i8>,
        /// `[panel][block][output 0..8]` f32 scales (0 for padding outputs).
        scales: Vec<f32>,
    },
    Narrow(NarrowPanels),
}

impl PackedLinear {
    /// Packs `outputs` rows of `inputs` weights stored as GGML `Q8_0` blocks
    /// for the [`Scheme::Wide`] product.
    pub fn from_q8_0(q8_0: &[u8], outputs: usize, inputs: usize, bias: Vec<f32>) -> Result<Self> {
        Self::pack(q8_0, outputs, inputs, bias, Scheme::Wide)
    }

    /// Packs `outputs` rows of `inputs` `Q8_0` weights for `scheme`.
    pub fn pack(
        q8_0: &[u8],
        outputs: usize,
        inputs: usize,
        bias: Vec<f32>,
        scheme: Scheme,
    ) -> Result<Self> {
        if inputs == 0 || !inputs.is_multiple_of(BLOCK) {
            return Err(Error::Config(format!(
                "a linear layer with {inputs} inputs is not whole {BLOCK}-value blocks"
            )));
        }
        let blocks = inputs / BLOCK;
        let expected = outputs * blocks * Q8_0_BLOCK_BYTES;
        if q8_0.len() != expected || bias.len() != outputs {
            return Err(Error::Config(format!(
                "a {outputs}×{inputs} int8 layer needs {expected} weight bytes and {outputs} biases, \
                 found {} and {}",
                q8_0.len(),
                bias.len()
            )));
        }
        let panels = outputs.div_ceil(PANEL);
        let weights = match scheme {
            Scheme::Wide => Self::pack_wide(q8_0, outputs, blocks),
            Scheme::Narrow => Panels::Narrow(NarrowPanels::from_q8_0(q8_0, outputs, blocks)),
        };
        Ok(Self {
            outputs,
            inputs,
            blocks,
            panels,
            weights,
            bias,
        })
    }

    fn pack_wide(q8_0: &[u8], outputs: usize, blocks: usize) -> Panels {
        let panels = outputs.div_ceil(PANEL);
        let mut weights = vec![0i8; panels * blocks * PANEL_BLOCK_BYTES];
        let mut scales = vec![0f32; panels * blocks * PANEL];
        for n in 0..outputs {
            let (panel, lane) = (n / PANEL, n % PANEL);
            for b in 0..blocks {
                let src = &q8_0[(n * blocks + b) * Q8_0_BLOCK_BYTES..][..Q8_0_BLOCK_BYTES];
                scales[(panel * blocks + b) * PANEL + lane] =
                    f16_to_f32(u16::from_le_bytes([src[0], src[1]]));
                let dst =
                    &mut weights[(panel * blocks + b) * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
                for (pair, two) in src[2..].chunks_exact(2).enumerate() {
                    dst[pair * 2 * PANEL + 2 * lane] = two[0] as i8;
                    dst[pair * 2 * PANEL + 2 * lane + 1] = two[1] as i8;
                }
            }
        }
        Panels::Wide {
            values: weights,
            scales,
        }
    }

    /// The scheme these weights are packed for.
    pub fn scheme(&self) -> Scheme {
        match self.weights {
            Panels::Wide { .. } => Scheme::Wide,
            Panels::Narrow(_) => Scheme::Narrow,
        }
    }

    /// Number of outputs (columns of `y`).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Number of inputs (columns of `x`).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The bias, one per output.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// The weights back in row order: `outputs × inputs` int8 values and
    /// `outputs × inputs / BLOCK` scales (the Q8_0 content, for other kernels;
    /// 7-bit values under [`Scheme::Narrow`]).
    pub fn unpack(&self) -> (Vec<i8>, Vec<f32>) {
        let (weights, packed_scales) = match &self.weights {
            Panels::Wide { values, scales } => (values, scales),
            Panels::Narrow(narrow) => return narrow.unpack(),
        };
        let mut values = vec![0i8; self.outputs * self.inputs];
        let mut scales = vec![0f32; self.outputs * self.blocks];
        for n in 0..self.outputs {
            let (panel, lane) = (n / PANEL, n % PANEL);
            for b in 0..self.blocks {
                scales[n * self.blocks + b] =
                    packed_scales[(panel * self.blocks + b) * PANEL + lane];
                let src =
                    &weights[(panel * self.blocks + b) * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
                let dst = &mut values[n * self.inputs + b * BLOCK..][..BLOCK];
                for pair in 0..BLOCK / 2 {
                    dst[2 * pair] = src[pair * 2 * PANEL + 2 * lane];
                    dst[2 * pair + 1] = src[pair * 2 * PANEL + 2 * lane + 1];
                }
            }
        }
        (values, scales)
    }

    /// `y = x·Wᵀ + b` for every row of `x`; `y` is resized to `rows × outputs`.
    /// `x` must be quantised for this layer's width and [`Scheme`].
    pub fn forward(&self, kernel: Kernel, x: &QuantizedRows, y: &mut Vec<f32>) -> Result<()> {
        let mismatch = || {
            Error::Config(format!(
                "activations {} wide for the {} product, layer {} wide for the {} product",
                x.width,
                x.scheme().name(),
                self.inputs,
                self.scheme().name()
            ))
        };
        if x.width != self.inputs {
            return Err(mismatch());
        }
        y.clear();
        y.resize(x.rows * self.outputs, 0.0);
        let (weights, scales, values, row_scales) = match (&self.weights, &x.form) {
            (
                Panels::Wide { values, scales },
                Form::Wide {
                    values: a,
                    scales: s,
                },
            ) => (values, scales, a, s),
            (Panels::Narrow(w), Form::Narrow(a)) => {
                return narrow::forward(kernel, w, a, x.rows, &self.bias, y);
            }
            _ => return Err(mismatch()),
        };
        let padded_rows = values.len() / x.width.max(1);
        let mut acc = [[0f32; PANEL]; TILE_ROWS];
        for row_block in (0..padded_rows).step_by(ROW_BLOCK) {
            let row_end = (row_block + ROW_BLOCK).min(padded_rows);
            for panel in 0..self.panels {
                let w = &weights[panel * self.blocks * PANEL_BLOCK_BYTES..]
                    [..self.blocks * PANEL_BLOCK_BYTES];
                let s = &scales[panel * self.blocks * PANEL..][..self.blocks * PANEL];
                for tile in (row_block..row_end).step_by(TILE_ROWS) {
                    let a = &values[tile * x.width..][..TILE_ROWS * x.width];
                    tile_kernel(kernel, a, x.width, w, s, self.blocks, &mut acc);
                    let first_out = panel * PANEL;
                    let lanes = PANEL.min(self.outputs - first_out);
                    for (m, acc_row) in acc.iter().enumerate() {
                        let row = tile + m;
                        if row >= x.rows {
                            break;
                        }
                        let scale = row_scales[row];
                        let out = &mut y[row * self.outputs + first_out..][..lanes];
                        for ((o, &v), &b) in
                            out.iter_mut().zip(acc_row).zip(&self.bias[first_out..])
                        {
                            *o = v * scale + b;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
