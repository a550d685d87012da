//! Writes the seed corpora (`seeds/<target>/`) from real files: the shipped
//! film catalogue, Amazon Magazine items and events (converted by
//! `localrec convert amazon`), the visible intent benchmark phrasings and the
//! demo's scripted visit. Binary seeds (bundle, index, profile) are written by
//! the library's own writers, with the tiny test model so that a run spends
//! its time in the parsers. `fuzz/seeds.sh` runs it.
//!
//! Usage: seeds OUT FILMS.jsonl.gz AMAZON_CATALOGUE.jsonl AMAZON_EVENTS.jsonl QUERIES.jsonl VISIT.jsonl

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use localrec::encoder::Embeddings;
use localrec::offline::eval::collaborative::{learn_collab, LearnOptions, Validation};
use localrec::offline::index_build::IndexLayout;
use localrec::{
    read_catalogue, read_events, CatalogueIndex, Encoder, Event, ProfileSettings, Quant,
    Recommender,
};

type Failure = Box<dyn std::error::Error>;

fn lines(path: &Path) -> Result<Vec<String>, Failure> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(BufReader::new(reader).lines().collect::<Result<_, _>>()?)
}

fn write(out: &Path, target: &str, name: &str, bytes: &[u8]) -> Result<(), Failure> {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn tiny() -> Result<Encoder, Failure> {
    Ok(Encoder::from_bundle(localrec::testing::tiny_bundle(
        Quant::Int8,
        1,
    ))?)
}

fn main() -> Result<(), Failure> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [out, films, amazon_catalogue, amazon_events, queries, visit] = args.as_slice() else {
        return Err(
            "usage: seeds OUT FILMS.jsonl.gz AMAZON_CATALOGUE AMAZON_EVENTS QUERIES VISIT".into(),
        );
    };
    let films = lines(films)?;
    let amazon = lines(amazon_catalogue)?;
    let events = lines(amazon_events)?;

    // Model bundles: the tiny model, int8 and f32.
    for (quant, name) in [(Quant::Int8, "tiny-int8.lrm"), (Quant::F32, "tiny-f32.lrm")] {
        write(
            out,
            "bundle",
            name,
            &localrec::testing::tiny_bundle_bytes(quant, 1),
        )?;
    }

    // Catalogue JSONL: a few lines at a time, films and Amazon items.
    for (i, chunk) in films.chunks(3).take(8).enumerate() {
        write(
            out,
            "catalogue_jsonl",
            &format!("films-{i}.jsonl"),
            chunk.join("\n").as_bytes(),
        )?;
    }
    for (i, chunk) in amazon.chunks(3).take(4).enumerate() {
        write(
            out,
            "catalogue_jsonl",
            &format!("amazon-{i}.jsonl"),
            chunk.join("\n").as_bytes(),
        )?;
    }

    // Events JSONL: Amazon events (reviews with stars) and the scripted visit.
    for (i, chunk) in events.chunks(5).take(6).enumerate() {
        write(
            out,
            "events_jsonl",
            &format!("amazon-{i}.jsonl"),
            chunk.join("\n").as_bytes(),
        )?;
    }
    write(
        out,
        "events_jsonl",
        "visit.jsonl",
        lines(visit)?.join("\n").as_bytes(),
    )?;

    // Feedback text: the visible intent phrasings, the visit's texts, review texts.
    let mut texts: Vec<String> = Vec::new();
    for line in lines(queries)?.iter().step_by(7).take(40) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        for e in v["events"].as_array().into_iter().flatten() {
            if let Some(t) = e["text"].as_str() {
                texts.push(t.to_string());
            }
        }
    }
    for e in read_events(lines(visit)?.join("\n").as_bytes())? {
        texts.extend(e.feedback.text);
    }
    for e in read_events(
        events
            .iter()
            .take(200)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    )?
    .into_iter()
    .filter_map(|e| e.feedback.text)
    .take(20)
    {
        texts.push(e);
    }
    for (i, t) in texts.iter().enumerate() {
        write(
            out,
            "feedback_text",
            &format!("text-{i:03}.txt"),
            t.as_bytes(),
        )?;
    }

    // Indexes (tiny model): 40 films without collaborative knowledge, the
    // Amazon items with it (learned from their events).
    let film_items = read_catalogue(
        films
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    )?;
    let film_index = CatalogueIndex::build(&tiny()?, &film_items, 120, |_, _| {})?;
    write(out, "index", "films-40.lri", film_index.as_bytes())?;
    // Format 3 with a projection section: compact vectors, no prices, ids-only cards.
    let compact = CatalogueIndex::from_embeddings_with(
        &film_items,
        &Embeddings::from_rows(
            film_index.dims(),
            (0..film_index.len())
                .flat_map(|i| film_index.vector(i))
                .collect(),
        )?,
        film_index.model_id(),
        IndexLayout {
            snippet_chars: 0,
            vector_bytes: Some(8),
            titles: false,
            urls: false,
        },
    )?;
    write(out, "index", "films-40-compact.lri", compact.as_bytes())?;

    let all_events = read_events(events.join("\n").as_bytes())?;
    let mut per_item: HashMap<&str, usize> = HashMap::new();
    for e in &all_events {
        if let Some(item) = e.feedback.item.as_deref() {
            *per_item.entry(item).or_default() += 1;
        }
    }
    let items = read_catalogue(amazon.join("\n").as_bytes())?;
    let mut busiest: Vec<_> = items
        .iter()
        .filter(|i| per_item.contains_key(i.id.as_str()))
        .collect();
    busiest.sort_by_key(|i| std::cmp::Reverse(per_item[i.id.as_str()]));
    let chosen: Vec<_> = busiest.into_iter().take(40).cloned().collect();
    let ids: HashSet<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
    let kept: Vec<&Event> = all_events
        .iter()
        .filter(|e| e.feedback.item.as_deref().is_some_and(|i| ids.contains(i)))
        .collect();
    let index = CatalogueIndex::build(&tiny()?, &chosen, 80, |_, _| {})?;
    let rec = Recommender::new(tiny()?, index)?;
    let popularity = rec.index().popularity().to_vec();
    let options = LearnOptions::with_grid(4);
    let validation = Validation::prepare(
        &rec,
        &kept,
        &popularity,
        &HashMap::new(),
        &options,
        |_, _, _| {},
    )?;
    let (model, _) = learn_collab(&rec, &validation, &popularity, &options, |_, _, _| {})?;
    let collab_index = rec.index().clone().with_collab(model)?;
    write(
        out,
        "index",
        "amazon-40-collab.lri",
        collab_index.as_bytes(),
    )?;
    // The same factors regularised per interaction (Spark's ALS): section version 2.
    let spark_like = {
        let mut options = options.clone();
        for c in &mut options.candidates {
            c.scaling = localrec::rec::collab::RegularizationScaling::PerInteraction;
        }
        options.candidates.truncate(1);
        learn_collab(&rec, &validation, &popularity, &options, |_, _, _| {})?.0
    };
    write(
        out,
        "index",
        "amazon-40-collab-scaled.lri",
        rec.index().clone().with_collab(spark_like)?.as_bytes(),
    )?;

    // Profiles: an empty one and three Amazon users replayed.
    write(
        out,
        "profile",
        "empty.lrp",
        &rec.new_profile(ProfileSettings::default())?.to_bytes(),
    )?;
    let mut users: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in &kept {
        users.entry(e.user.as_str()).or_default().push(e);
    }
    for (written, (user, evs)) in users
        .iter()
        .filter(|(_, e)| e.len() >= 3)
        .take(3)
        .enumerate()
    {
        let mut profile = rec.new_profile(ProfileSettings::default())?;
        for e in evs {
            rec.record(&mut profile, &e.feedback)?;
        }
        profile.mark_seen(user);
        write(
            out,
            "profile",
            &format!("user-{written}.lrp"),
            &profile.to_bytes(),
        )?;
    }
    println!("seeds written to {}", out.display());
    Ok(())
}
