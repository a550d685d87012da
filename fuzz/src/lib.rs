//! The checks behind localrec's cargo-fuzz targets, one function per target.
//!
//! Each takes arbitrary bytes and drives one parser (and what reads its
//! result) the way the library and the browser package do. A parser may
//! reject its input with an error, never panic, hang or allocate more than the
//! input justifies (the run script caps `-malloc_limit_mb`). What parses must
//! also survive being used: every item of an index read, a profile written
//! back and read again equal, an encoder run.
//!
//! The same functions replay the committed seeds and every crash found
//! (`regressions/`) in `cargo test` (tests at the end of this file), so a
//! fixed crash stays fixed without libFuzzer.

use std::cell::OnceCell;
use std::io::Read;
use std::path::PathBuf;

use localrec::{
    read_catalogue, read_events, CatalogueIndex, Encoder, Feedback, FeedbackKind, IntentProfile,
    ModelBundle, ProfileSettings, Quant, RankOptions, Ranker, Recommender,
};

/// Length of the header every localrec binary file starts with (its layout:
/// `src/util/envelope.rs`).
const HEADER_LEN: usize = 32;

/// The input with its envelope made consistent: reserved bytes zero, payload
/// length = what follows the header, CRC-32 recomputed. Random bytes almost
/// never carry a right checksum; this lets the fuzzer reach the payload parser
/// (the raw input is parsed as well, so the envelope checks are fuzzed too).
pub fn sealed(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < HEADER_LEN {
        return None;
    }
    let mut out = data.to_vec();
    let payload_len = (data.len() - HEADER_LEN) as u64;
    out[12..16].fill(0);
    out[16..24].copy_from_slice(&payload_len.to_le_bytes());
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[24..28].copy_from_slice(&crc.to_le_bytes());
    out[28..32].fill(0);
    Some(out)
}

/// The raw input, then its sealed form.
fn both_forms(data: &[u8]) -> impl Iterator<Item = Vec<u8>> {
    std::iter::once(data.to_vec()).chain(sealed(data))
}

/// Model bundle bytes → bundle → encoder → one embedding.
pub fn bundle(data: &[u8]) {
    for bytes in both_forms(data) {
        let Ok(bundle) = ModelBundle::from_bytes(&bytes) else {
            continue;
        };
        // A bundle that parses writes back to bytes that parse.
        let again = bundle.to_bytes().expect("a parsed bundle serialises");
        ModelBundle::from_bytes(&again).expect("a written bundle parses");
        if let Ok(encoder) = Encoder::from_bundle(bundle) {
            if let Ok(v) = encoder.embed("short quick reads, no horror") {
                assert_eq!(v.len(), encoder.dims());
            }
        }
    }
}

thread_local! {
    /// The tiny model of `localrec::testing` as bundle bytes: the real format
    /// and code paths at a fraction of the cost (made once per process).
    static TINY: OnceCell<Vec<u8>> = const { OnceCell::new() };
}

/// A fresh tiny encoder (an owned one: a `Recommender` takes its encoder).
fn tiny() -> Encoder {
    TINY.with(|cell| {
        let bytes = cell.get_or_init(|| localrec::testing::tiny_bundle_bytes(Quant::Int8, 1));
        Encoder::from_bytes(bytes).expect("the tiny model loads")
    })
}

/// Catalogue index bytes → index → every item read → ranked for a profile
/// that likes, rejects and writes (through the tiny model when the index was
/// built with it, as the seeds are).
pub fn index(data: &[u8]) {
    for bytes in both_forms(data) {
        let Ok(index) = CatalogueIndex::from_bytes(bytes) else {
            continue;
        };
        for i in 0..index.len() {
            let item = index.item(i).expect("every position has an item");
            assert!(index.position(&item.id).is_some(), "every id is found");
            assert_eq!(index.vector(i).len(), index.dims());
            let _ = (index.tag_ids(i), index.category(i), index.price(i));
        }
        if let Some(collab) = index.collab() {
            let _ = (collab.k(), collab.items_with_factors());
        }
        let Ok(empty) =
            IntentProfile::new(index.model_id(), index.dims(), ProfileSettings::default())
        else {
            continue;
        };
        let options = RankOptions::default();
        let _ = Ranker::new(&index).rank(&empty, &options);
        let encoder = tiny();
        if index.is_empty()
            || index
                .check_model(encoder.model_id(), encoder.dims())
                .is_err()
        {
            continue;
        }
        let first = index.id(0).to_string();
        let last = index.id(index.len() - 1).to_string();
        let Ok(rec) = Recommender::new(encoder, index) else {
            continue;
        };
        {
            let mut profile = rec
                .new_profile(ProfileSettings::default())
                .expect("a profile for the recommender's own model");
            for feedback in [
                Feedback::action(1, first, FeedbackKind::Like),
                Feedback::action(2, last, FeedbackKind::NotInterested),
                Feedback::text(3, "no war films, something funny"),
            ] {
                let _ = rec.record(&mut profile, &feedback);
            }
            let _ = rec.recommend(&profile, &options);
        }
    }
}

/// Profile bytes → profile → bytes again (equal) → merged with itself (idempotent).
pub fn profile(data: &[u8]) {
    for bytes in both_forms(data) {
        let Ok(profile) = IntentProfile::from_bytes(&bytes) else {
            continue;
        };
        let again =
            IntentProfile::from_bytes(&profile.to_bytes()).expect("a written profile parses");
        assert_eq!(again, profile);
        // Merging is an idempotent union: a profile merged with itself keeps each
        // distinct signal once (a stored profile may hold the same signal twice),
        // and merging again changes nothing.
        let mut merged = profile.clone();
        merged
            .merge(&profile)
            .expect("a profile merges with itself");
        assert!(merged.signals().len() <= profile.signals().len());
        let mut twice = merged.clone();
        twice.merge(&profile).expect("merges again");
        assert_eq!(twice, merged);
    }
}

/// At most this many catalogue items are embedded per input (the tiny model
/// is fast, but a run should spend its time in parsing).
const MAX_EMBEDDED_ITEMS: usize = 64;

/// Catalogue JSONL → items → an index (tiny model) → its bytes read back.
pub fn catalogue_jsonl(data: &[u8]) {
    let Ok(items) = read_catalogue(data) else {
        return;
    };
    for item in &items {
        let _ = item.embedding_text();
    }
    if items.is_empty() || items.len() > MAX_EMBEDDED_ITEMS {
        return;
    }
    let index = CatalogueIndex::build(&tiny(), &items, 200, |_, _| {})
        .expect("a catalogue that reads builds an index");
    let again =
        CatalogueIndex::from_bytes(index.as_bytes().to_vec()).expect("a built index reads back");
    assert_eq!(again.len(), items.len());
}

/// Events JSONL → events → folded into per-user profiles (tiny model, a
/// small index of the items they name) → bytes and back.
pub fn events_jsonl(data: &[u8]) {
    let Ok(events) = read_events(data) else {
        return;
    };
    if events.is_empty() || events.len() > MAX_EMBEDDED_ITEMS {
        return;
    }
    let mut ids: Vec<String> = events
        .iter()
        .filter_map(|e| e.feedback.item.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids.push("fuzz-anchor".into());
    let lines: String = ids
        .iter()
        .map(|id| format!("{}\n", serde_json_line(id)))
        .collect();
    let items = read_catalogue(lines.as_bytes()).expect("generated catalogue lines read");
    let encoder = tiny();
    let index = CatalogueIndex::build(&encoder, &items, 0, |_, _| {})
        .expect("the generated catalogue builds");
    let rec = Recommender::new(encoder, index).expect("tiny index, tiny model");
    {
        let mut profiles = std::collections::BTreeMap::new();
        for event in &events {
            let profile = profiles.entry(event.user.clone()).or_insert_with(|| {
                rec.new_profile(ProfileSettings::default())
                    .expect("profile")
            });
            rec.record(profile, &event.feedback)
                .expect("a validated event about a known item records");
        }
        for profile in profiles.values() {
            let again = IntentProfile::from_bytes(&profile.to_bytes()).expect("round trip");
            assert_eq!(&again, profile);
            let _ = rec.recommend(profile, &RankOptions::default());
        }
    }
}

/// One catalogue line for an id (ids may hold any character).
fn serde_json_line(id: &str) -> String {
    serde_json::json!({ "id": id, "title": format!("item {id}"), "text": format!("about {id}") })
        .to_string()
}

thread_local! {
    /// The shipped int8 model and the demo's film index (one per fuzzing process).
    static FILMS: OnceCell<Recommender> = const { OnceCell::new() };
}

/// `models/build/<name>` of the project (set-up builds them), or `$LOCALREC_FUZZ_MODELS/<name>`.
fn built(name: &str) -> PathBuf {
    std::env::var_os("LOCALREC_FUZZ_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/build")))
        .join(name)
}

fn read_built(name: &str) -> Vec<u8> {
    let path = built(name);
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh first)", path.display()));
    bytes
}

/// Any UTF-8 as feedback text, through the real tokenizer and int8 encoder:
/// embedded (a unit vector or a typed error), folded into a profile (the
/// intent reading: rejections, wishes, clauses) and ranked over 11k films.
pub fn feedback_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    FILMS.with(|cell| {
        let rec = cell.get_or_init(|| {
            let encoder = Encoder::from_bytes(&read_built("minilm-l6-v2-int8.lrm"))
                .expect("the int8 bundle loads");
            let index = CatalogueIndex::from_bytes(read_built("films.lri")).expect("films.lri");
            Recommender::new(encoder, index).expect("the film index matches the model")
        });
        if let Ok(v) = rec.encoder().embed(text) {
            assert_eq!(v.len(), rec.encoder().dims());
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(v.iter().all(|x| x.is_finite()), "a finite embedding");
            assert!(
                norm == 0.0 || (norm - 1.0).abs() < 1e-3,
                "unit or zero, got {norm}"
            );
        }
        let mut profile = rec
            .new_profile(ProfileSettings::default())
            .expect("profile for the shipped model");
        let _ = rec.record(&mut profile, &Feedback::text(1, text));
        let _ = rec.recommend(&profile, &RankOptions::default());
    });
}

#[cfg(test)]
mod tests {
    //! Replays the committed seeds and every crash found (`regressions/`).
    use super::*;

    fn replay(target: &str, check: fn(&[u8])) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in [
            root.join("seeds").join(target),
            root.join("regressions").join(target),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                let bytes = std::fs::read(&path).expect("a seed file");
                check(&bytes);
                n += 1;
            }
        }
        assert!(n > 0, "no seeds for {target}");
    }

    #[test]
    fn bundle_seeds_and_regressions() {
        replay("bundle", bundle);
    }
    #[test]
    fn index_seeds_and_regressions() {
        replay("index", index);
    }
    #[test]
    fn profile_seeds_and_regressions() {
        replay("profile", profile);
    }
    #[test]
    fn catalogue_seeds_and_regressions() {
        replay("catalogue_jsonl", catalogue_jsonl);
    }
    #[test]
    fn events_seeds_and_regressions() {
        replay("events_jsonl", events_jsonl);
    }
    #[test]
    fn feedback_text_seeds_and_regressions() {
        replay("feedback_text", feedback_text);
    }

    #[test]
    fn sealing_makes_a_checksum_that_opens() {
        let sealed = sealed(&[7u8; 40]).expect("long enough");
        assert_eq!(&sealed[16..24], &8u64.to_le_bytes());
        assert_eq!(&sealed[24..28], &crc32fast::hash(&[7u8; 8]).to_le_bytes());
        assert!(super::sealed(&[0u8; 31]).is_none());
    }
}
