//! `localrec intent-bench`: the intent benchmark on a catalogue index, natively.

use std::io::BufReader;
use std::path::PathBuf;

use clap::Args;
use localrec::offline::eval::intent::{read_queries, run_intent_bench};
use localrec::{CatalogueIndex, Recommender};

use super::{load_encoder, open_input, read_file, CliError};

#[derive(Args)]
pub struct IntentBenchArgs {
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Catalogue index whose tags and categories are the ground truth.
    #[arg(long, default_value = "models/build/films.lri")]
    index: PathBuf,
    /// Queries (JSONL), e.g. ../shared/intent/queries.jsonl.
    #[arg(long)]
    queries: PathBuf,
    /// Print every query's row (JSON lines) before the summary.
    #[arg(long)]
    rows: bool,
}

pub fn run(args: IntentBenchArgs) -> Result<(), CliError> {
    let encoder = load_encoder(args.model)?;
    let index = CatalogueIndex::from_bytes(read_file(&args.index)?)?;
    let queries = read_queries(BufReader::new(open_input(&args.queries)?))?;
    let rec = Recommender::new(encoder, index)?;
    let started = std::time::Instant::now();
    let (rows, summary) = run_intent_bench(&rec, &queries)?;
    if args.rows {
        for r in &rows {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    eprintln!(
        "{} queries in {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
