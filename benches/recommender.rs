//! Recommender speed and memory on a synthetic 100k-item catalogue (random unit
//! vectors; the real int8 model encodes the feedback text):
//! - scoring + top-10 of 100k items for one intent direction;
//! - a feedback event (a 32-token text, encoded) → updated top-10 with explanations;
//! - loading the 100k-item index from its bytes;
//! - collaborative knowledge (64 random factors per item): folding a visitor
//!   with 20 liked items in, then re-ranking all 100k items (text + collaborative
//!   + popularity) to a top 10; the fold-in alone.
//!
//! Prints the index's size, the memory a loaded index takes, and how much the
//! collaborative section adds.
//! Run: `cargo bench --bench recommender`.

use std::collections::BTreeSet;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use localrec::encoder::Embeddings;
use localrec::rec::collab::{AlsSettings, Blend, CollabModel, Factors};
use localrec::rec::profile::{Signal, SignalSource};
use localrec::util::rng::SplitMix;
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

    // Collaborative knowledge: 64 random factors per item, every item with factors.
    let k = 64;
    let mut rng = SplitMix(11);
    let factors = Factors {
        k,
        data: (0..ITEMS * k)
            .map(|_| (rng.next_u64() % 2001) as f32 / 10_000.0 - 0.1)
            .collect(),
    };
    let model = CollabModel::new(&factors, &AlsSettings::default(), Blend::default())
        .expect("collab model");
    let rich = rec.index().clone().with_collab(model).expect("with collab");
    println!(
        "collaborative section for 100k items × {k} factors: index grows by {} bytes ({:.2} MB)",
        rich.as_bytes().len() - rec.index().as_bytes().len(),
        (rich.as_bytes().len() - rec.index().as_bytes().len()) as f64 / 1e6
    );
    let mut visitor = profile.clone();
    for j in 0..20 {
        let i = j * 4999;
        let id = rich.id(i).to_string();
        visitor
            .add_signal(
                Signal::new(
                    j as i64,
                    1.0,
                    &rich.vector(i),
                    SignalSource::Item(id.clone()),
                )
                .expect("signal"),
            )
            .expect("add");
        visitor.mark_seen(&id);
    }
    let rich_ranker = Ranker::new(&rich);
    let directions = visitor.directions(0);
    let seen: BTreeSet<&str> = visitor.seen().iter().map(String::as_str).collect();
    c.bench_function("foldin_64_factors_20_items", |b| {
        b.iter(|| rich_ranker.fold_in(&visitor).expect("fold-in"))
    });
    c.bench_function("foldin_and_rerank_top10_100k_items_64_factors", |b| {
        b.iter(|| {
            let user = rich_ranker.fold_in(&visitor);
            rich_ranker.select_blended(&directions, user.as_ref(), &seen, &opts)
        })
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
