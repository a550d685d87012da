//! Writes a synthetic catalogue index for speed and size benchmarks: `N`
//! items with random unit vectors (seeded, so every run writes the same
//! file), ids `item-0…`, a popularity and a category each, no other strings
//! unless `--titles` is given, streamed through the index builder so a
//! million items never sit in memory as floats.
//!
//! ```sh
//! cargo run --release --example synthetic_index -- 100000 target/bench/100k-64.lri --vector-bytes 64
//! ```
//!
//! The model id is read from the int8 bundle (models/build, made by
//! scripts/setup.sh) so the index loads beside it.

use std::path::PathBuf;

use localrec::offline::index_build::{IndexBuilder, IndexLayout};
use localrec::util::rng::SplitMix;
use localrec::{CatalogueItem, Encoder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: synthetic_index N OUT [--vector-bytes B] [--titles]";
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let (mut vector_bytes, mut titles) = (None, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--vector-bytes" => vector_bytes = Some(args.next().ok_or(usage)?.parse()?),
            "--titles" => titles = true,
            _ => return Err(usage.into()),
        }
    }
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/build/minilm-l6-v2-int8.lrm");
    let encoder = Encoder::from_bytes(&std::fs::read(&bundle)?)?;
    let dims = encoder.dims();
    let layout = IndexLayout {
        snippet_chars: 0,
        vector_bytes,
        titles,
        urls: false,
    };
    let mut builder = IndexBuilder::new(encoder.model_id(), dims, layout)?;
    let mut rng = SplitMix(7);
    for i in 0..n {
        let v: Vec<f32> = (0..dims)
            .map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Vec<f32> = v.into_iter().map(|x| x / norm).collect();
        let item = CatalogueItem {
            id: format!("item-{i}"),
            title: format!("Synthetic item number {i} of the benchmark catalogue"),
            text: Some(String::new()),
            category: Some(format!("cat-{}", i % 20)),
            tags: vec![],
            price: None,
            popularity: Some((rng.next_u64() % 1000) as f64),
            url: None,
            attributes: Default::default(),
        };
        builder.push(i + 1, &item, &v)?;
    }
    let index = builder.finish()?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, index.as_bytes())?;
    println!(
        "wrote {} ({} items, {} bytes, {} bytes a vector)",
        out.display(),
        index.len(),
        index.as_bytes().len(),
        index.vector_bytes()
    );
    Ok(())
}
