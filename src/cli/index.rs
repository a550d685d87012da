//! `localrec index build`: catalogue JSONL → catalogue index file.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use localrec::offline::eval::collaborative::{learn_collab, LearnOptions};
use localrec::rec::index::DEFAULT_SNIPPET_CHARS;
use localrec::{read_catalogue, read_events_on, CatalogueIndex, Recommender};

use super::{
    attach_backend, load_encoder, open_input, read_file, write_atomically, BackendArg, CliError,
    Progress, StagedProgress,
};

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Embed every item of a catalogue and write one index file.
    Build(BuildArgs),
    /// Validate an index file and print what it holds.
    Inspect {
        /// The index file.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Catalogue JSONL (optionally .gz).
    #[arg(long)]
    catalogue: PathBuf,
    /// Output index file.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Characters of each item's text kept for display.
    #[arg(long, default_value_t = DEFAULT_SNIPPET_CHARS)]
    snippet_chars: usize,
    /// Which path embeds: cpu, gpu, or auto (measure both).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Store events (JSONL, the `eval` format): learn collaborative knowledge into the index.
    #[arg(long)]
    interactions: Option<PathBuf>,
    /// The events' rating scale when the file names none on its first line
    /// (`{"rating_scale": …}`): `1-5` (default), `0.5-5`, `1-10`, `thumbs`, any `MIN-MAX`.
    #[arg(long, value_name = "SCALE", requires = "interactions")]
    rating_scale: Option<localrec::RatingScale>,
    /// Latent factors of the collaborative model.
    #[arg(long, default_value_t = 64)]
    factors: usize,
    /// Threads that embed items (default: every core). The index is the same
    /// for any count.
    #[arg(long)]
    threads: Option<std::num::NonZeroUsize>,
}

pub fn run(cmd: IndexCommand) -> Result<(), CliError> {
    match cmd {
        IndexCommand::Build(args) => build(args),
        IndexCommand::Inspect { file } => inspect(&file),
    }
}

fn build(args: BuildArgs) -> Result<(), CliError> {
    let encoder = load_encoder(args.model)?;
    attach_backend(&encoder, args.backend)?;
    let items = read_catalogue(BufReader::new(open_input(&args.catalogue)?))?;
    let mut progress = Progress::new("embedding items");
    let threads = args
        .threads
        .unwrap_or_else(localrec::offline::index_build::default_threads);
    let index = CatalogueIndex::build_with_threads(
        &encoder,
        &items,
        args.snippet_chars,
        threads,
        |d, t| progress.update(d, t),
    )?;
    progress.finish();
    let index = match &args.interactions {
        Some(path) => with_interactions(encoder, index, path, args.factors, args.rating_scale)?,
        None => index,
    };
    write_atomically(&args.output, index.as_bytes())?;
    println!(
        "wrote {} ({} items, {} bytes, model {})",
        args.output.display(),
        index.len(),
        index.as_bytes().len(),
        index.model_id()
    );
    Ok(())
}

/// Learns collaborative knowledge from the store's events and adds it to the index.
fn with_interactions(
    encoder: localrec::Encoder,
    index: CatalogueIndex,
    events: &std::path::Path,
    factors: usize,
    scale: Option<localrec::RatingScale>,
) -> Result<CatalogueIndex, CliError> {
    let events = read_events_on(BufReader::new(open_input(events)?), scale)?;
    let rec = Recommender::new(encoder, index)?;
    let popularity = rec.index().popularity().to_vec();
    let all: Vec<&localrec::Event> = events.iter().collect();
    let mut bar = StagedProgress::default();
    let (model, report) = learn_collab(
        &rec,
        &all,
        &popularity,
        &HashMap::new(),
        &LearnOptions::with_grid(factors),
        |stage, d, t| bar.update(stage, d, t),
    )?;
    bar.finish();
    println!(
        "collaborative: {} events ({} naming unknown items, skipped), {} interactions of {} users, {} of {} items with factors; k={}, λ={}, α={}; blend text {:.2} / collaborative {:.2} / popularity {:.2} (validation NDCG@10 {:.4} on {} users)",
        report.events,
        report.unknown_item_events,
        report.interactions,
        report.users,
        report.items_with_factors,
        rec.index().len(),
        report.factors,
        report.regularization,
        report.confidence,
        report.blend.text,
        report.blend.collaborative,
        report.blend.popularity,
        report.validation_ndcg,
        report.validation_users
    );
    Ok(rec.index().clone().with_collab(model)?)
}

fn inspect(file: &std::path::Path) -> Result<(), CliError> {
    let index = CatalogueIndex::from_bytes(read_file(file)?)?;
    println!("file:       {}", file.display());
    println!("size:       {} bytes", index.as_bytes().len());
    println!(
        "format:     localrec catalogue index v{}",
        index.format_version()
    );
    println!("items:      {}", index.len());
    println!("dims:       {}", index.dims());
    println!("model id:   {}", index.model_id());
    println!("categories: {}", index.categories().len());
    println!("memory:     {} bytes loaded", index.memory_bytes());
    match index.collab() {
        Some(c) => {
            let b = c.blend();
            println!(
                "collab:     {} factors, {} of {} items with factors, λ={}, α={}, blend text {:.2} / collaborative {:.2} / popularity {:.2}",
                c.k(), c.items_with_factors(), c.items(), c.regularization(), c.confidence(), b.text, b.collaborative, b.popularity
            );
        }
        None => println!("collab:     none (built without interactions)"),
    }
    Ok(())
}
