//! Writes the parts a Spark job hands to `localrec index build` for a
//! synthetic store, to measure the single-machine assembly at scale: `N` items
//! (catalogue lines), their vectors (`embed --ids` form, random unit vectors of
//! the default model's width), item factors and holdout-trained twins (random,
//! rank 64, the twins carrying the holdout digest of the events) and `E`
//! events (likes by users of 10 events each on Zipf-like items). Seeded: every
//! run writes the same files.
//!
//! ```sh
//! cargo run --example synthetic_parts -- 1000000 2000000 target/bench/parts-1m
//! target/debug/localrec index build --catalogue target/bench/parts-1m/catalogue.jsonl \
//!   --vectors target/bench/parts-1m/vectors.jsonl --item-factors target/bench/parts-1m/factors.jsonl \
//!   --validation-factors target/bench/parts-1m/validation-factors.jsonl \
//!   --interactions target/bench/parts-1m/events.jsonl -o target/bench/parts-1m/index.lri
//! ```

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use localrec::offline::eval::collaborative::{LearnOptions, ValidationSplit};
use localrec::offline::item_factors::{FactorsHeader, ItemFactorRow};
use localrec::offline::vectors::{ItemVector, VectorsHeader};
use localrec::rec::collab::{AlsSettings, RegularizationScaling};
use localrec::util::rng::SplitMix;
use localrec::{Encoder, Event, Feedback, FeedbackKind};

fn line(
    out: &mut impl Write,
    value: &impl serde::Serialize,
) -> Result<(), Box<dyn std::error::Error>> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: synthetic_parts ITEMS EVENTS OUT_DIR";
    let n: usize = args.next().ok_or(usage)?.parse()?;
    let e: usize = args.next().ok_or(usage)?.parse()?;
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    std::fs::create_dir_all(&dir)?;
    let bundle =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/build/minilm-l6-v2-int8.lrm");
    let encoder = Encoder::from_bytes(&std::fs::read(&bundle)?)?;
    let dims = encoder.dims();
    let file = |name: &str| -> std::io::Result<BufWriter<std::fs::File>> {
        Ok(BufWriter::new(std::fs::File::create(dir.join(name))?))
    };
    let mut rng = SplitMix(11);
    let mut unit = |d: usize| -> Vec<f32> {
        let v: Vec<f32> = (0..d)
            .map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.into_iter().map(|x| x / norm).collect()
    };

    let (mut catalogue, mut vectors) = (file("catalogue.jsonl")?, file("vectors.jsonl")?);
    line(
        &mut vectors,
        &VectorsHeader {
            model_id: encoder.model_id().to_string(),
            dims,
        },
    )?;
    for i in 0..n {
        let id = format!("item-{i}");
        writeln!(
            catalogue,
            "{{\"id\":\"{id}\",\"title\":\"Synthetic item {i}\",\"text\":\"synthetic item {i}\",\"category\":\"cat-{}\"}}",
            i % 20
        )?;
        line(
            &mut vectors,
            &ItemVector {
                id,
                vector: unit(dims),
            },
        )?;
    }
    catalogue.flush()?;
    vectors.flush()?;

    // Events: users of ten likes each, items skewed to the head (i = n·u³).
    let mut pick = SplitMix(12);
    let mut events = Vec::with_capacity(e);
    for k in 0..e {
        let u = pick.next_u64() as f64 / u64::MAX as f64;
        let item = ((n as f64) * u * u * u) as usize % n.max(1);
        events.push(Event {
            user: format!("user-{}", k / 10),
            feedback: Feedback::action(k as i64, format!("item-{item}"), FeedbackKind::Like),
        });
    }
    let mut out = file("events.jsonl")?;
    for ev in &events {
        line(&mut out, ev)?;
    }
    out.flush()?;

    let refs: Vec<&Event> = events.iter().collect();
    let holdout = ValidationSplit::new(
        |id| id.strip_prefix("item-").and_then(|x| x.parse().ok()),
        n,
        &refs,
        LearnOptions::with_grid(64).max_validation_users,
    )
    .holdout();
    let settings = AlsSettings {
        factors: 64,
        regularization: 0.05,
        scaling: RegularizationScaling::PerInteraction,
        ..AlsSettings::default()
    };
    for (name, digest) in [
        ("factors.jsonl", None),
        ("validation-factors.jsonl", Some(holdout.digest())),
    ] {
        let mut out = file(name)?;
        line(&mut out, &FactorsHeader::new(&settings, digest))?;
        for i in 0..n {
            let features: Vec<f32> = unit(64).iter().map(|x| x * 0.5).collect();
            line(
                &mut out,
                &ItemFactorRow {
                    id: format!("item-{i}"),
                    features,
                },
            )?;
        }
        out.flush()?;
    }
    println!(
        "wrote {} items, {e} events, {} validation users under {}",
        n,
        holdout.users.len(),
        dir.display()
    );
    Ok(())
}
