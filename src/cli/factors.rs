//! `localrec factors train`: implicit ALS on one machine, written in the item
//! factors form `index build --item-factors` reads — the single-process
//! counterpart of a Spark MLlib job (same settings, same λ scaling if asked).

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use localrec::offline::als::{self, Interactions};
use localrec::offline::eval::collaborative::Holdout;
use localrec::offline::item_factors::{FactorsHeader, ItemFactors};
use localrec::rec::catalogue::catalogue_lines;
use localrec::rec::collab::{interaction_strength, AlsSettings, RegularizationScaling};
use localrec::rec::feedback::events_on;

use super::{open_input, write_atomically, CliError, Progress};

#[derive(Subcommand)]
pub enum FactorsCommand {
    /// Train item factors (implicit ALS) on a store's events.
    Train(TrainArgs),
}

/// How λ enters a row's solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalingArg {
    /// λ for every row (Hu, Koren & Volinsky).
    None,
    /// λ·n for a row with n interactions (Spark MLlib's ALS).
    PerInteraction,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Catalogue JSONL (optionally .gz): which items get factors.
    #[arg(long)]
    catalogue: PathBuf,
    /// Events JSONL (optionally .gz), the `eval` format.
    #[arg(long)]
    events: PathBuf,
    /// The events' rating scale when the file names none on its first line.
    #[arg(long, value_name = "SCALE")]
    rating_scale: Option<localrec::RatingScale>,
    /// Leave out what this holdout (`localrec index holdout`) lists: factors
    /// to learn the blend with (`index build --validation-factors`).
    #[arg(long)]
    holdout: Option<PathBuf>,
    /// Factors per item.
    #[arg(long, default_value_t = 64)]
    rank: usize,
    /// λ.
    #[arg(long, default_value_t = 1.0)]
    reg_param: f32,
    /// Confidence slope α in c = 1 + α·strength.
    #[arg(long, default_value_t = 20.0)]
    alpha: f32,
    /// Sweeps (users then items).
    #[arg(long, default_value_t = 15)]
    max_iter: usize,
    /// How λ enters a row's solve.
    #[arg(long, value_enum, default_value_t = ScalingArg::None)]
    reg_scaling: ScalingArg,
    /// Seed of the initial factors.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output item factors JSONL.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

pub fn run(cmd: FactorsCommand) -> Result<(), CliError> {
    match cmd {
        FactorsCommand::Train(args) => train(args),
    }
}

fn train(args: TrainArgs) -> Result<(), CliError> {
    let settings = AlsSettings {
        factors: args.rank,
        iterations: args.max_iter,
        regularization: args.reg_param,
        scaling: match args.reg_scaling {
            ScalingArg::None => RegularizationScaling::None,
            ScalingArg::PerInteraction => RegularizationScaling::PerInteraction,
        },
        confidence: args.alpha,
        seed: args.seed,
    };
    settings.validate()?;
    let holdout = match &args.holdout {
        Some(p) => Some(Holdout::read(BufReader::new(open_input(p)?))?),
        None => None,
    };
    let mut ids = Vec::new();
    let mut position: HashMap<String, u32> = HashMap::new();
    for next in catalogue_lines(BufReader::new(open_input(&args.catalogue)?)) {
        let (_, item) = next?;
        position.insert(item.id.clone(), ids.len() as u32);
        ids.push(item.id);
    }
    let started = std::time::Instant::now();
    let mut users: HashMap<String, u32> = HashMap::new();
    let mut triples = Vec::new();
    let (mut events, mut held, mut unknown) = (0usize, 0usize, 0usize);
    for event in events_on(BufReader::new(open_input(&args.events)?), args.rating_scale) {
        let event = event?;
        events += 1;
        let (Some(item), Some(strength)) = (
            event.feedback.item.as_deref(),
            interaction_strength(&event.feedback),
        ) else {
            continue;
        };
        let Some(&i) = position.get(item) else {
            unknown += 1;
            continue;
        };
        if holdout
            .as_ref()
            .is_some_and(|h| h.holds_out(&event.user, event.feedback.ts))
        {
            held += 1;
            continue;
        }
        let next = users.len() as u32;
        let u = *users.entry(event.user).or_insert(next);
        triples.push((u, i, strength));
    }
    // Users numbered in id order, as `index build` numbers them: the same
    // events give the same factors bit for bit either way.
    let mut names: Vec<(&str, u32)> = users.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    names.sort_unstable();
    let mut rank = vec![0u32; names.len()];
    for (r, (_, u)) in names.iter().enumerate() {
        rank[*u as usize] = r as u32;
    }
    let triples = triples
        .into_iter()
        .map(|(u, i, s)| (rank[u as usize], i, s));
    let matrix = Interactions::from_triples(users.len(), ids.len(), triples)?;
    let read = started.elapsed().as_secs_f64();
    let mut bar = Progress::new("training ALS");
    let factors = als::train(&matrix, &settings, |d, t| bar.update(d, t))?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    let header = FactorsHeader::new(&settings, holdout.as_ref().map(Holdout::digest));
    let mut out = Vec::new();
    ItemFactors::write(&mut out, &header, ids.iter().map(String::as_str), &factors)?;
    write_atomically(&args.output, &out)?;
    eprintln!(
        "{events} events ({unknown} naming unknown items, {held} held out) → {} pairs of {} users × {} items; read in {read:.1} s, trained in {:.1} s: {:.0} events/s",
        matrix.len(),
        users.len(),
        ids.len(),
        secs - read,
        events as f64 / secs.max(1e-9)
    );
    println!("wrote {}", args.output.display());
    Ok(())
}
