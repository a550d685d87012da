//! The int8 product against f32 references, across schemes and instruction sets.

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
                let exact: f32 = (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum::<f32>() + bias[o];
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
                bound += 0.5 * w_step * (x_l1 + 0.5 * x_step * BLOCK as f32) + 0.5 * x_step * w_l1;
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
