//! The narrow int8 scheme, made for relaxed SIMD's 8-bit dot product.
//!
//! `i32x4.relaxed_dot_i8x16_i7x16_add_s` multiplies 16 signed bytes by 16
//! bytes whose top bit must be clear, sums each group of four products into a
//! 32-bit lane and adds an accumulator: 16 multiply-adds in one instruction
//! (one `vpdpbusd` where the CPU has AVX-VNNI), against 8 for simd128's
//! `i32x4.dot_i16x8_s` after widening both operands. To use it:
//!
//! - weights are re-rounded at load from their `Q8_0` blocks to 7 bits
//!   (−63..=63, one f32 scale per output and block of [`BLOCK`] inputs; a
//!   block already within −63..=63, as in calibrated bundles, is kept) and
//!   stored offset by +64, so every byte is in 1..=127 and its top bit is
//!   clear on every engine;
//! - activations are quantised per row *and* per block of [`BLOCK`] inputs to
//!   i8 (−127..=127) with one scale each; per-block scales keep BERT's
//!   outlier features from flattening the other inputs of the row;
//! - each block's integer sum is `Σ a·(w+64) − 64·Σ a`, with `Σ a` kept from
//!   quantisation, so the offset costs one subtraction per block.
//!
//! Packed layout: panels of [`PANEL`] outputs; per panel and block, eight
//! groups of four consecutive inputs, each group as 8 outputs × 4 bytes
//! (two 16-byte vectors: outputs 0–3 and 4–7). A broadcast of one row's four
//! activation bytes then meets both vectors, and every 32-bit lane of the
//! result belongs to one output.
//!
//! Intermediate 16-bit pair sums stay within 2·127·127 < 2¹⁵, so engines that
//! saturate there and engines that do not give the same integers; the
//! portable kernel computes them too and is the reference in tests.

use super::{f16_to_f32, BLOCK, PANEL, Q8_0_BLOCK_BYTES, ROW_BLOCK, TILE_ROWS};
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
use crate::cpu::isa::Isa;
use crate::cpu::isa::Kernel;
use crate::util::error::{Error, Result};

/// Largest 7-bit weight magnitude.
const W_MAX: f32 = 63.0;
/// Offset that makes 7-bit weights non-negative.
const W_OFFSET: i32 = 64;
/// Largest activation magnitude.
const A_MAX: f32 = 127.0;
/// Inputs per group of one dot-product lane.
const GROUP: usize = 4;
/// Packed bytes of one block of one panel.
const PANEL_BLOCK_BYTES: usize = PANEL * BLOCK;

/// Weights of one linear layer in the narrow layout.
#[derive(Debug, Clone)]
pub(super) struct NarrowPanels {
    outputs: usize,
    blocks: usize,
    /// `[panel][block][group 0..8][output 0..8][4]`, each `q + 64`.
    weights: Vec<u8>,
    /// `[panel][block][output 0..8]` f32 scales (0 for padding outputs).
    scales: Vec<f32>,
}

impl NarrowPanels {
    /// Re-rounds `outputs` rows of `Q8_0` blocks (length checked by the caller).
    pub(super) fn from_q8_0(q8_0: &[u8], outputs: usize, blocks: usize) -> Self {
        let panels = outputs.div_ceil(PANEL);
        // Padding outputs keep weight 0, stored as the offset.
        let mut weights = vec![W_OFFSET as u8; panels * blocks * PANEL_BLOCK_BYTES];
        let mut scales = vec![0f32; panels * blocks * PANEL];
        for n in 0..outputs {
            let (panel, lane) = (n / PANEL, n % PANEL);
            for b in 0..blocks {
                let src = &q8_0[(n * blocks + b) * Q8_0_BLOCK_BYTES..][..Q8_0_BLOCK_BYTES];
                let scale = f16_to_f32(u16::from_le_bytes([src[0], src[1]]));
                let q8 = &src[2..];
                let max = q8
                    .iter()
                    .map(|&v| (v as i8).unsigned_abs())
                    .max()
                    .unwrap_or(0);
                let at = panel * blocks + b;
                if max == 0 || !scale.is_finite() {
                    continue; // all zero: weights stay at the offset, scale 0
                }
                // Blocks already within 7 bits (calibrated bundles) are kept exactly.
                let ratio = (W_MAX / f32::from(max)).min(1.0);
                scales[at * PANEL + lane] = scale / ratio;
                let dst = &mut weights[at * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
                for (k, &v) in q8.iter().enumerate() {
                    let q = seven_bits(v as i8, ratio);
                    let (group, within) = (k / GROUP, k % GROUP);
                    dst[(group * PANEL + lane) * GROUP + within] = (q + W_OFFSET) as u8;
                }
            }
        }
        Self {
            outputs,
            blocks,
            weights,
            scales,
        }
    }

    /// The 7-bit weights back in row order (`outputs × blocks·BLOCK` values
    /// in −63..=63) and their `outputs × blocks` scales.
    pub(super) fn unpack(&self) -> (Vec<i8>, Vec<f32>) {
        let (outputs, blocks) = (self.outputs, self.blocks);
        let inputs = blocks * BLOCK;
        let mut values = vec![0i8; outputs * inputs];
        let mut scales = vec![0f32; outputs * blocks];
        for n in 0..outputs {
            let (panel, lane) = (n / PANEL, n % PANEL);
            for b in 0..blocks {
                let at = panel * blocks + b;
                scales[n * blocks + b] = self.scales[at * PANEL + lane];
                let src = &self.weights[at * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
                for k in 0..BLOCK {
                    let (group, within) = (k / GROUP, k % GROUP);
                    let u = src[(group * PANEL + lane) * GROUP + within];
                    values[n * inputs + b * BLOCK + k] = (i32::from(u) - W_OFFSET) as i8;
                }
            }
        }
        (values, scales)
    }
}

/// One `Q8_0` value re-rounded to 7 bits at `ratio` (7-bit steps per 8-bit step).
fn seven_bits(v: i8, ratio: f32) -> i32 {
    (crate::cpu::ops::round_small(f32::from(v) * ratio) as i32).clamp(-(W_MAX as i32), W_MAX as i32)
}

/// Activations quantised per row and per block of [`BLOCK`] inputs, padded
/// with zero rows to whole kernel tiles.
#[derive(Debug, Clone, Default)]
pub(super) struct NarrowRows {
    /// `padded rows × width` i8 values.
    values: Vec<i8>,
    /// `padded rows × blocks` scales.
    scales: Vec<f32>,
    /// `padded rows × blocks` sums of each block's i8 values, times 64.
    offsets: Vec<i32>,
}

impl NarrowRows {
    /// Quantises `rows × width` values (`width` a whole number of blocks).
    /// Non-finite values count as 0.
    pub(super) fn quantize(&mut self, x: &[f32], rows: usize, width: usize) {
        let blocks = width / BLOCK;
        let padded = rows.div_ceil(TILE_ROWS) * TILE_ROWS;
        self.values.clear();
        self.values.resize(padded * width, 0);
        self.scales.clear();
        self.scales.resize(padded * blocks, 0.0);
        self.offsets.clear();
        self.offsets.resize(padded * blocks, 0);
        for (((block, q), scale), offset) in x
            .chunks_exact(BLOCK)
            .zip(self.values.chunks_exact_mut(BLOCK))
            .zip(self.scales.iter_mut())
            .zip(self.offsets.iter_mut())
        {
            let (s, sum) = quantize_block(block, q);
            *scale = s;
            *offset = sum * W_OFFSET;
        }
    }
}

/// Rounds one block of [`BLOCK`] values to i8 at `127 / max|v|` into `q` (as
/// `as i8` does: saturating, NaN to 0); returns the block's scale and the
/// sum of its i8 values. A block with no finite non-zero maximum (all zero,
/// or holding ±∞) quantises to zeros with scale 0.
#[inline]
fn quantize_block(block: &[f32], q: &mut [i8]) -> (f32, i32) {
    assert!(
        block.len() == BLOCK && q.len() == BLOCK,
        "quantize_block: one block"
    );
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    // SAFETY: both slices hold BLOCK values (asserted just above).
    return unsafe { quantize_block_simd128(block, q) };
    #[allow(unreachable_code)]
    {
        let max = crate::cpu::ops::max_abs(block);
        if !(max > 0.0 && max.is_finite()) {
            return (0.0, 0);
        }
        let inv = A_MAX / max;
        let sum = q.iter_mut().zip(block).fold(0i32, |sum, (q, &v)| {
            *q = crate::cpu::ops::round_small(v * inv) as i8;
            sum + i32::from(*q)
        });
        (max / A_MAX, sum)
    }
}

/// [`quantize_block`] on simd128, the block held in registers. `pmax`
/// skips NaN as `max_abs` does and the rounding is `round_small`'s, so both
/// paths give the same bytes.
///
/// # Safety
/// `block` and `q` must both hold [`BLOCK`] values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
unsafe fn quantize_block_simd128(block: &[f32], q: &mut [i8]) -> (f32, i32) {
    // SAFETY: both slices hold BLOCK values (asserted by the caller), which bounds every offset below.
    unsafe {
        use core::arch::wasm32::*;
        let (src, dst) = (block.as_ptr(), q.as_mut_ptr());
        let mut v = [f32x4_splat(0.0); BLOCK / 4];
        let mut max = f32x4_splat(0.0);
        for (j, v) in v.iter_mut().enumerate() {
            *v = v128_load(src.add(j * 4) as *const v128);
            max = f32x4_pmax(max, f32x4_abs(*v));
        }
        let max = [
            f32x4_extract_lane::<0>(max),
            f32x4_extract_lane::<1>(max),
            f32x4_extract_lane::<2>(max),
            f32x4_extract_lane::<3>(max),
        ]
        .into_iter()
        .fold(0f32, |m, a| if a > m { a } else { m });
        if !(max > 0.0 && max.is_finite()) {
            v128_store(dst as *mut v128, i32x4_splat(0));
            v128_store(dst.add(16) as *mut v128, i32x4_splat(0));
            return (0.0, 0);
        }
        let scale = f32x4_splat(A_MAX / max);
        // Rounding by adding 1.5·2²³ (ties to even, as `round_small`) leaves the
        // integer in the sum's low bits; NaN lanes are masked to 0 first.
        let rounder = f32x4_splat(crate::cpu::ops::ROUNDER);
        let rounder_bits = i32x4_splat(crate::cpu::ops::ROUNDER.to_bits() as i32);
        let mut sum = i32x4_splat(0);
        for half in 0..BLOCK / 16 {
            let int = |j: usize| {
                let x = f32x4_mul(v[half * 4 + j], scale);
                let x = v128_and(x, f32x4_eq(x, x));
                i32x4_sub(f32x4_add(x, rounder), rounder_bits)
            };
            let bytes = i8x16_narrow_i16x8(
                i16x8_narrow_i32x4(int(0), int(1)),
                i16x8_narrow_i32x4(int(2), int(3)),
            );
            v128_store(dst.add(half * 16) as *mut v128, bytes);
            // Sum the saturated bytes, as the portable path does.
            sum = i32x4_add(
                sum,
                i32x4_extadd_pairwise_i16x8(i16x8_extadd_pairwise_i8x16(bytes)),
            );
        }
        let sum = i32x4_extract_lane::<0>(sum)
            + i32x4_extract_lane::<1>(sum)
            + i32x4_extract_lane::<2>(sum)
            + i32x4_extract_lane::<3>(sum);
        (max / A_MAX, sum)
    }
}

/// `y = x·Wᵀ + b` over `rows` rows (`y` already sized `rows × outputs`).
/// Shapes that disagree (a bug in the caller, never user input) are a typed
/// error rather than a panic, since the relaxed kernel writes through raw
/// pointers and relies on them.
pub(super) fn forward(
    kernel: Kernel,
    w: &NarrowPanels,
    x: &NarrowRows,
    rows: usize,
    bias: &[f32],
    y: &mut [f32],
) -> Result<()> {
    let width = w.blocks * BLOCK;
    let padded = x.values.len() / width.max(1);
    let fits = x.values.len() == padded * width
        && x.scales.len() == padded * w.blocks
        && x.offsets.len() == padded * w.blocks
        && padded.is_multiple_of(TILE_ROWS)
        && rows <= padded
        && y.len() == rows * w.outputs
        && bias.len() == w.outputs;
    if !fits {
        return Err(Error::Config(format!(
            "narrow product: {rows} rows of {} values for {} outputs × {width} inputs, \
             output {} and bias {} long",
            x.values.len(),
            w.outputs,
            y.len(),
            bias.len()
        )));
    }
    match kernel.isa() {
        #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
        // SAFETY: this build only runs where relaxed SIMD validated (the loader
        // picks it after `WebAssembly.validate`); every length the kernel relies
        // on is checked just above.
        Isa::Simd128 => unsafe { forward_relaxed(w, x, rows, bias, y) },
        _ => forward_portable(w, x, rows, bias, y),
    }
    Ok(())
}

/// Rows in cache blocks of [`ROW_BLOCK`]; per block, every panel's weights
/// stay in L1 while the block's row tiles stream past them.
fn forward_portable(w: &NarrowPanels, x: &NarrowRows, rows: usize, bias: &[f32], y: &mut [f32]) {
    let blocks = w.blocks;
    let width = blocks * BLOCK;
    let padded_rows = x.values.len() / width.max(1);
    let mut acc = [[0f32; PANEL]; TILE_ROWS];
    for row_block in (0..padded_rows).step_by(ROW_BLOCK) {
        let row_end = (row_block + ROW_BLOCK).min(padded_rows);
        for panel in 0..w.outputs.div_ceil(PANEL) {
            let tile_w = Tile {
                w: &w.weights[panel * blocks * PANEL_BLOCK_BYTES..][..blocks * PANEL_BLOCK_BYTES],
                s: &w.scales[panel * blocks * PANEL..][..blocks * PANEL],
                blocks,
            };
            for tile in (row_block..row_end).step_by(TILE_ROWS) {
                let tile_x = TileRows {
                    a: &x.values[tile * width..][..TILE_ROWS * width],
                    scales: &x.scales[tile * blocks..][..TILE_ROWS * blocks],
                    offsets: &x.offsets[tile * blocks..][..TILE_ROWS * blocks],
                };
                tile_portable(&tile_x, &tile_w, &mut acc);
                write_tile(&acc, tile, panel, rows, bias, y);
            }
        }
    }
}

/// Adds the bias to one tile's sums and stores the rows that exist.
#[inline]
fn write_tile(
    acc: &[[f32; PANEL]; TILE_ROWS],
    tile: usize,
    panel: usize,
    rows: usize,
    bias: &[f32],
    y: &mut [f32],
) {
    let outputs = bias.len();
    let first_out = panel * PANEL;
    let lanes = PANEL.min(outputs - first_out);
    for (m, acc_row) in acc.iter().enumerate() {
        let row = tile + m;
        if row >= rows {
            break;
        }
        let out = &mut y[row * outputs + first_out..][..lanes];
        for ((o, &v), &b) in out.iter_mut().zip(acc_row).zip(&bias[first_out..]) {
            *o = v + b;
        }
    }
}

/// One panel's weights.
struct Tile<'a> {
    w: &'a [u8],
    s: &'a [f32],
    blocks: usize,
}

/// [`TILE_ROWS`] rows of quantised activations.
struct TileRows<'a> {
    a: &'a [i8],
    scales: &'a [f32],
    offsets: &'a [i32],
}

/// `acc[m][j] = Σ_b a_scale[m][b] · w_scale[b][j] · (Σ_{k∈b} a[m][k]·(w[j][k]+64) − 64·Σ_{k∈b} a[m][k])`,
/// in plain Rust (the reference for the relaxed-SIMD tile).
fn tile_portable(x: &TileRows, w: &Tile, acc: &mut [[f32; PANEL]; TILE_ROWS]) {
    let width = w.blocks * BLOCK;
    *acc = [[0.0; PANEL]; TILE_ROWS];
    for b in 0..w.blocks {
        let wb = &w.w[b * PANEL_BLOCK_BYTES..][..PANEL_BLOCK_BYTES];
        let sb = &w.s[b * PANEL..][..PANEL];
        for (m, acc_row) in acc.iter_mut().enumerate() {
            let ab = &x.a[m * width + b * BLOCK..][..BLOCK];
            let mut sums = [0i32; PANEL];
            for (group, w_group) in wb.chunks_exact(PANEL * GROUP).enumerate() {
                let a4 = &ab[group * GROUP..][..GROUP];
                for (sum, w4) in sums.iter_mut().zip(w_group.chunks_exact(GROUP)) {
                    *sum += a4
                        .iter()
                        .zip(w4)
                        .map(|(&a, &w)| i32::from(a) * i32::from(w))
                        .sum::<i32>();
                }
            }
            let a_scale = x.scales[m * w.blocks + b];
            let offset = x.offsets[m * w.blocks + b];
            // The relaxed kernel's order: the two scales first, then one
            // multiply-add (which it may fuse).
            for ((acc, &sum), &scale) in acc_row.iter_mut().zip(&sums).zip(sb) {
                *acc += (sum - offset) as f32 * (scale * a_scale);
            }
        }
    }
}

/// [`forward_portable`] on `i32x4.relaxed_dot_i8x16_i7x16_add_s`, the whole
/// loop in one function: a `target_feature` function is not inlined into
/// callers without the feature, and a call per tile (with its accumulators
/// through memory) cost a third of the speed.
///
/// # Safety
/// Relaxed SIMD must be available; `x` holds whole tiles of rows of
/// `w.blocks · BLOCK` values (with their per-block scales and offsets), `w`
/// whole panels, `y` at least `rows × w.outputs` values and `bias` one per output.
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
#[target_feature(enable = "relaxed-simd")]
unsafe fn forward_relaxed(
    w: &NarrowPanels,
    x: &NarrowRows,
    rows: usize,
    bias: &[f32],
    y: &mut [f32],
) {
    // SAFETY: the caller guarantees relaxed SIMD and the lengths in `# Safety`, which bound every pointer offset below.
    unsafe {
        use core::arch::wasm32::*;
        let blocks = w.blocks;
        let width = blocks * BLOCK;
        let padded_rows = x.values.len() / width.max(1);
        let (wp, sp) = (w.weights.as_ptr(), w.scales.as_ptr());
        let (ap, a_scales, a_offsets) = (x.values.as_ptr(), x.scales.as_ptr(), x.offsets.as_ptr());
        let mut acc = [[0f32; PANEL]; TILE_ROWS];
        for row_block in (0..padded_rows).step_by(ROW_BLOCK) {
            let row_end = (row_block + ROW_BLOCK).min(padded_rows);
            for panel in 0..w.outputs.div_ceil(PANEL) {
                for tile in (row_block..row_end).step_by(TILE_ROWS) {
                    let mut f = [[f32x4_splat(0.0); 2]; TILE_ROWS];
                    for b in 0..blocks {
                        let at = panel * blocks + b;
                        let wb = wp.add(at * PANEL_BLOCK_BYTES);
                        // Each row's sums start at −64·Σa: the offset is paid up front.
                        let mut sums = [[i32x4_splat(0); 2]; TILE_ROWS];
                        for (m, sum) in sums.iter_mut().enumerate() {
                            let start = i32x4_splat(-*a_offsets.add((tile + m) * blocks + b));
                            *sum = [start, start];
                        }
                        for group in 0..BLOCK / GROUP {
                            let w_lo = v128_load(wb.add(group * PANEL * GROUP) as *const v128);
                            let w_hi = v128_load(wb.add(group * PANEL * GROUP + 16) as *const v128);
                            for (m, sum) in sums.iter_mut().enumerate() {
                                let at_a = (tile + m) * width + b * BLOCK + group * GROUP;
                                let av = v128_load32_splat(ap.add(at_a) as *const u32);
                                sum[0] = i32x4_relaxed_dot_i8x16_i7x16_add(av, w_lo, sum[0]);
                                sum[1] = i32x4_relaxed_dot_i8x16_i7x16_add(av, w_hi, sum[1]);
                            }
                        }
                        let s_lo = v128_load(sp.add(at * PANEL) as *const v128);
                        let s_hi = v128_load(sp.add(at * PANEL + 4) as *const v128);
                        for (m, (fm, sum)) in f.iter_mut().zip(&sums).enumerate() {
                            let a_scale = f32x4_splat(*a_scales.add((tile + m) * blocks + b));
                            let lo = f32x4_convert_i32x4(sum[0]);
                            let hi = f32x4_convert_i32x4(sum[1]);
                            // The portable tile's order; the multiply-add may be
                            // fused, so the last bit can differ from it.
                            fm[0] = f32x4_relaxed_madd(lo, f32x4_mul(s_lo, a_scale), fm[0]);
                            fm[1] = f32x4_relaxed_madd(hi, f32x4_mul(s_hi, a_scale), fm[1]);
                        }
                    }
                    let first_out = panel * PANEL;
                    if first_out + PANEL <= w.outputs {
                        // A whole panel: add the bias and store the rows that exist.
                        let b_lo = v128_load(bias.as_ptr().add(first_out) as *const v128);
                        let b_hi = v128_load(bias.as_ptr().add(first_out + 4) as *const v128);
                        for (m, fm) in f.iter().enumerate().take(rows.saturating_sub(tile)) {
                            let out = y.as_mut_ptr().add((tile + m) * w.outputs + first_out);
                            v128_store(out as *mut v128, f32x4_add(fm[0], b_lo));
                            v128_store(out.add(4) as *mut v128, f32x4_add(fm[1], b_hi));
                        }
                    } else {
                        for (out, fm) in acc.iter_mut().zip(&f) {
                            v128_store(out.as_mut_ptr() as *mut v128, fm[0]);
                            v128_store(out.as_mut_ptr().add(4) as *mut v128, fm[1]);
                        }
                        write_tile(&acc, tile, panel, rows, bias, y);
                    }
                }
            }
        }
    }
}
