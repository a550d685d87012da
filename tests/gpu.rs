//! The GPU path on the real model and a real-sized catalogue, against the CPU
//! path: embeddings (every third reference text, and the longest; a software
//! adapter runs the model at about 1 GFLOP/s), scores and top-10. They need
//! an adapter: ignored (with that reason) by a plain `cargo test`, run by the
//! test command with `-- --ignored` on lavapipe, where no adapter fails them.
#![cfg(feature = "gpu")]

mod common;

use std::sync::Arc;

use common::{bundle, cosine, references};
use localrec::cpu::score::{top_k, Kernel, Query};
use localrec::encoder::backend::{Backend, BackendEvent, BackendPreference};
use localrec::gpu::{GpuCatalogue, GpuContext};
use localrec::{CatalogueIndex, Encoder};

fn context() -> Arc<GpuContext> {
    match pollster::block_on(GpuContext::acquire()) {
        Ok(ctx) => {
            println!("GPU adapter: {:?}", ctx.adapter());
            Arc::new(ctx)
        }
        Err(e) => panic!("no GPU adapter: {e} (install mesa-vulkan-drivers for lavapipe)"),
    }
}

fn encoder() -> Encoder {
    Encoder::from_bytes(&std::fs::read(bundle("minilm-l6-v2-int8.lrm")).unwrap()).unwrap()
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn gpu_embeddings_match_the_cpu_on_every_reference_text() {
    let ctx = context();
    let cpu = encoder();
    let gpu = encoder();
    pollster::block_on(gpu.use_gpu(ctx, BackendPreference::Gpu)).unwrap();
    let all = references();
    let longest = (0..all.len()).max_by_key(|&i| all[i].text.len()).unwrap();
    let refs: Vec<_> = all
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0 || *i == longest)
        .map(|(_, r)| r)
        .collect();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let expected = cpu.embed_batch(&texts).unwrap();
    let got = gpu.embed_batch(&texts).unwrap();
    let (mut min, mut min_ref) = (f32::MAX, f32::MAX);
    for ((e, g), r) in expected.rows().zip(got.rows()).zip(&refs) {
        min = min.min(cosine(e, g));
        min_ref = min_ref.min(cosine(&r.embedding, g));
    }
    println!("GPU vs CPU min cosine {min:.6}; GPU vs PyTorch min cosine {min_ref:.5}");
    assert_eq!(gpu.backend().batch, Backend::Gpu, "the GPU ran every batch");
    assert!(min >= 0.9999, "GPU vs CPU min cosine {min}");
    assert!(min_ref >= 0.995, "GPU vs PyTorch min cosine {min_ref}");
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn backend_timing_measures_both_paths_and_reports_the_choice() {
    let ctx = context();
    let enc = encoder();
    let choice = pollster::block_on(enc.use_gpu(ctx, BackendPreference::Auto)).unwrap();
    let events = enc.take_backend_events();
    let Some(BackendEvent::Selected {
        choice: reported,
        timings: Some(c),
        ..
    }) = events.first()
    else {
        panic!("expected a selection with timings, got {events:?}");
    };
    println!("timings {c:?} → {choice:?}");
    assert_eq!(*reported, choice);
    assert!(c.cpu_single_ms > 0.0 && c.gpu_single_ms > 0.0);
    assert!(c.cpu_batch_ms > 0.0 && c.gpu_batch_ms > 0.0);
    let faster = |cpu: f64, gpu: f64| {
        if gpu < cpu {
            Backend::Gpu
        } else {
            Backend::CpuSimd
        }
    };
    assert_eq!(choice.single, faster(c.cpu_single_ms, c.gpu_single_ms));
    assert_eq!(choice.batch, faster(c.cpu_batch_ms, c.gpu_batch_ms));
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn gpu_scores_and_top_10_match_the_cpu_on_the_film_index() {
    let ctx = context();
    let index = CatalogueIndex::from_bytes(std::fs::read(bundle("films.lri")).unwrap()).unwrap();
    let enc = encoder();
    let gpu = GpuCatalogue::upload(&ctx, index.matrix()).unwrap();
    let m = index.matrix();
    for text in [
        "a heist that goes wrong",
        "animated musical for kids",
        "war at sea",
    ] {
        let q = enc.embed(text).unwrap();
        let got = pollster::block_on(gpu.top_k(&ctx, &q, 10)).unwrap();
        let mut all = vec![Vec::new()];
        m.score_all(Kernel::detect(), &[Query::new(&q)], &mut all);
        let want = top_k(all[0].iter().copied().enumerate(), 10);
        assert_eq!(
            got.iter().map(|p| p.0).collect::<Vec<_>>(),
            want.iter().map(|p| p.0).collect::<Vec<_>>(),
            "{text}"
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g.1 - w.1).abs() <= 1e-3, "{text}: {g:?} vs {w:?}");
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn gpu_scored_recommendations_match_the_cpu_and_survive_a_fault() {
    use localrec::gpu::Fault;
    use localrec::rec::scoring::CatalogueScoring;
    use localrec::{Feedback, ProfileSettings, RankOptions, Recommender};
    let ctx = context();
    let index = CatalogueIndex::from_bytes(std::fs::read(bundle("films.lri")).unwrap()).unwrap();
    let rec = Recommender::new(encoder(), index).unwrap();
    let scoring = pollster::block_on(CatalogueScoring::attach(
        ctx.clone(),
        rec.index(),
        BackendPreference::Gpu,
    ))
    .unwrap();
    assert_eq!(scoring.backend(), Backend::Gpu);
    let mut profile = rec.new_profile(ProfileSettings::default()).unwrap();
    let now = 1_700_000_000;
    for text in [
        "short funny films for a rainy evening",
        "I want animated films for kids",
        "I don't want war films",
    ] {
        rec.record(&mut profile, &Feedback::text(now, text))
            .unwrap();
    }
    let first = rec.index().id(0).to_string();
    rec.record(
        &mut profile,
        &Feedback::action(now, &first, localrec::FeedbackKind::NotInterested),
    )
    .unwrap();
    let options = RankOptions {
        k: 10,
        now,
        ..Default::default()
    };
    let cpu = rec.recommend(&profile, &options).unwrap();
    let check = |got: &[localrec::Recommendation]| {
        assert_eq!(
            got.iter().map(|r| &r.id).collect::<Vec<_>>(),
            cpu.iter().map(|r| &r.id).collect::<Vec<_>>()
        );
        for (g, c) in got.iter().zip(&cpu) {
            assert!(
                (g.score - c.score).abs() <= 1e-3,
                "{} vs {}",
                g.score,
                c.score
            );
        }
    };
    check(&pollster::block_on(scoring.recommend(&rec, &profile, &options)).unwrap());
    assert_eq!(
        scoring.backend(),
        Backend::Gpu,
        "the GPU scored that ranking"
    );
    ctx.inject(Fault::FailReadback { after: 0 });
    check(&pollster::block_on(scoring.recommend(&rec, &profile, &options)).unwrap());
    assert_eq!(scoring.backend(), Backend::CpuSimd);
    assert!(scoring
        .take_events()
        .iter()
        .any(|e| matches!(e, BackendEvent::FellBack { .. })));
}

#[test]
#[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
fn scoring_timing_reports_its_timings_and_follows_them() {
    use localrec::rec::scoring::CatalogueScoring;
    let ctx = context();
    let index = CatalogueIndex::from_bytes(std::fs::read(bundle("films.lri")).unwrap()).unwrap();
    let scoring = pollster::block_on(CatalogueScoring::attach(
        ctx,
        &index,
        BackendPreference::Auto,
    ))
    .unwrap();
    let events = scoring.take_events();
    let Some(BackendEvent::Selected {
        timings: Some(c), ..
    }) = events.first()
    else {
        panic!("expected a selection with timings, got {events:?}");
    };
    println!("scoring timings {c:?} → {:?}", scoring.backend());
    let expected = if c.gpu_single_ms < c.cpu_single_ms {
        Backend::Gpu
    } else {
        Backend::CpuSimd
    };
    assert_eq!(scoring.backend(), expected);
    assert!(c.cpu_single_ms > 0.0 && c.gpu_single_ms > 0.0);
}
