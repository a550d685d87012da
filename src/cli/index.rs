//! `localrec index build`: catalogue JSONL → catalogue index file.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use localrec::offline::eval::collaborative::{learn_collab, learn_text_blend, LearnOptions};
use localrec::offline::index_build::{build_from_vectors, build_streaming, IndexLayout};
use localrec::offline::vectors::ItemVectors;
use localrec::rec::catalogue::catalogue_lines;
use localrec::rec::index::{TextBlend, DEFAULT_SNIPPET_CHARS};
use localrec::{read_events_on, CatalogueIndex, Recommender};

use super::{
    attach_backend, load_encoder, open_input, read_file, write_atomically, BackendArg, CliError,
    Progress, StagedProgress,
};

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Embed every item of a catalogue and write one index file.
    Build(BuildArgs),
    /// Rewrite an index with compact vectors (no embedding: the same bytes
    /// `index build --vector-bytes N` writes).
    Compact {
        /// An index with full vectors.
        input: PathBuf,
        /// Output index file.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Bytes stored per item vector.
        #[arg(long, value_name = "N")]
        vector_bytes: usize,
    },
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
    /// Characters of each item's text kept for display (0: none).
    #[arg(long, default_value_t = DEFAULT_SNIPPET_CHARS)]
    snippet_chars: usize,
    /// Bytes stored per item vector: the model's width (384) keeps full int8
    /// vectors; fewer (e.g. 32, 64, 96) stores that many coordinates on the
    /// catalogue's leading subspace (smaller file, faster scoring).
    /// [default: 384, or the model's width when smaller]
    #[arg(long, value_name = "N")]
    vector_bytes: Option<usize>,
    /// Display strings to leave out of the index (a store that renders its
    /// own cards needs only ids): `title`, `url`, `snippet`; repeat or comma-separate.
    #[arg(long, value_enum, value_delimiter = ',')]
    omit: Vec<OmitField>,
    /// Item vectors made elsewhere (`localrec embed --ids` output, JSONL,
    /// optionally .gz, first line naming the model): no embedding here; the
    /// index is byte for byte the one embedding here would write.
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,
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
    /// With --interactions, learn only the text / popularity weight (no item factors).
    #[arg(long, requires = "interactions")]
    no_collaborative: bool,
    /// Latent factors of the collaborative model.
    #[arg(long, default_value_t = 64)]
    factors: usize,
    /// Threads that embed items (default: every core). The index is the same
    /// for any count.
    #[arg(long)]
    threads: Option<std::num::NonZeroUsize>,
}

/// Bytes per vector when `--vector-bytes` is not given: the smallest whose
/// Amazon Magazine NDCG@10 stays within 2 % of the full int8 index
/// (benches/README.md).
pub const DEFAULT_VECTOR_BYTES: usize = 384;

/// A display string an index may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OmitField {
    /// Titles.
    Title,
    /// Links.
    Url,
    /// Text snippets (as `--snippet-chars 0`).
    Snippet,
}

pub fn run(cmd: IndexCommand) -> Result<(), CliError> {
    match cmd {
        IndexCommand::Build(args) => build(args),
        IndexCommand::Inspect { file } => inspect(&file),
        IndexCommand::Compact {
            input,
            output,
            vector_bytes,
        } => {
            let index = CatalogueIndex::from_bytes(read_file(&input)?)?.compacted(vector_bytes)?;
            write_atomically(&output, index.as_bytes())?;
            println!(
                "wrote {} ({} items, {} bytes, {} bytes a vector)",
                output.display(),
                index.len(),
                index.as_bytes().len(),
                index.vector_bytes()
            );
            Ok(())
        }
    }
}

fn build(args: BuildArgs) -> Result<(), CliError> {
    let encoder = load_encoder(args.model)?;
    attach_backend(&encoder, args.backend)?;
    let layout = IndexLayout {
        snippet_chars: if args.omit.contains(&OmitField::Snippet) {
            0
        } else {
            args.snippet_chars
        },
        vector_bytes: Some(
            args.vector_bytes
                .unwrap_or(DEFAULT_VECTOR_BYTES.min(encoder.dims())),
        ),
        titles: !args.omit.contains(&OmitField::Title),
        urls: !args.omit.contains(&OmitField::Url),
    };
    // One cheap pass counts the items for the progress bar; the build then
    // streams them, holding one round of texts at a time.
    let total = count_lines(&args.catalogue)?;
    let mut progress = Progress::new("embedding items");
    let threads = args
        .threads
        .unwrap_or_else(localrec::offline::index_build::default_threads);
    let started = std::time::Instant::now();
    let lines = catalogue_lines(BufReader::new(open_input(&args.catalogue)?));
    let index = match &args.vectors {
        Some(path) => {
            let vectors = ItemVectors::read(
                BufReader::new(open_input(path)?),
                encoder.model_id(),
                encoder.dims(),
            )?;
            build_from_vectors(
                lines,
                vectors,
                encoder.model_id(),
                encoder.dims(),
                layout,
                |d| progress.update(d, total.max(d)),
            )?
        }
        None => build_streaming(&encoder, lines, layout, threads, |d| {
            progress.update(d, total.max(d))
        })?,
    };
    progress.finish();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} {} items in {secs:.1} s ({:.1} items/s on {threads} threads)",
        if args.vectors.is_some() {
            "assembled"
        } else {
            "embedded"
        },
        index.len(),
        index.len() as f64 / secs.max(1e-9)
    );
    let index = match &args.interactions {
        Some(path) => with_interactions(
            encoder,
            index,
            path,
            args.factors,
            args.rating_scale,
            !args.no_collaborative,
        )?,
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

/// Non-blank lines of a (possibly gzipped) file.
fn count_lines(path: &std::path::Path) -> Result<usize, CliError> {
    use std::io::BufRead;
    let mut n = 0;
    for line in BufReader::new(open_input(path)?).lines() {
        let line = line.map_err(super::io_error(path))?;
        if !line.trim().is_empty() {
            n += 1;
        }
    }
    Ok(n)
}

/// Learns from the store's events the text / popularity weight and (when
/// `collaborative`) collaborative knowledge, and adds them to the index.
fn with_interactions(
    encoder: localrec::Encoder,
    index: CatalogueIndex,
    events: &std::path::Path,
    factors: usize,
    scale: Option<localrec::RatingScale>,
    collaborative: bool,
) -> Result<CatalogueIndex, CliError> {
    let events = read_events_on(BufReader::new(open_input(events)?), scale)?;
    let rec = Recommender::new(encoder, index)?;
    let popularity = rec.index().popularity().to_vec();
    let all: Vec<&localrec::Event> = events.iter().collect();
    let mut bar = StagedProgress::default();
    let options = LearnOptions::with_grid(factors);
    let t = learn_text_blend(
        &rec,
        &all,
        &popularity,
        &HashMap::new(),
        &options,
        |stage, d, t| bar.update(stage, d, t),
    )?;
    bar.finish();
    println!(
        "text weight: α={:.2} (validation NDCG@10 {:.4} on {} users; popularity alone {:.4}, text alone {:.4})",
        t.alpha, t.validation_ndcg, t.validation_users, t.popularity_ndcg, t.text_ndcg
    );
    let index = if t.validation_users > 0 {
        rec.index().clone().with_text_blend(TextBlend {
            alpha: t.alpha,
            validation_users: t.validation_users as u32,
            validation_ndcg: t.validation_ndcg as f32,
            popularity_ndcg: t.popularity_ndcg as f32,
            text_ndcg: t.text_ndcg as f32,
        })?
    } else {
        rec.index().clone()
    };
    if !collaborative {
        return Ok(index);
    }
    let (model, report) = learn_collab(
        &rec,
        &all,
        &popularity,
        &HashMap::new(),
        &options,
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
    Ok(index.with_collab(model)?)
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
    match index.projection() {
        Some(p) => println!(
            "vectors:    {} bytes an item (compact: {} coordinates of {})",
            index.vector_bytes(),
            p.dims(),
            p.model_dims()
        ),
        None => println!(
            "vectors:    {} bytes an item (full int8)",
            index.vector_bytes()
        ),
    }
    match index.text_blend() {
        Some(t) => println!(
            "text weight: α={:.2} learned on {} validation users (NDCG@10 {:.4}; popularity {:.4}, text {:.4})",
            t.alpha, t.validation_users, t.validation_ndcg, t.popularity_ndcg, t.text_ndcg
        ),
        None => println!("text weight: none learned (rankings use α=0.9 unless given)"),
    }
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
