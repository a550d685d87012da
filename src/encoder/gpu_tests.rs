//! GPU encoder parity and fault tests. They need an adapter, so a plain
//! `cargo test` reports them as ignored with that reason; the test command
//! runs them (`cargo test -- --ignored`) on lavapipe (Mesa's CPU Vulkan),
//! where a missing adapter fails them.

use crate::encoder::backend::{Backend, BackendEvent, BackendPreference};
use crate::encoder::{BatchOptions, Encoder};
use crate::gpu::tests::context;
use crate::gpu::Fault;
use crate::model::bundle::Quant;
use crate::testing::tiny_bundle;

fn texts() -> Vec<String> {
    let mut t: Vec<String> = [
        "the film",
        "a quiet drama about two sisters",
        "",
        "😀 日本語 é",
        "space opera with pirates and a lost princess",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    t.push("a very long story about everything ".repeat(20));
    t
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn the_gpu_encoder_matches_the_cpu_encoder() {
    let ctx = context();
    let cpu = Encoder::from_bundle(tiny_bundle(Quant::Int8, 5)).unwrap();
    let gpu = Encoder::from_bundle(tiny_bundle(Quant::Int8, 5)).unwrap();
    let choice = pollster::block_on(gpu.use_gpu(ctx.clone(), BackendPreference::Gpu)).unwrap();
    assert_eq!((choice.single, choice.batch), (Backend::Gpu, Backend::Gpu));
    let texts = texts();
    let expected = cpu.embed_batch(&texts).unwrap();
    let got = gpu.embed_batch(&texts).unwrap();
    for (i, (e, g)) in expected.rows().zip(got.rows()).enumerate() {
        let c = cosine(e, g);
        assert!(c >= 0.9999, "text {i}: cosine {c}");
    }
    assert_eq!(gpu.backend().batch, Backend::Gpu, "no fallback happened");
    let single = gpu.embed("the film").unwrap();
    assert!(cosine(&single, expected.row(0).unwrap()) >= 0.9999);
    // Asking for the CPU detaches the GPU.
    let cpu_only = pollster::block_on(gpu.use_gpu(ctx, BackendPreference::Cpu)).unwrap();
    assert_eq!(cpu_only.batch, Backend::CpuSimd);
    assert!(gpu.gpu_context().is_none());
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn f32_bundles_stay_on_the_cpu() {
    let ctx = context();
    let enc = Encoder::from_bundle(tiny_bundle(Quant::F32, 5)).unwrap();
    assert!(pollster::block_on(enc.use_gpu(ctx.clone(), BackendPreference::Gpu)).is_err());
    let auto = pollster::block_on(enc.use_gpu(ctx, BackendPreference::Auto)).unwrap();
    assert_eq!(auto.batch, Backend::CpuSimd);
}

/// A fault in the middle of a multi-pass call: the call still returns the
/// right embeddings (from the CPU), and the encoder stays on the CPU after.
fn survives(fault: Fault) {
    let ctx = context();
    let cpu = Encoder::from_bundle(tiny_bundle(Quant::Int8, 9)).unwrap();
    let gpu = Encoder::from_bundle(tiny_bundle(Quant::Int8, 9))
        .unwrap()
        .with_batching(BatchOptions {
            max_texts: 2,
            max_tokens: 4096,
        });
    pollster::block_on(gpu.use_gpu(ctx.clone(), BackendPreference::Gpu)).unwrap();
    gpu.take_backend_events();
    ctx.inject(fault);
    let texts = texts();
    let expected = cpu.embed_batch(&texts).unwrap();
    let got = gpu.embed_batch(&texts).unwrap();
    for (i, (e, g)) in expected.rows().zip(got.rows()).enumerate() {
        let c = cosine(e, g);
        assert!(c >= 0.9999, "{fault:?}: text {i}: cosine {c}");
    }
    assert_eq!(gpu.backend().batch, Backend::CpuSimd, "{fault:?}");
    let events = gpu.take_backend_events();
    assert!(
        matches!(events.as_slice(), [BackendEvent::FellBack { .. }]),
        "{fault:?}: {events:?}"
    );
    // Later calls keep working, on the CPU.
    assert_eq!(
        gpu.embed("the film").unwrap(),
        cpu.embed("the film").unwrap()
    );
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn a_failed_readback_mid_batch_falls_back_to_the_cpu() {
    survives(Fault::FailReadback { after: 1 });
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn a_lost_device_mid_batch_falls_back_to_the_cpu() {
    survives(Fault::LoseDevice { after: 1 });
}
