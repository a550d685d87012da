//! The wide product's inner tile, one per instruction set: portable, wasm32
//! simd128 and x86-64 AVX2, dispatched on a detected [`Kernel`]. All compute
//! the same integer sums.

use super::{BLOCK, PANEL, PANEL_BLOCK_BYTES, TILE_ROWS};
use crate::cpu::isa::{Isa, Kernel};

/// One tile: `acc[m][j] = Σ_blocks scale[b][j] · Σ_{k ∈ b} a[m][k] · w[j][k]`
/// for `TILE_ROWS` rows of `a` (stride `width`) against one panel.
#[inline]
pub(super) fn tile_kernel(
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
        // with AVX2 (crate::cpu::isa); the slice lengths are asserted above.
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
