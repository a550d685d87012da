//! GPU catalogue scoring vs the CPU, and the shared test context. They need an adapter, so a plain
//! `cargo test` reports them as ignored with that reason; the test command
//! runs them (`cargo test -- --ignored`) on lavapipe (Mesa's CPU Vulkan),
//! where a missing adapter fails them.

use std::sync::Arc;

use super::*;
use crate::cpu::score::{quantize, top_k, ItemMatrix, Kernel, Query};

/// The machine's GPU context; a test that asked for one fails without it.
pub(crate) fn context() -> Arc<GpuContext> {
    match pollster::block_on(GpuContext::acquire()) {
        Ok(ctx) => {
            println!("GPU adapter: {:?}", ctx.adapter());
            Arc::new(ctx)
        }
        Err(e) => panic!("no GPU adapter: {e} (install mesa-vulkan-drivers for lavapipe)"),
    }
}

fn unit_vectors(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dims)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        })
        .collect()
}

fn catalogue(n: usize, dims: usize) -> (Vec<i8>, Vec<f32>) {
    let mut values = Vec::with_capacity(n * dims);
    let mut scales = Vec::with_capacity(n);
    for v in unit_vectors(n, dims, 3) {
        let (q, s) = quantize(&v);
        values.extend(q);
        scales.push(s);
    }
    (values, scales)
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn scores_and_top_k_match_the_cpu() {
    let ctx = context();
    let dims = 384;
    let (values, scales) = catalogue(10_007, dims);
    let m = ItemMatrix {
        values: &values,
        scales: &scales,
        dims,
    };
    // One part (everything fits) and eleven parts (as 1M items take three on a 128 MiB limit).
    for gpu in [
        GpuCatalogue::upload(&ctx, m).unwrap(),
        GpuCatalogue::upload_in_parts(&ctx, m, 1000).unwrap(),
    ] {
        check_scoring(&ctx, &gpu, m);
    }
}

fn check_scoring(ctx: &GpuContext, gpu: &GpuCatalogue, m: ItemMatrix<'_>) {
    let dims = m.dims;
    let dirs = unit_vectors(5, dims, 11);
    let interests: Vec<WeightedQuery<'_>> = dirs[..3]
        .iter()
        .zip([1.0, 0.85, 0.7])
        .map(|(v, weight)| WeightedQuery { vector: v, weight })
        .collect();
    let negatives: Vec<WeightedQuery<'_>> = dirs[3..]
        .iter()
        .zip([1.0, 0.5])
        .map(|(v, weight)| WeightedQuery { vector: v, weight })
        .collect();
    let margin = 0.05;
    let got = pollster::block_on(gpu.scores(ctx, &interests, &negatives, margin)).unwrap();
    let kernel = Kernel::detect();
    let q: Vec<Query> = dirs.iter().map(|d| Query::new(d)).collect();
    let mut worst = 0f32;
    for i in 0..m.rows() {
        let pos = (0..3)
            .map(|j| m.score(kernel, i, &q[j]) * interests[j].weight)
            .fold(f32::NEG_INFINITY, f32::max);
        let push = (3..5)
            .map(|j| m.score(kernel, i, &q[j]) * negatives[j - 3].weight - margin)
            .fold(0.0, f32::max);
        worst = worst
            .max((pos - got.positive[i]).abs())
            .max((push - got.push[i]).abs());
    }
    assert!(worst <= 1e-3, "largest score difference {worst}");
    // No directions at all (an empty profile): zeros, not a validation error.
    let none = pollster::block_on(gpu.scores(ctx, &[], &[], margin)).unwrap();
    assert!(none.positive.iter().chain(&none.push).all(|&v| v == 0.0));

    for k in [1, 10, 100, MAX_GPU_K + 44] {
        let gpu_top = pollster::block_on(gpu.top_k(ctx, &dirs[0], k)).unwrap();
        let mut cpu = vec![Vec::new()];
        m.score_all(kernel, &q[..1], &mut cpu);
        let cpu_top = top_k(cpu[0].iter().copied().enumerate(), k);
        let ids = |v: &[(usize, f32)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(ids(&gpu_top), ids(&cpu_top), "top-{k}");
        for (g, c) in gpu_top.iter().zip(&cpu_top) {
            assert!((g.1 - c.1).abs() <= 1e-3);
        }
    }
    // Queries of the wrong width are refused, not run.
    let short = vec![0.1f32; 10];
    assert!(matches!(
        pollster::block_on(gpu.top_k(ctx, &short, 5)),
        Err(GpuError::Shape(_))
    ));
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn concurrent_calls_take_turns_and_stay_correct() {
    let ctx = context();
    let dims = 64;
    let (values, scales) = catalogue(5_000, dims);
    let m = ItemMatrix {
        values: &values,
        scales: &scales,
        dims,
    };
    let gpu = GpuCatalogue::upload(&ctx, m).unwrap();
    let dirs = unit_vectors(4, dims, 5);
    let kernel = Kernel::detect();
    std::thread::scope(|scope| {
        for d in &dirs {
            let (ctx, gpu) = (&ctx, &gpu);
            scope.spawn(move || {
                let mut cpu = vec![Vec::new()];
                m.score_all(kernel, &[Query::new(d)], &mut cpu);
                let want: Vec<usize> = top_k(cpu[0].iter().copied().enumerate(), 10)
                    .into_iter()
                    .map(|p| p.0)
                    .collect();
                for _ in 0..10 {
                    let got = pollster::block_on(gpu.top_k(ctx, d, 10)).unwrap();
                    assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), want);
                }
            });
        }
    });
}
