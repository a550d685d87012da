//! The int8 GEMM kernel alone, on the encoder's layer shapes: 32 and 128 rows
//! (tokens) through 384 → 1152 (fused query/key/value), 384 → 1536 (feed-forward
//! up) and 1536 → 384 (down), with the kernel chosen for this CPU and with the
//! portable loop. Throughput is in multiply-adds (`elem/s` = MAC/s; FLOP/s is
//! twice that). `cargo bench --bench kernels`.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use localrec::cpu::gemm::{PackedLinear, QuantizedRows};
use localrec::cpu::score::Kernel;

fn layer(outputs: usize, inputs: usize) -> PackedLinear {
    let values: Vec<f32> = (0..outputs * inputs)
        .map(|i| ((i * 2_654_435_761) % 1000) as f32 / 5000.0 - 0.1)
        .collect();
    let t = Tensor::from_vec(values, (outputs, inputs), &Device::Cpu).expect("tensor");
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).expect("quantize");
    let bytes = q.data().expect("bytes").into_owned();
    PackedLinear::from_q8_0(&bytes, outputs, inputs, vec![0.0; outputs]).expect("pack")
}

fn bench(c: &mut Criterion) {
    let kernels = Kernel::available();
    let mut group = c.benchmark_group("int8_gemm");
    for (name, outputs, inputs) in [("qkv", 1152, 384), ("up", 1536, 384), ("down", 384, 1536)] {
        let linear = layer(outputs, inputs);
        for rows in [32, 128] {
            let x: Vec<f32> = (0..rows * inputs)
                .map(|i| (i as f32 * 0.013).sin())
                .collect();
            let mut q = QuantizedRows::default();
            q.quantize(&x, inputs);
            let mut y = Vec::new();
            group.throughput(Throughput::Elements((rows * outputs * inputs) as u64));
            for &kernel in &kernels {
                let id = BenchmarkId::new(format!("{name}/{}", kernel.name()), rows);
                group.bench_function(id, |b| {
                    b.iter(|| linear.forward(kernel, &q, &mut y).expect("forward"))
                });
            }
        }
    }
    group.finish();

    let mut group = c.benchmark_group("quantize_rows");
    let x: Vec<f32> = (0..128 * 1536).map(|i| (i as f32 * 0.013).sin()).collect();
    let mut q = QuantizedRows::default();
    group.throughput(Throughput::Elements(x.len() as u64));
    group.bench_function("128x1536", |b| b.iter(|| q.quantize(&x, 1536)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
