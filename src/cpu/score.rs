//! Int8 vectors and the kernels that score a catalogue against query directions.
//!
//! Item vectors are stored as int8 with one f32 scale per item (symmetric:
//! `v ≈ scale · q`, `max |q| = 127`). Queries are quantised the same way, so a
//! cosine is one i8·i8 → i32 dot product times two scales. The kernel scores
//! several query directions per pass over the items, so each item vector is
//! read from memory once: x86-64 uses AVX2 when the CPU has it (checked at run
//! time), wasm32 uses simd128 (`i32x4.dot_i16x8_s`) when built with it, and
//! everything else a portable loop the compiler vectorises.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::cpu::isa::Isa;

/// Quantises `v` to int8 with a symmetric scale; returns (values, scale).
/// A zero (or non-finite) vector quantises to zeros with scale 0.
pub fn quantize(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v
        .iter()
        .fold(0f32, |m, x| if x.is_finite() { m.max(x.abs()) } else { m });
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    let q = v
        .iter()
        .map(|&x| {
            if x.is_finite() {
                (x / scale).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        })
        .collect();
    (q, scale)
}

/// Dequantises one int8 vector.
pub fn dequantize(q: &[i8], scale: f32) -> Vec<f32> {
    q.iter().map(|&x| x as f32 * scale).collect()
}

/// A query direction prepared for the kernel: int8 values widened to i16, and a scale.
#[derive(Debug, Clone)]
pub struct Query {
    values: Vec<i16>,
    scale: f32,
}

impl Query {
    /// Prepares a float direction (any length matching the items' dims).
    pub fn new(v: &[f32]) -> Self {
        let (q, scale) = quantize(v);
        Self {
            values: q.into_iter().map(i16::from).collect(),
            scale,
        }
    }
    /// Dimensions.
    pub fn dims(&self) -> usize {
        self.values.len()
    }
}

/// Portable i8·i16 dot product.
fn dot_portable(a: &[i8], b: &[i16]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot_simd128(a: &[i8], b: &[i16]) -> i32 {
    use core::arch::wasm32::*;
    let chunks = a.len() / 16;
    let mut acc = i32x4_splat(0);
    for c in 0..chunks {
        // SAFETY: c*16+16 <= a.len() and b.len() == a.len(); v128 loads are unaligned.
        unsafe {
            let x = v128_load(a.as_ptr().add(c * 16) as *const v128);
            let lo = i16x8_extend_low_i8x16(x);
            let hi = i16x8_extend_high_i8x16(x);
            let y0 = v128_load(b.as_ptr().add(c * 16) as *const v128);
            let y1 = v128_load(b.as_ptr().add(c * 16 + 8) as *const v128);
            acc = i32x4_add(acc, i32x4_dot_i16x8(lo, y0));
            acc = i32x4_add(acc, i32x4_dot_i16x8(hi, y1));
        }
    }
    let mut sum = i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc);
    sum += dot_portable(&a[chunks * 16..], &b[chunks * 16..]);
    sum
}

/// # Safety
/// The CPU must have AVX2, and `b` must be at least as long as `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[i8], b: &[i16]) -> i32 {
    use core::arch::x86_64::*;
    let chunks = a.len() / 16;
    let mut acc = _mm256_setzero_si256();
    for c in 0..chunks {
        // SAFETY: c·16 + 16 ≤ a.len() ≤ b.len(); the loads are unaligned.
        let (x, y) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(c * 16) as *const __m128i),
                _mm256_loadu_si256(b.as_ptr().add(c * 16) as *const __m256i),
            )
        };
        let x = _mm256_cvtepi8_epi16(x);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
    }
    let lo = _mm256_castsi256_si128(acc);
    let hi = _mm256_extracti128_si256::<1>(acc);
    let s = _mm_add_epi32(lo, hi);
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s) + dot_portable(&a[chunks * 16..], &b[chunks * 16..])
}

pub use crate::cpu::isa::Kernel;

impl Kernel {
    /// i8 · i16 dot product (lengths must match; extra elements are ignored).
    #[inline]
    pub fn dot(self, a: &[i8], b: &[i16]) -> i32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        match self.isa() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` with `Isa::Avx2` only comes from detection on a
            // CPU with AVX2 (crate::cpu::isa); the lengths are equal.
            Isa::Avx2 => unsafe { dot_avx2(a, b) },
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => dot_simd128(a, b),
            Isa::Portable => dot_portable(a, b),
        }
    }
}

/// Item vectors as one int8 matrix (row-major, borrowed) with per-row scales.
#[derive(Debug, Clone, Copy)]
pub struct ItemMatrix<'a> {
    /// `rows × dims` int8 values.
    pub values: &'a [i8],
    /// One scale per row.
    pub scales: &'a [f32],
    /// Row width.
    pub dims: usize,
}

impl<'a> ItemMatrix<'a> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.scales.len()
    }
    /// Row `i`'s int8 values.
    pub fn row(&self, i: usize) -> &'a [i8] {
        &self.values[i * self.dims..(i + 1) * self.dims]
    }
    /// Cosine-like score of row `i` against a query (rows and queries are unit vectors).
    pub fn score(&self, kernel: Kernel, i: usize, q: &Query) -> f32 {
        kernel.dot(self.row(i), &q.values) as f32 * self.scales[i] * q.scale
    }
    /// Scores every row against every query: `out[q][i]`. One pass over the rows.
    pub fn score_all(&self, kernel: Kernel, queries: &[Query], out: &mut [Vec<f32>]) {
        for o in out.iter_mut() {
            o.resize(self.rows(), 0.0);
        }
        for i in 0..self.rows() {
            let row = self.row(i);
            let s = self.scales[i];
            for (q, o) in queries.iter().zip(out.iter_mut()) {
                o[i] = kernel.dot(row, &q.values) as f32 * s * q.scale;
            }
        }
    }
}

/// A score with a total order (NaN sorts lowest), ties broken by lower index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked {
    score: f32,
    index: u32,
}

impl Eq for Ranked {}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        // "Greater" = better: higher score, then lower index.
        let a = if self.score.is_nan() {
            f32::NEG_INFINITY
        } else {
            self.score
        };
        let b = if other.score.is_nan() {
            f32::NEG_INFINITY
        } else {
            other.score
        };
        a.total_cmp(&b).then_with(|| other.index.cmp(&self.index))
    }
}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` best (index, score) pairs of `scores` whose index passes `keep`,
/// best first (ties: lower index first).
pub fn top_k(scores: impl IntoIterator<Item = (usize, f32)>, k: usize) -> Vec<(usize, f32)> {
    if k == 0 {
        return Vec::new();
    }
    // A min-heap of the best k so far (Reverse makes the worst the top).
    let mut heap: BinaryHeap<std::cmp::Reverse<Ranked>> = BinaryHeap::with_capacity(k + 1);
    for (index, score) in scores {
        let r = Ranked {
            score,
            index: index as u32,
        };
        if heap.len() < k {
            heap.push(std::cmp::Reverse(r));
        } else if let Some(worst) = heap.peek() {
            if r > worst.0 {
                heap.pop();
                heap.push(std::cmp::Reverse(r));
            }
        }
    }
    let mut out: Vec<Ranked> = heap.into_iter().map(|r| r.0).collect();
    out.sort_by(|a, b| b.cmp(a));
    out.into_iter()
        .map(|r| (r.index as usize, r.score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u32, dims: usize) -> Vec<f32> {
        crate::testing::unit_vector(seed, dims, 0, 0.0)
    }

    #[test]
    fn kernels_agree_with_the_portable_dot() {
        for dims in [1, 15, 16, 17, 384, 385] {
            let (a, _) = quantize(&unit(1, dims));
            let q = Query::new(&unit(2, dims));
            let want = dot_portable(&a, &q.values);
            assert_eq!(Kernel::detect().dot(&a, &q.values), want, "dims {dims}");
        }
    }

    #[test]
    fn int8_scores_track_float_cosines() {
        let dims = 384;
        let items: Vec<Vec<f32>> = (0..50).map(|i| unit(i + 10, dims)).collect();
        let (mut values, mut scales) = (Vec::new(), Vec::new());
        for v in &items {
            let (q, s) = quantize(v);
            values.extend(q);
            scales.push(s);
        }
        let m = ItemMatrix {
            values: &values,
            scales: &scales,
            dims,
        };
        let query = unit(99, dims);
        let q = Query::new(&query);
        let mut out = vec![Vec::new()];
        m.score_all(Kernel::detect(), std::slice::from_ref(&q), &mut out);
        for (i, v) in items.iter().enumerate() {
            let exact: f32 = v.iter().zip(&query).map(|(a, b)| a * b).sum();
            assert!(
                (out[0][i] - exact).abs() < 2e-3,
                "{i}: {} vs {exact}",
                out[0][i]
            );
            assert_eq!(out[0][i], m.score(Kernel::detect(), i, &q));
        }
    }

    #[test]
    fn quantize_handles_zero_and_nan() {
        assert_eq!(quantize(&[0.0, 0.0]), (vec![0, 0], 0.0));
        let (q, s) = quantize(&[f32::NAN, 1.0, -0.5]);
        assert_eq!(q, vec![0, 127, -64]);
        assert!((s - 1.0 / 127.0).abs() < 1e-9);
        assert_eq!(dequantize(&[127], s), vec![1.0]);
    }

    #[test]
    fn top_k_is_sorted_stable_and_bounded() {
        let scores = [0.5, 0.9, f32::NAN, 0.9, 0.1, 0.7];
        let top = top_k(scores.iter().copied().enumerate(), 3);
        assert_eq!(top, vec![(1, 0.9), (3, 0.9), (5, 0.7)]);
        assert_eq!(top_k(scores.iter().copied().enumerate(), 0), vec![]);
        assert_eq!(top_k(scores.iter().copied().enumerate(), 100).len(), 6);
    }
}
