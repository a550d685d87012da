//! `localrec eval`: leave-last-positive-out evaluation against baselines.

use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use localrec::offline::eval::collaborative::LearnOptions;
use localrec::offline::eval::{evaluate, fit_polarity, EvalOptions, EvalReport, Split};
use localrec::rec::polarity::PolarityCurve;
use localrec::{read_catalogue, read_events_on, CatalogueIndex, Recommender};

use super::{
    load_encoder, open_input, read_file, write_atomically, CliError, Progress, StagedProgress,
};

#[derive(Args)]
pub struct EvalArgs {
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Catalogue JSONL (optionally .gz).
    #[arg(long)]
    catalogue: PathBuf,
    /// Events JSONL (optionally .gz).
    #[arg(long)]
    events: PathBuf,
    /// The events' rating scale when the file names none on its first line
    /// (`{"rating_scale": …}`): `1-5` (default), `0.5-5`, `1-10`, `thumbs`, any `MIN-MAX`.
    #[arg(long, value_name = "SCALE")]
    rating_scale: Option<localrec::RatingScale>,
    /// A prebuilt index of the same catalogue (else it is built now).
    #[arg(long)]
    index: Option<PathBuf>,
    /// Cut-off for Recall and NDCG.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Relevance weight α against popularity (default: learned on validation users).
    #[arg(long)]
    alpha: Option<f32>,
    /// Half-life of feedback, in days.
    #[arg(long)]
    half_life_days: Option<f32>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also fit the polarity calibration on even users and report it on odd users.
    #[arg(long)]
    fit_polarity: bool,
    /// Also evaluate with collaborative knowledge trained on the events before each held-out one.
    #[arg(long)]
    collaborative: bool,
    /// Latent factors of the collaborative model.
    #[arg(long, default_value_t = 64)]
    factors: usize,
    /// Also rank with the collaborative knowledge the --index ships
    /// (`localrec+shipped`; trained elsewhere, e.g. on Spark, on the training
    /// events --export-split writes, never on the test held-outs).
    #[arg(long, requires = "index")]
    shipped_collab: bool,
    /// With --collaborative: write the split (train.jsonl, test.jsonl, and the
    /// training events as train-events.jsonl) to this directory for peers.
    #[arg(long, requires = "collaborative")]
    export_split: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<(), CliError> {
    let encoder = load_encoder(args.model)?;
    let items = read_catalogue(BufReader::new(open_input(&args.catalogue)?))?;
    let events = read_events_on(BufReader::new(open_input(&args.events)?), args.rating_scale)?;
    let index = match &args.index {
        Some(p) => CatalogueIndex::from_bytes(read_file(p)?)?,
        None => {
            let mut bar = Progress::new("embedding items");
            let index = CatalogueIndex::build(&encoder, &items, 0, |d, t| bar.update(d, t))?;
            bar.finish();
            index
        }
    };
    let rec = Recommender::new(encoder, index)?;
    if args.fit_polarity {
        fit_and_report_polarity(&rec, &events)?;
    }
    let mut options = EvalOptions {
        k: args.k,
        ..EvalOptions::default()
    };
    // Without --alpha the text / popularity weight is learned on validation users.
    if let Some(a) = args.alpha {
        options.rank.alpha = Some(a);
        options.learn_alpha = false;
    }
    if let Some(h) = args.half_life_days {
        options.profile.half_life_days = h;
    }
    if args.collaborative {
        options.collaborative = Some(LearnOptions::with_grid(args.factors));
    }
    options.shipped_collab = args.shipped_collab;
    let mut bar = StagedProgress::default();
    let report = evaluate(&rec, &items, &events, &options, |stage, d, t| {
        bar.update(stage, d, t)
    })?;
    bar.finish();
    if let (Some(dir), Some(split)) = (&args.export_split, &report.split) {
        export_split(dir, split)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_table(&report, args.k);
    }
    Ok(())
}

fn print_table(r: &EvalReport, k: usize) {
    println!(
        "{} users evaluated ({} skipped: no new positive interaction), {} with text; catalogue {} items; {} events ({} naming unknown items, ignored)",
        r.users, r.skipped_users, r.users_with_text, r.catalogue, r.events, r.unknown_item_events
    );
    println!();
    println!("| method | NDCG@{k} (95% CI) | Recall@{k} (95% CI) | MRR (95% CI) | coverage@{k} |");
    println!("|---|---|---|---|---|");
    for name in [
        "localrec+shipped",
        "localrec+collab",
        "localrec",
        "popularity",
        "bm25",
        "random",
    ] {
        if let Some(m) = r.methods.get(name) {
            let f = |e: &localrec::offline::eval::metrics::Estimate| {
                format!("{:.4} ({:.4}–{:.4})", e.mean, e.low, e.high)
            };
            println!(
                "| {name} | {} | {} | {} | {:.3} |",
                f(&m.ndcg),
                f(&m.recall),
                f(&m.mrr),
                m.coverage
            );
        }
    }
    if let Some(t) = &r.text_blend {
        println!();
        println!(
            "localrec: text / popularity weight α={:.2} learned on {} validation users (validation NDCG@{k} {:.4}; popularity alone {:.4}, text alone {:.4})",
            t.alpha, t.validation_users, t.validation_ndcg, t.popularity_ndcg, t.text_ndcg
        );
    }
    if let Some(c) = &r.collaborative {
        println!();
        println!(
            "collaborative: {} interactions of {} users, {} items with factors ({} events naming unknown items skipped); chose k={}, λ={}, α={}, blend text {:.2} / collaborative {:.2} / popularity {:.2} (validation NDCG@{k} {:.4} on {} users)",
            c.interactions, c.users, c.items_with_factors, c.unknown_item_events, c.factors, c.regularization, c.confidence,
            c.blend.text, c.blend.collaborative, c.blend.popularity, c.validation_ndcg, c.validation_users
        );
    }
    println!();
    println!(
        "polarity vs stars: accuracy {:.3}, balanced accuracy {:.3} over {} reviews ({} positive, {} negative)",
        r.polarity.accuracy,
        r.polarity.balanced_accuracy,
        r.polarity.reviews,
        r.polarity.positive,
        r.polarity.reviews - r.polarity.positive
    );
}

/// Fits the calibration on even-indexed users' reviews and reports accuracy on the odd ones.
fn fit_and_report_polarity(rec: &Recommender, events: &[localrec::Event]) -> Result<(), CliError> {
    let mut users: Vec<&str> = events.iter().map(|e| e.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let labelled: Vec<(&localrec::Event, bool)> = events
        .iter()
        .filter_map(|e| {
            let stars = e.feedback.rating?;
            e.feedback.text.as_ref()?;
            (stars >= 4.0 || stars <= 2.0).then_some((e, stars >= 4.0))
        })
        .collect();
    let texts: Vec<&str> = labelled
        .iter()
        .filter_map(|(e, _)| e.feedback.text.as_deref())
        .collect();
    let vectors = rec.encoder().embed_batch(&texts)?;
    let is_even = |u: &str| users.binary_search(&u).map(|i| i % 2 == 0).unwrap_or(false);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for ((e, y), v) in labelled.iter().zip(vectors.rows()) {
        let raw = rec.polarity().raw_score(v);
        if is_even(&e.user) {
            train.push((raw, *y))
        } else {
            test.push((raw, *y))
        }
    }
    let (slope, offset) = fit_polarity(&train);
    let model = rec
        .polarity()
        .clone()
        .with_curve(PolarityCurve { slope, offset });
    let acc = |set: &[(f32, bool)], m: &localrec::rec::polarity::PolarityModel| {
        let pred = |raw: f32| m.curve().slope * (raw - m.curve().offset) > 0.0;
        let (mut p, mut pr, mut n, mut nr) = (0, 0, 0, 0);
        for &(raw, y) in set {
            if y {
                p += 1;
                pr += usize::from(pred(raw));
            } else {
                n += 1;
                nr += usize::from(!pred(raw));
            }
        }
        (
            (pr + nr) as f64 / (p + n).max(1) as f64,
            (pr as f64 / p.max(1) as f64 + nr as f64 / n.max(1) as f64) / 2.0,
        )
    };
    let (a, b) = acc(&test, &model);
    let (a0, b0) = acc(&test, rec.polarity());
    println!(
        "polarity calibration fitted on {} even-user reviews: slope {slope:.2}, offset {offset:.4}",
        train.len()
    );
    println!("  on {} odd-user reviews: accuracy {a:.3}, balanced {b:.3} (built-in calibration: {a0:.3}, balanced {b0:.3})", test.len());
    Ok(())
}

/// Writes `train.jsonl` and `test.jsonl` of the split into `dir`.
fn export_split(dir: &std::path::Path, split: &Split) -> Result<(), CliError> {
    let lines = |rows: Vec<String>| rows.join("\n") + "\n";
    let train = split
        .train
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();
    let test = split
        .test
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();
    write_atomically(&dir.join("train.jsonl"), lines(train).as_bytes())?;
    write_atomically(&dir.join("test.jsonl"), lines(test).as_bytes())?;
    let events = split
        .train_events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect();
    write_atomically(&dir.join("train-events.jsonl"), lines(events).as_bytes())?;
    Ok(())
}
