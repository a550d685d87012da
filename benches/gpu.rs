//! The GPU path against the SIMD CPU path, natively (wgpu on Vulkan):
//! - the encoder at batch 1, 8 and 64 (texts of ~32 tokens, real int8 model);
//! - catalogue scoring + top-10 of 10k, 100k and 1M random int8 items.
//!
//! GPU timings include the upload of the batch's activations, every dispatch
//! and the readback (`map` + poll wait). Prints the adapter; on a software
//! adapter (lavapipe, SwiftShader) the figures only show the path works.
//! Skips the GPU rows (loudly) where there is no adapter.
//! Run: `XDG_RUNTIME_DIR=$(mktemp -d) cargo bench --bench gpu`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use localrec::cpu::score::{quantize, top_k, ItemMatrix, Kernel, Query};
use localrec::encoder::backend::BackendPreference;
use localrec::gpu::{GpuCatalogue, GpuContext};
use localrec::util::rng::SplitMix;
use localrec::Encoder;

const TEXT: &str = "A quiet drama about two sisters who run a bakery in a small seaside town, \
                    and the summer a stranger arrives with a secret.";

fn context() -> Option<Arc<GpuContext>> {
    match pollster::block_on(GpuContext::acquire()) {
        Ok(ctx) => {
            eprintln!("GPU adapter: {:?}", ctx.adapter());
            Some(Arc::new(ctx))
        }
        Err(e) => {
            eprintln!("*** no GPU adapter ({e}): GPU rows skipped ***");
            None
        }
    }
}

fn load_encoder() -> Encoder {
    let bytes = std::fs::read("models/build/minilm-l6-v2-int8.lrm")
        .expect("models/build/minilm-l6-v2-int8.lrm (run scripts/setup.sh)");
    Encoder::from_bytes(&bytes).expect("bundle")
}

fn encoder(c: &mut Criterion) {
    let cpu = load_encoder().with_batching(localrec::BatchOptions {
        max_texts: 64,
        max_tokens: 1 << 16,
    });
    let gpu = context().map(|ctx| {
        let enc = load_encoder().with_batching(localrec::BatchOptions {
            max_texts: 64,
            max_tokens: 1 << 16,
        });
        pollster::block_on(enc.use_gpu(ctx, BackendPreference::Gpu)).expect("GPU encoder");
        enc
    });
    eprintln!(
        "text: {} tokens",
        cpu.tokenizer().encode(TEXT).unwrap().len()
    );
    let mut g = c.benchmark_group("encoder");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for batch in [1usize, 8, 64] {
        let texts = vec![TEXT; batch];
        g.bench_with_input(BenchmarkId::new("cpu-simd", batch), &texts, |b, t| {
            b.iter(|| cpu.embed_batch(t).unwrap())
        });
        if let Some(gpu) = &gpu {
            g.bench_with_input(BenchmarkId::new("gpu", batch), &texts, |b, t| {
                b.iter(|| gpu.embed_batch(t).unwrap())
            });
        }
    }
    g.finish();
}

fn random_matrix(rows: usize, dims: usize) -> (Vec<i8>, Vec<f32>) {
    let mut rng = SplitMix(11);
    let mut values = Vec::with_capacity(rows * dims);
    let mut scales = Vec::with_capacity(rows);
    let mut v = vec![0f32; dims];
    for _ in 0..rows {
        for x in v.iter_mut() {
            *x = (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0;
        }
        let (q, s) = quantize(&v);
        values.extend(q);
        scales.push(s);
    }
    (values, scales)
}

fn scoring(c: &mut Criterion) {
    let ctx = context();
    let dims = 384;
    let query: Vec<f32> = (0..dims)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
        .collect();
    let mut g = c.benchmark_group("score_top10");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for rows in [10_000usize, 100_000, 1_000_000] {
        let (values, scales) = random_matrix(rows, dims);
        let m = ItemMatrix {
            values: &values,
            scales: &scales,
            dims,
        };
        let kernel = Kernel::detect();
        g.bench_function(BenchmarkId::new("cpu-simd", rows), |b| {
            let q = [Query::new(&query)];
            let mut out = vec![Vec::new()];
            b.iter(|| {
                m.score_all(kernel, &q, &mut out);
                top_k(out[0].iter().copied().enumerate(), 10)
            })
        });
        if let Some(ctx) = &ctx {
            let gpu = GpuCatalogue::upload(ctx, m).expect("upload");
            g.bench_function(BenchmarkId::new("gpu", rows), |b| {
                b.iter(|| pollster::block_on(gpu.top_k(ctx, &query, 10)).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, encoder, scoring);
criterion_main!(benches);
