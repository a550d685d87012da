//! Recommender speed and memory on a synthetic 100k-item catalogue (random unit
//! vectors; the real int8 model encodes the feedback text):
//! - scoring + top-10 of 100k items for one intent direction;
//! - a feedback event (a 32-token text, encoded) → updated top-10 with explanations;
//! - loading the 100k-item index from its bytes.
//!
//! Prints the index's size and the memory a loaded index takes.
//! Run: `cargo bench --bench recommender`.

use std::collections::BTreeSet;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use localrec::encoder::Embeddings;
use localrec::eval::metrics::SplitMix;
use localrec::{
    CatalogueIndex, CatalogueItem, Encoder, Feedback, ProfileSettings, RankOptions, Ranker,
    Recommender,
};

const ITEMS: usize = 100_000;

fn synthetic_index(dims: usize, model_id: &str) -> CatalogueIndex {
    let mut rng = SplitMix(7);
    let mut data = Vec::with_capacity(ITEMS * dims);
    for _ in 0..ITEMS {
        let v: Vec<f32> = (0..dims)
            .map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        data.extend(v.into_iter().map(|x| x / n));
    }
    let items: Vec<CatalogueItem> = (0..ITEMS)
        .map(|i| CatalogueItem {
            id: format!("item-{i}"),
            title: format!("Synthetic item {i}"),
            text: Some(String::new()),
            category: Some(format!("cat-{}", i % 20)),
            tags: vec![],
            price: Some((i % 100) as f64),
            popularity: Some((rng.next_u64() % 1000) as f64),
            url: None,
            attributes: Default::default(),
        })
        .collect();
    CatalogueIndex::from_embeddings(
        &items,
        &Embeddings::from_rows(dims, data).expect("rows"),
        model_id,
        0,
    )
    .expect("index")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/build/minilm-l6-v2-int8.lrm");
    let encoder =
        Encoder::from_bytes(&std::fs::read(path).expect("run scripts/setup.sh")).expect("bundle");
    let index = synthetic_index(encoder.dims(), encoder.model_id());
    let bytes = index.as_bytes().to_vec();
    // Memory of a loaded index: its bytes (kept: vectors and strings are read in place) + columns.
    let before = rss_kib();
    let loaded = CatalogueIndex::from_bytes(std::hint::black_box(bytes.clone())).expect("load");
    let after = rss_kib();
    println!(
        "100k-item index: {} bytes on disk ({:.1} MB); loaded: {:.1} MB of heap (memory_bytes), resident memory grew {:.1} MB",
        bytes.len(),
        bytes.len() as f64 / 1e6,
        loaded.memory_bytes() as f64 / 1e6,
        (after.saturating_sub(before)) as f64 * 1024.0 / 1e6
    );
    drop(loaded);

    let rec = Recommender::new(encoder, index).expect("recommender");
    let text = "I want short, light and funny reads for my morning train commute, nothing long, heavy or sad, thank you so much for asking me today";
    println!(
        "feedback text: {} tokens",
        rec.encoder()
            .tokenizer()
            .encode(text)
            .map(|t| t.len())
            .unwrap_or(0)
    );

    let mut profile = rec
        .new_profile(ProfileSettings::default())
        .expect("profile");
    rec.record(&mut profile, &Feedback::text(0, text))
        .expect("record");
    let directions = profile.directions(0);
    let ranker = Ranker::new(rec.index());
    let none = BTreeSet::new();
    let opts = RankOptions {
        k: 10,
        ..Default::default()
    };
    c.bench_function("score_top10_100k_items", |b| {
        b.iter(|| ranker.select(&directions, &none, &opts))
    });

    c.bench_function("feedback_to_top10_100k_items", |b| {
        b.iter_batched(
            || {
                rec.new_profile(ProfileSettings::default())
                    .expect("profile")
            },
            |mut p| {
                rec.record(&mut p, &Feedback::text(0, text))
                    .expect("record");
                rec.recommend(&p, &opts).expect("rank")
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("load_100k_item_index", |b| {
        b.iter_batched(
            || bytes.clone(),
            |b| CatalogueIndex::from_bytes(b).expect("load"),
            BatchSize::LargeInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
