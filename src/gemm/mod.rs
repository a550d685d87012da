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
//! processed in cache blocks of [`ROW_BLOCK`]: one panel's weights stay in L1
//! while every row tile of the block streams past them.
//!
//! That is the [`Scheme::Wide`] product. The relaxed-SIMD wasm build runs
//! [`Scheme::Narrow`] instead (module `narrow`): 8-bit activations and 7-bit
//! weights, twice the multiply-adds per instruction for a small loss of
//! precision.

mod narrow;

use crate::error::{Error, Result};
use crate::isa::{Isa, Kernel};
use narrow::{NarrowPanels, NarrowRows};

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

/// Rows of activations quantised for one [`Scheme`]: i16 with one scale per
/// row ([`Scheme::Wide`]) or i8 with one scale per row and block
/// ([`Scheme::Narrow`]), padded with zero rows to whole kernel tiles. Reused
/// between calls to keep its buffers.
#[derive(Debug, Clone)]
pub struct QuantizedRows {
    rows: usize,
    width: usize,
    form: Form,
}

#[derive(Debug, Clone)]
enum Form {
    Wide { values: Vec<i16>, scales: Vec<f32> },
    Narrow(NarrowRows),
}

impl Default for QuantizedRows {
    fn default() -> Self {
        Self {
            rows: 0,
            width: 0,
            form: Form::Wide {
                values: Vec::new(),
                scales: Vec::new(),
            },
        }
    }
}

impl QuantizedRows {
    /// Quantises `x` (`rows × width`, row-major) for the [`Scheme::Wide`] product.
    /// Non-finite values count as 0 (they never occur in a healthy forward pass).
    pub fn quantize(&mut self, x: &[f32], width: usize) {
        self.quantize_for(Scheme::Wide, x, width);
    }

    /// Quantises `x` (`rows × width`, row-major) for `scheme`; `width` must be
    /// a whole number of blocks under [`Scheme::Narrow`] (every layer's is).
    pub fn quantize_for(&mut self, scheme: Scheme, x: &[f32], width: usize) {
        let rows = x.len().checked_div(width).unwrap_or(0);
        self.rows = rows;
        self.width = width;
        match (scheme, &mut self.form) {
            (Scheme::Wide, Form::Wide { values, scales }) => {
                quantize_wide(values, scales, x, rows, width)
            }
            (Scheme::Narrow, Form::Narrow(narrow)) => narrow.quantize(x, rows, width),
            (Scheme::Wide, form) => {
                let (mut values, mut scales) = (Vec::new(), Vec::new());
                quantize_wide(&mut values, &mut scales, x, rows, width);
                *form = Form::Wide { values, scales };
            }
            (Scheme::Narrow, form) => {
                let mut narrow = NarrowRows::default();
                narrow.quantize(x, rows, width);
                *form = Form::Narrow(narrow);
            }
        }
    }

    /// Number of (unpadded) rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The scheme these rows are quantised for.
    pub fn scheme(&self) -> Scheme {
        match self.form {
            Form::Wide { .. } => Scheme::Wide,
            Form::Narrow(_) => Scheme::Narrow,
        }
    }
}

/// One i16 scale per row: 15 bits keep the activations exact to 3e-5 of the
/// row's largest value.
fn quantize_wide(
    values: &mut Vec<i16>,
    scales: &mut Vec<f32>,
    x: &[f32],
    rows: usize,
    width: usize,
) {
    let padded = rows.div_ceil(TILE_ROWS) * TILE_ROWS;
    values.clear();
    values.resize(padded * width, 0);
    scales.clear();
    scales.resize(rows, 0.0);
    for ((row, q), scale) in x
        .chunks_exact(width.max(1))
        .zip(values.chunks_exact_mut(width.max(1)))
        .zip(scales.iter_mut())
    {
        let max = crate::ops::max_abs(row);
        if !(max > 0.0 && max.is_finite()) {
            continue; // all zero (or broken): quantises to zeros, scale 0
        }
        let inv = 32767.0 / max;
        for (q, &v) in q.iter_mut().zip(row) {
            // `as` saturates and maps NaN to 0.
            *q = crate::ops::round_small(v * inv) as i16;
        }
        *scale = max / 32767.0;
    }
}

/// IEEE half → single precision (GGML stores `Q8_0` scales as little-endian f16).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// One tile: `acc[m][j] = Σ_blocks scale[b][j] · Σ_{k ∈ b} a[m][k] · w[j][k]`
/// for `TILE_ROWS` rows of `a` (stride `width`) against one panel.
#[inline]
fn tile_kernel(
    kernel: Kernel,
    a: &[i16],
    width: usize,
    w: &[i8],
    s: &[f32],
    blocks: usize,
    acc: &mut [[f32; PANEL]; TILE_ROWS],
) {
    assert!(
        a.len() >= TILE_ROWS * width
            && width == blocks * BLOCK
            && w.len() >= blocks * PANEL_BLOCK_BYTES
            && s.len() >= blocks * PANEL,
        "tile_kernel: slices shorter than the tile"
    );
    match kernel.isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Kernel` with `Isa::Avx2` only comes from detection on a CPU
        // with AVX2 (crate::isa); the slice lengths are asserted above.
        Isa::Avx2 => unsafe { tile_avx2(a, width, w, s, blocks, acc) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        // SAFETY: lengths as above; simd128 is enabled at compile time.
        Isa::Simd128 => unsafe { tile_simd128(a, width, w, s, blocks, acc) },
        Isa::Portable => tile_portable(a, width, w, s, blocks, acc),
    }
}

fn tile_portable(
    a: &[i16],
    width: usize,
    w: &[i8],
    s: &[f32],
    blocks: usize,
    acc: &mut [[f32; PANEL]; TILE_ROWS],
) {
    *acc = [[0.0; PANEL]; TILE_ROWS];
    for b in 0..blocks {
        let wb = &w[b * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
        let mut sums = [[0i32; PANEL]; TILE_ROWS];
        for (m, sum) in sums.iter_mut().enumerate() {
            let ab = &a[m * width + b * BLOCK..][..BLOCK];
            for (pair, w_pair) in wb.chunks_exact(2 * PANEL).enumerate() {
                let (a0, a1) = (ab[2 * pair] as i32, ab[2 * pair + 1] as i32);
                for (lane, sum) in sum.iter_mut().enumerate() {
                    *sum += a0 * w_pair[2 * lane] as i32 + a1 * w_pair[2 * lane + 1] as i32;
                }
            }
        }
        let sb = &s[b * PANEL..][..PANEL];
        for (acc_row, sum_row) in acc.iter_mut().zip(&sums) {
            for ((acc, &sum), &scale) in acc_row.iter_mut().zip(sum_row).zip(sb) {
                *acc += sum as f32 * scale;
            }
        }
    }
}

/// # Safety
/// `a` must hold `TILE_ROWS` rows of `width = blocks · BLOCK` values, `w`
/// `blocks` packed panel blocks and `s` `blocks · PANEL` scales.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
unsafe fn tile_simd128(
    a: &[i16],
    width: usize,
    w: &[i8],
    s: &[f32],
    blocks: usize,
    acc: &mut [[f32; PANEL]; TILE_ROWS],
) {
    // SAFETY: the caller guarantees the lengths in `# Safety`, which bound every pointer offset below; simd128 is enabled at compile time.
    unsafe {
        use core::arch::wasm32::*;
        let (a, w, s) = (a.as_ptr(), w.as_ptr(), s.as_ptr());
        let mut f = [[f32x4_splat(0.0); 2]; TILE_ROWS];
        for b in 0..blocks {
            let wb = w.add(b * PANEL_BLOCK_BYTES);
            let ab = b * BLOCK;
            let mut sums = [[i32x4_splat(0); 2]; TILE_ROWS];
            for pair in 0..BLOCK / 2 {
                let wv = v128_load(wb.add(pair * 2 * PANEL) as *const v128);
                let lo = i16x8_extend_low_i8x16(wv);
                let hi = i16x8_extend_high_i8x16(wv);
                for (m, sum) in sums.iter_mut().enumerate() {
                    let av = v128_load32_splat(a.add(m * width + ab + 2 * pair) as *const u32);
                    sum[0] = i32x4_add(sum[0], i32x4_dot_i16x8(av, lo));
                    sum[1] = i32x4_add(sum[1], i32x4_dot_i16x8(av, hi));
                }
            }
            let s_lo = v128_load(s.add(b * PANEL) as *const v128);
            let s_hi = v128_load(s.add(b * PANEL + 4) as *const v128);
            for (fm, sum) in f.iter_mut().zip(&sums) {
                fm[0] = f32x4_add(fm[0], f32x4_mul(f32x4_convert_i32x4(sum[0]), s_lo));
                fm[1] = f32x4_add(fm[1], f32x4_mul(f32x4_convert_i32x4(sum[1]), s_hi));
            }
        }
        for (out, fm) in acc.iter_mut().zip(&f) {
            v128_store(out.as_mut_ptr() as *mut v128, fm[0]);
            v128_store(out.as_mut_ptr().add(4) as *mut v128, fm[1]);
        }
    }
}

/// # Safety
/// The CPU must have AVX2; `a` must hold `TILE_ROWS` rows of
/// `width = blocks · BLOCK` values, `w` `blocks` packed panel blocks and `s`
/// `blocks · PANEL` scales.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2(
    a: &[i16],
    width: usize,
    w: &[i8],
    s: &[f32],
    blocks: usize,
    acc: &mut [[f32; PANEL]; TILE_ROWS],
) {
    // SAFETY: the caller guarantees AVX2 and the lengths in `# Safety`, which bound every pointer offset below; all loads and stores are unaligned.
    unsafe {
        use core::arch::x86_64::*;
        let (a, w, s) = (a.as_ptr(), w.as_ptr(), s.as_ptr());
        let mut f = [_mm256_setzero_ps(); TILE_ROWS];
        for b in 0..blocks {
            let wb = w.add(b * PANEL_BLOCK_BYTES);
            let ab = b * BLOCK;
            let mut sums = [_mm256_setzero_si256(); TILE_ROWS];
            for pair in 0..BLOCK / 2 {
                let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                    wb.add(pair * 2 * PANEL) as *const __m128i
                ));
                for (m, sum) in sums.iter_mut().enumerate() {
                    let pair_bits =
                        (a.add(m * width + ab + 2 * pair) as *const i32).read_unaligned();
                    *sum =
                        _mm256_add_epi32(*sum, _mm256_madd_epi16(_mm256_set1_epi32(pair_bits), wv));
                }
            }
            let sv = _mm256_loadu_ps(s.add(b * PANEL));
            for (fm, sum) in f.iter_mut().zip(&sums) {
                *fm = _mm256_add_ps(*fm, _mm256_mul_ps(_mm256_cvtepi32_ps(*sum), sv));
            }
        }
        for (out, fm) in acc.iter_mut().zip(&f) {
            _mm256_storeu_ps(out.as_mut_ptr(), *fm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use proptest::prelude::*;

    /// Q8_0 bytes and their dequantised f32 values for a random `n × k` matrix.
    fn q8_matrix(n: usize, k: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let values: Vec<f32> = (0..n * k)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
            })
            .collect();
        let t = Tensor::from_vec(values, (n, k), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
        let deq = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        (q.data().unwrap().into_owned(), deq)
    }

    #[test]
    fn unpack_returns_the_q8_0_rows() {
        let (n, k) = (13, 64);
        let (bytes, deq) = q8_matrix(n, k, 7);
        let packed = PackedLinear::from_q8_0(&bytes, n, k, vec![0.0; n]).unwrap();
        let (values, scales) = packed.unpack();
        assert_eq!((values.len(), scales.len()), (n * k, n * k / BLOCK));
        for (i, &d) in deq.iter().enumerate() {
            let v = values[i] as f32 * scales[(i / k) * (k / BLOCK) + (i % k) / BLOCK];
            assert_eq!(v, d, "weight {i}");
        }
    }

    #[test]
    fn the_narrow_scheme_keeps_blocks_already_within_seven_bits() {
        // One row: a block within ±63 (kept exactly) and one reaching ±127
        // (re-rounded to 7 bits at a coarser scale).
        let (n, k) = (1, 64);
        let mut bytes = Vec::new();
        let small: Vec<i8> = (0..32).map(|i| (i * 4 - 63).clamp(-63, 63) as i8).collect();
        let full: Vec<i8> = (0..32)
            .map(|i| (i * 8 - 127).clamp(-127, 127) as i8)
            .collect();
        for (scale, values) in [(0.5f32, &small), (0.25f32, &full)] {
            bytes.extend_from_slice(&half::f16::from_f32(scale).to_bits().to_le_bytes());
            bytes.extend(values.iter().map(|&v| v as u8));
        }
        let packed = PackedLinear::pack(&bytes, n, k, vec![0.0; n], Scheme::Narrow).unwrap();
        let (values, scales) = packed.unpack();
        assert_eq!(&values[..32], small.as_slice(), "kept as stored");
        assert_eq!(scales[0], 0.5);
        assert!(values[32..].iter().all(|v| v.unsigned_abs() <= 63));
        assert_eq!(scales[1], 0.25 * 127.0 / 63.0);
    }

    fn kernels() -> Vec<Kernel> {
        Kernel::available()
    }

    fn check(rows: usize, n: usize, k: usize, seed: u64) {
        let (bytes, w) = q8_matrix(n, k, seed);
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01 - 0.1).collect();
        let layer = PackedLinear::from_q8_0(&bytes, n, k, bias.clone()).unwrap();
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 7919 + seed as usize) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let mut q = QuantizedRows::default();
        q.quantize(&x, k);
        assert_eq!(q.rows(), rows);
        for kernel in kernels() {
            let mut y = Vec::new();
            layer.forward(kernel, &q, &mut y).unwrap();
            assert_eq!(y.len(), rows * n);
            for r in 0..rows {
                for o in 0..n {
                    let exact: f32 =
                        (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum::<f32>() + bias[o];
                    let row_max = x[r * k..(r + 1) * k]
                        .iter()
                        .fold(0f32, |m, v| m.max(v.abs()));
                    let w_l1: f32 = w[o * k..(o + 1) * k].iter().map(|v| v.abs()).sum();
                    // Activation rounding: at most half a step (max/32767) per input.
                    let bound = 0.5 * row_max / 32767.0 * w_l1 + 1e-4 * exact.abs().max(1.0);
                    let got = y[r * n + o];
                    assert!(
                        (got - exact).abs() <= bound,
                        "{kernel:?} row {r} out {o}: {got} vs {exact} (bound {bound})"
                    );
                }
            }
        }
    }

    #[test]
    fn matches_a_float_gemm_on_odd_shapes() {
        check(1, 8, 32, 1);
        check(5, 13, 64, 2); // ragged panel and row tile
        check(70, 24, 96, 3); // crosses a row cache block
        check(3, 1, 32, 4);
    }

    #[test]
    fn kernels_agree_exactly() {
        let (bytes, _) = q8_matrix(40, 128, 9);
        let layer = PackedLinear::from_q8_0(&bytes, 40, 128, vec![0.5; 40]).unwrap();
        let x: Vec<f32> = (0..9 * 128)
            .map(|i| (i as f32 * 0.37).sin() * 3.0)
            .collect();
        let mut q = QuantizedRows::default();
        q.quantize(&x, 128);
        let mut reference = Vec::new();
        layer
            .forward(Kernel::portable(), &q, &mut reference)
            .unwrap();
        for kernel in kernels() {
            let mut y = Vec::new();
            layer.forward(kernel, &q, &mut y).unwrap();
            for (a, b) in y.iter().zip(&reference) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "{kernel:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn zero_rows_and_bad_shapes() {
        let (bytes, _) = q8_matrix(8, 32, 5);
        assert!(PackedLinear::from_q8_0(&bytes, 8, 33, vec![0.0; 8]).is_err());
        assert!(PackedLinear::from_q8_0(&bytes[1..], 8, 32, vec![0.0; 8]).is_err());
        assert!(PackedLinear::from_q8_0(&bytes, 8, 32, vec![0.0; 7]).is_err());
        let layer = PackedLinear::from_q8_0(&bytes, 8, 32, vec![0.25; 8]).unwrap();
        let mut q = QuantizedRows::default();
        q.quantize(&[0.0; 32], 32);
        let mut y = Vec::new();
        layer.forward(Kernel::detect(), &q, &mut y).unwrap();
        assert_eq!(y, vec![0.25; 8]);
        q.quantize(&[], 32);
        layer.forward(Kernel::detect(), &q, &mut y).unwrap();
        assert!(y.is_empty());
    }

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    /// The narrow product against f32 maths on the `Q8_0` weights, within the
    /// bound of its two roundings: 7-bit weights (half a step of `max|w|/63`
    /// per block) and 8-bit activations (half a step of `max|x|/127` per block).
    fn check_narrow(rows: usize, n: usize, k: usize, seed: u64) {
        let (bytes, w) = q8_matrix(n, k, seed);
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.01 - 0.1).collect();
        let layer = PackedLinear::pack(&bytes, n, k, bias.clone(), Scheme::Narrow).unwrap();
        assert_eq!(layer.scheme(), Scheme::Narrow);
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i * 7919 + seed as usize) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let mut q = QuantizedRows::default();
        q.quantize_for(Scheme::Narrow, &x, k);
        assert_eq!((q.rows(), q.scheme()), (rows, Scheme::Narrow));
        let block_max = |v: &[f32]| v.iter().fold(0f32, |m, v| m.max(v.abs()));
        let mut reference = Vec::new();
        layer
            .forward(Kernel::portable(), &q, &mut reference)
            .unwrap();
        for kernel in kernels() {
            let mut y = Vec::new();
            layer.forward(kernel, &q, &mut y).unwrap();
            assert_eq!(
                y, reference,
                "{kernel:?}: the same integers, the same f32 order"
            );
        }
        for r in 0..rows {
            for o in 0..n {
                let (xr, wr) = (&x[r * k..(r + 1) * k], &w[o * k..(o + 1) * k]);
                let exact: f32 = xr.iter().zip(wr).map(|(a, b)| a * b).sum::<f32>() + bias[o];
                let mut bound = 1e-4 * exact.abs().max(1.0);
                for (xb, wb) in xr.chunks(BLOCK).zip(wr.chunks(BLOCK)) {
                    let (w_step, x_step) = (block_max(wb) / 63.0, block_max(xb) / 127.0);
                    let x_l1: f32 = xb.iter().map(|v| v.abs()).sum();
                    let w_l1: f32 = wb.iter().map(|v| v.abs()).sum();
                    bound +=
                        0.5 * w_step * (x_l1 + 0.5 * x_step * BLOCK as f32) + 0.5 * x_step * w_l1;
                }
                let got = reference[r * n + o];
                assert!(
                    (got - exact).abs() <= bound,
                    "row {r} out {o}: {got} vs {exact} (bound {bound})"
                );
            }
        }
    }

    #[test]
    fn narrow_matches_a_float_gemm_within_its_rounding() {
        check_narrow(1, 8, 32, 1);
        check_narrow(5, 13, 64, 2);
        check_narrow(70, 24, 96, 3);
    }

    #[test]
    fn narrow_unpacks_to_seven_bits_and_zero_blocks_stay_zero() {
        let (n, k) = (9, 64);
        let (mut bytes, deq) = q8_matrix(n, k, 11);
        // Row 0, block 1: all zero (scale and values).
        bytes[Q8_0_BLOCK_BYTES..2 * Q8_0_BLOCK_BYTES].fill(0);
        let layer = PackedLinear::pack(&bytes, n, k, vec![0.0; n], Scheme::Narrow).unwrap();
        let (values, scales) = layer.unpack();
        assert!(values.iter().all(|v| (-63..=63).contains(v)));
        assert_eq!(scales[1], 0.0);
        assert!(values[BLOCK..2 * BLOCK].iter().all(|&v| v == 0));
        for (i, &d) in deq.iter().enumerate().skip(2 * BLOCK) {
            let step = scales[(i / k) * (k / BLOCK) + (i % k) / BLOCK];
            let v = values[i] as f32 * step;
            assert!((v - d).abs() <= 0.5 * step + 1e-7, "weight {i}: {v} vs {d}");
        }
    }

    #[test]
    fn activations_for_the_other_scheme_are_a_typed_error() {
        let (bytes, _) = q8_matrix(8, 32, 5);
        let mut q = QuantizedRows::default();
        let mut y = Vec::new();
        for (packed, quantized) in [
            (Scheme::Wide, Scheme::Narrow),
            (Scheme::Narrow, Scheme::Wide),
        ] {
            let layer = PackedLinear::pack(&bytes, 8, 32, vec![0.0; 8], packed).unwrap();
            q.quantize_for(quantized, &[1.0; 32], 32);
            assert!(matches!(
                layer.forward(Kernel::detect(), &q, &mut y),
                Err(Error::Config(_))
            ));
            q.quantize_for(packed, &[1.0; 64], 64);
            assert!(
                layer.forward(Kernel::detect(), &q, &mut y).is_err(),
                "width"
            );
            q.quantize_for(packed, &[1.0; 32], 32);
            layer.forward(Kernel::detect(), &q, &mut y).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_shapes(rows in 1usize..20, n in 1usize..40, blocks in 1usize..5, seed in 0u64..1000) {
            check(rows, n, blocks * BLOCK, seed);
            check_narrow(rows, n, blocks * BLOCK, seed);
        }
    }
}
