//! Row and element-wise maths for the int8 encoder: LayerNorm, GELU (erf),
//! softmax, a register-tiled f32 matrix product (attention), dot products
//! and a branch-free `exp`.
//!
//! Everything is written as straight-line loops over fixed-width chunks with
//! several independent accumulators, so that LLVM turns them into simd128 (or
//! SSE/AVX) code: no calls into libm, no data-dependent branches. `exp` is
//! 2ⁿ·eʳ with a degree-6 polynomial for eʳ (relative error < 5e-7); `erf` is
//! Abramowitz–Stegun 7.1.28 (absolute error < 3e-7 exactly, < 1.7e-6 in f32),
//! far below the int8 weights' own error.

/// Lanes of the accumulators in reductions (two 128-bit vectors).
const LANES: usize = 8;

/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude < 2²² to the
/// nearest integer (ties to even) with two vectorisable adds, where
/// `round_ties_even` would be a libm call on baseline x86-64.
pub(crate) const ROUNDER: f32 = 12_582_912.0;

/// Nearest integer (ties to even) of `x`, for |x| < 2²².
#[inline(always)]
pub(crate) fn round_small(x: f32) -> f32 {
    (x + ROUNDER) - ROUNDER
}

/// `Σ a[i]·b[i]` with eight independent partial sums.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// `max |x[i]|` with eight independent partial maxima (NaN is skipped).
#[inline]
pub(crate) fn max_abs(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            let a = c[i].abs();
            acc[i] = if a > acc[i] { a } else { acc[i] };
        }
    }
    let tail = chunks.remainder().iter().map(|v| v.abs());
    acc.into_iter()
        .chain(tail)
        .fold(0f32, |m, a| if a > m { a } else { m })
}

/// Rows of a register tile in [`matmul`].
const TILE_M: usize = 4;
/// Columns of a register tile in [`matmul`] (two 128-bit vectors).
pub(crate) const TILE_N: usize = 8;

/// A row-major matrix view: `rows × cols` values, row `r` at `data[r · stride..]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub stride: usize,
}

/// `c[i][j] = Σ_p a[i][p] · b[p][j]` for `i < m`, `j < n`, `p < k`, overwriting
/// `c` (row stride `c_stride`). Computed in 4 × 8 register tiles, so each
/// loaded value of `b` feeds four rows and each of `a` eight columns; only
/// columns past the last multiple of [`TILE_N`] take a scalar loop (callers
/// that can pad `n` to a multiple of it avoid that).
pub(crate) fn matmul(
    a: MatRef,
    b: MatRef,
    c: &mut [f32],
    c_stride: usize,
    m: usize,
    n: usize,
    k: usize,
) {
    if k == 0 {
        // An empty sum: every output is 0 (and no tile bound underflows).
        for i in 0..m {
            c[i * c_stride..][..n].fill(0.0);
        }
        return;
    }
    for i0 in (0..m).step_by(TILE_M) {
        let rows = TILE_M.min(m - i0);
        for j0 in (0..n).step_by(TILE_N) {
            let cols = TILE_N.min(n - j0);
            let mut acc = [[0f32; TILE_N]; TILE_M];
            if cols == TILE_N {
                // A short last row tile repeats its last row: the spare sums are
                // computed on the vector path and never stored.
                let a_rows: [&[f32]; TILE_M] =
                    std::array::from_fn(|r| &a.data[(i0 + r.min(rows - 1)) * a.stride..][..k]);
                let b_cols = &b.data[j0..];
                if b_cols.len() < (k - 1) * b.stride + TILE_N {
                    unreachable!("b holds k rows of at least j0 + TILE_N columns");
                }
                // SAFETY: every a row holds k values and b_cols covers k rows of TILE_N
                // values at `stride` (both checked just above).
                unsafe { tile_f32(&a_rows, b_cols, b.stride, k, &mut acc) };
            } else {
                for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                    let a_row = &a.data[(i0 + r) * a.stride..][..k];
                    for (p, &av) in a_row.iter().enumerate() {
                        let b_row = &b.data[p * b.stride + j0..][..cols];
                        for (x, &bv) in acc_row.iter_mut().zip(b_row) {
                            *x += av * bv;
                        }
                    }
                }
            }
            for (r, acc_row) in acc.iter().enumerate().take(rows) {
                c[(i0 + r) * c_stride + j0..][..cols].copy_from_slice(&acc_row[..cols]);
            }
        }
    }
}

/// One full 4 × 8 tile of [`matmul`]: `acc[r][c] = Σ_p a[r][p] · b[p·stride + c]`.
///
/// # Safety
/// Each `a[r]` must hold `k` values and `b` at least `(k − 1)·stride + 8`
/// (k ≥ 1).
#[inline]
unsafe fn tile_f32(
    a: &[&[f32]; TILE_M],
    b: &[f32],
    stride: usize,
    k: usize,
    acc: &mut [[f32; TILE_N]; TILE_M],
) {
    // SAFETY: the caller guarantees the lengths in `# Safety`; every offset below is p·stride + 7 < (k − 1)·stride + 8 or p < k.
    unsafe {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            use core::arch::wasm32::*;
            let mut v = [[f32x4_splat(0.0); 2]; TILE_M];
            for p in 0..k {
                let bp = b.as_ptr().add(p * stride);
                let b0 = v128_load(bp as *const v128);
                let b1 = v128_load(bp.add(4) as *const v128);
                for (vr, ar) in v.iter_mut().zip(a) {
                    let av = f32x4_splat(*ar.get_unchecked(p));
                    vr[0] = f32x4_add(vr[0], f32x4_mul(av, b0));
                    vr[1] = f32x4_add(vr[1], f32x4_mul(av, b1));
                }
            }
            for (out, vr) in acc.iter_mut().zip(&v) {
                v128_store(out.as_mut_ptr() as *mut v128, vr[0]);
                v128_store(out.as_mut_ptr().add(4) as *mut v128, vr[1]);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            use core::arch::x86_64::*;
            let mut v = [[_mm_setzero_ps(); 2]; TILE_M];
            for p in 0..k {
                let bp = b.as_ptr().add(p * stride);
                let b0 = _mm_loadu_ps(bp);
                let b1 = _mm_loadu_ps(bp.add(4));
                for (vr, ar) in v.iter_mut().zip(a) {
                    let av = _mm_set1_ps(*ar.get_unchecked(p));
                    vr[0] = _mm_add_ps(vr[0], _mm_mul_ps(av, b0));
                    vr[1] = _mm_add_ps(vr[1], _mm_mul_ps(av, b1));
                }
            }
            for (out, vr) in acc.iter_mut().zip(&v) {
                _mm_storeu_ps(out.as_mut_ptr(), vr[0]);
                _mm_storeu_ps(out.as_mut_ptr().add(4), vr[1]);
            }
        }
        #[cfg(not(any(
            target_arch = "x86_64",
            all(target_arch = "wasm32", target_feature = "simd128")
        )))]
        for p in 0..k {
            for (acc_row, ar) in acc.iter_mut().zip(a) {
                let av = ar[p];
                for (c, x) in acc_row.iter_mut().enumerate() {
                    *x += av * b[p * stride + c];
                }
            }
        }
    }
}

/// `Σ x[i]` with eight independent partial sums.
#[inline]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `x[i] += y[i]`.
#[inline]
pub(crate) fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (x, &y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

/// LayerNorm of every `width`-wide row of `x`, in place:
/// `(x − mean) / sqrt(var + eps) · gamma + beta`.
pub(crate) fn layer_norm_rows(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let width = gamma.len();
    if width == 0 {
        return;
    }
    let inv_n = 1.0 / width as f32;
    for row in x.chunks_exact_mut(width) {
        let mean = sum(row) * inv_n;
        let mut acc = [0f32; LANES];
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            for i in 0..LANES {
                let d = c[i] - mean;
                acc[i] += d * d;
            }
        }
        let tail: f32 = chunks
            .remainder()
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum();
        let var = (acc.iter().sum::<f32>() + tail) * inv_n;
        let inv_std = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv_std * g + b;
        }
    }
}

/// eˣ and erf(x) without libm, with their constants as one value. Vector loops
/// take them through [`Approximations::opaque`] once per call: LLVM then splats
/// them into locals before the loop, where as immediates it leaves a
/// `v128.const` at every use, which V8 rebuilds on every iteration.
#[derive(Clone, Copy)]
struct Approximations {
    exp_low: f32,
    exp_high: f32,
    log2_e: f32,
    rounder: f32,
    ln2_high: f32,
    ln2_low: f32,
    /// Taylor coefficients of eʳ, highest degree first (1/720 … 1).
    taylor: [f32; 7],
    /// Abramowitz & Stegun 7.1.28's a₁ … a₆.
    erf_a: [f32; 6],
    one: f32,
    half: f32,
}

impl Approximations {
    const VALUES: Self = Self {
        exp_low: -87.0,
        exp_high: 88.0,
        log2_e: std::f32::consts::LOG2_E,
        rounder: ROUNDER,
        ln2_high: 0.693_359_4,
        ln2_low: -2.121_944_4e-4,
        taylor: [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ],
        erf_a: [
            0.070_523_08,
            0.042_282_01,
            0.009_270_527,
            0.000_152_014_3,
            0.000_276_567_2,
            0.000_043_063_8,
        ],
        one: 1.0,
        half: 0.5,
    };

    /// The same values, opaque to constant folding.
    #[inline(always)]
    fn opaque() -> Self {
        std::hint::black_box(Self::VALUES)
    }

    /// eˣ without libm: exact to a few ulp over the f32 range, 0 below −87, and
    /// clamped to e⁸⁸ above (softmax and GELU never come near either end).
    #[inline(always)]
    fn exp(&self, x: f32) -> f32 {
        let x = if x < self.exp_low { self.exp_low } else { x };
        let x = if x > self.exp_high { self.exp_high } else { x };
        // n = round(x·log₂e) as in `round_small`; the sum's low mantissa bits
        // hold n itself, so its integer form is a subtraction (no float-to-int
        // conversion, which is slow on wasm's saturating path).
        let t = x * self.log2_e + self.rounder;
        let n = t - self.rounder;
        let n_int = (t.to_bits() as i32).wrapping_sub(self.rounder.to_bits() as i32);
        // r = x − n·ln2 in two steps (Cody–Waite), |r| ≤ ln2/2.
        let r = x - n * self.ln2_high - n * self.ln2_low;
        // e^r: Taylor to degree 6, relative error < 2e-7 on |r| ≤ 0.35.
        let [c6, c5, c4, c3, c2, c1, c0] = self.taylor;
        let p = ((((((c6 * r + c5) * r + c4) * r + c3) * r + c2) * r + c1) * r) + c0;
        let bits = ((n_int + 127) << 23) as u32;
        p * f32::from_bits(bits)
    }

    /// erf(x), Abramowitz & Stegun 7.1.28: `1 − 1/(1 + a₁|x| + … + a₆|x|⁶)¹⁶`
    /// with the sign of x (|error| < 1.7e-6 in f32, from the 16th power's
    /// rounding; the formula's own is 3e-7). One division and no `exp`.
    #[inline(always)]
    fn erf(&self, x: f32) -> f32 {
        let a = x.abs();
        let [a1, a2, a3, a4, a5, a6] = self.erf_a;
        let p = self.one + a * (a1 + a * (a2 + a * (a3 + a * (a4 + a * (a5 + a * a6)))));
        let p2 = p * p;
        let p4 = p2 * p2;
        let p8 = p4 * p4;
        // From |x| ≈ 3.9 the result rounds to exactly ±1; past |x| ≈ 12 the
        // power is +∞ and its reciprocal 0, which gives ±1 too.
        let y = self.one - self.one / (p8 * p8);
        y.copysign(x)
    }
}

/// GELU with the exact (erf) form, in place: `x · ½(1 + erf(x/√2))`.
pub(crate) fn gelu_in_place(x: &mut [f32]) {
    let k = Approximations::opaque();
    for v in x.iter_mut() {
        *v = k.half * *v * (k.one + k.erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Softmax of one row, in place (max-subtracted, so any finite input is safe).
pub(crate) fn softmax_in_place(x: &mut [f32]) {
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let k = Approximations::opaque();
    for v in x.iter_mut() {
        *v = k.exp(*v - max);
    }
    let total = sum(x);
    let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
    for v in x.iter_mut() {
        *v *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate() {
        let mut worst = 0f32;
        let mut x = -80.0f32;
        while x < 80.0 {
            let rel = ((Approximations::VALUES.exp(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert!(Approximations::VALUES.exp(-1000.0) < 1e-37);
        assert!(Approximations::VALUES.exp(1000.0).is_finite());
        assert!((Approximations::VALUES.exp(0.0) - 1.0).abs() < 1e-7);
        for (x, r) in [
            (0.5f32, 0.0f32),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, 0.0),
            (-1.5, -2.0),
            (32766.7, 32767.0),
            (-3.2, -3.0),
        ] {
            assert_eq!(round_small(x), r, "{x}");
        }
    }

    #[test]
    fn erf_and_gelu_match_the_definition() {
        // erf from its Taylor series in f64 (converges fast for |x| ≤ 3).
        fn erf64(x: f64) -> f64 {
            let (mut term, mut total, mut n) = (x, x, 0.0);
            while term.abs() > 1e-17 {
                n += 1.0;
                term *= -x * x / n;
                total += term / (2.0 * n + 1.0);
            }
            total * 2.0 / std::f64::consts::PI.sqrt()
        }
        let mut worst = 0f64;
        let mut x = -3.0f32;
        while x <= 3.0 {
            let err = (Approximations::VALUES.erf(x) as f64 - erf64(x as f64)).abs();
            worst = worst.max(err);
            x += 0.001;
        }
        assert!(worst < 2e-6, "erf: worst error {worst}");
        for x in [4.0f32, 10.0, 27.0, 40.0, 1e30, f32::INFINITY] {
            assert_eq!(Approximations::VALUES.erf(x), 1.0, "erf({x})");
            assert_eq!(Approximations::VALUES.erf(-x), -1.0, "erf(-{x})");
        }
        let mut v: Vec<f32> = (-60..=60).map(|i| i as f32 * 0.1).collect();
        let inputs = v.clone();
        gelu_in_place(&mut v);
        for (g, &x) in v.iter().zip(&inputs) {
            let exact = 0.5 * x as f64 * (1.0 + erf64(x as f64 / 2f64.sqrt()));
            assert!(
                (*g as f64 - exact).abs() < 1e-6 * (1.0 + x.abs() as f64),
                "gelu({x})"
            );
        }
    }

    #[test]
    fn softmax_sums_to_one_and_orders() {
        let mut x = vec![1.0, 2.0, 3.0, -1e30, 1e4];
        softmax_in_place(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[4] > 0.999 && x[3] < 1e-30);
        let mut y = vec![0.5; 3];
        softmax_in_place(&mut y);
        assert!(y.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-6));
        let mut e: Vec<f32> = vec![];
        softmax_in_place(&mut e);
    }

    #[test]
    fn matmul_matches_the_definition_on_ragged_shapes() {
        for (m, n, k) in [
            (1, 1, 1),
            (4, 8, 32),
            (5, 9, 3),
            (13, 17, 32),
            (7, 32, 40),
            (6, 16, 0),
            (3, 31, 32),
        ] {
            let a: Vec<f32> = (0..m * (k + 2)).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * (n + 3)).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut c = vec![f32::NAN; m * (n + 1)];
            matmul(
                MatRef {
                    data: &a,
                    stride: k + 2,
                },
                MatRef {
                    data: &b,
                    stride: n + 3,
                },
                &mut c,
                n + 1,
                m,
                n,
                k,
            );
            for i in 0..m {
                for j in 0..n {
                    let e: f32 = (0..k)
                        .map(|p| a[i * (k + 2) + p] * b[p * (n + 3) + j])
                        .sum();
                    assert!(
                        (c[i * (n + 1) + j] - e).abs() < 1e-4,
                        "{m}×{n}×{k} at {i},{j}"
                    );
                }
                assert!(c[i * (n + 1) + n].is_nan(), "the stride gap is untouched");
            }
        }
    }

    #[test]
    fn layer_norm_and_reductions() {
        let mut x: Vec<f32> = (0..40).map(|i| i as f32).collect();
        let gamma = vec![2.0; 20];
        let beta = vec![1.0; 20];
        layer_norm_rows(&mut x, &gamma, &beta, 1e-12);
        for row in x.chunks(20) {
            let mean: f32 = row.iter().sum::<f32>() / 20.0;
            let var: f32 = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 20.0;
            assert!(
                (mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        assert_eq!(max_abs(&a), 18.0);
        assert_eq!(max_abs(&[-3.0, f32::NAN, 2.0]), 3.0);
        assert_eq!(max_abs(&[]), 0.0);
        assert!((dot(&a, &a) - a.iter().map(|v| v * v).sum::<f32>()).abs() < 1e-2);
        let mut y = vec![1.0; 37];
        add_in_place(&mut y, &a);
        assert_eq!(y[2], 2.0);
    }
}
