//! `localrec index build`: catalogue JSONL → catalogue index file.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use localrec::offline::eval::collaborative::{
    learn_blend_for, learn_collab, learn_text_blend, GivenFactors, LearnOptions, Validation,
    ValidationSplit,
};
use localrec::offline::index_build::{build_from_vectors, build_streaming, IndexLayout};
use localrec::offline::item_factors::ItemFactors;
use localrec::offline::vectors::ItemVectors;
use localrec::rec::catalogue::catalogue_lines;
use localrec::rec::index::{TextBlend, DEFAULT_SNIPPET_CHARS};
use localrec::{read_events_on, CatalogueIndex, Recommender};

use super::{
    attach_backend, input_parts, load_encoder, open_input, read_file, write_atomically, BackendArg,
    CliError, Progress, StagedProgress,
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
    /// Write the validation holdout of a store's events: the users `index build
    /// --interactions` learns its blend on and when their held-out events begin
    /// (for training `--validation-factors` elsewhere without them).
    Holdout(HoldoutArgs),
    /// Validate an index file and print what it holds.
    Inspect {
        /// The index file.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct HoldoutArgs {
    /// Catalogue JSONL (optionally .gz).
    #[arg(long)]
    catalogue: PathBuf,
    /// Store events (JSONL, the `eval` format), as given to `index build --interactions`.
    #[arg(long)]
    interactions: PathBuf,
    /// The events' rating scale when the file names none on its first line.
    #[arg(long, value_name = "SCALE")]
    rating_scale: Option<localrec::RatingScale>,
    /// Output holdout JSONL.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
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
    /// Item factors trained elsewhere (Spark MLlib ALS `itemFactors` with
    /// catalogue ids, or `localrec factors train`): JSONL or a directory of
    /// parts, one header naming rank / reg_param / alpha / reg_scaling. Shipped
    /// as given; only the blend is learned here.
    #[arg(
        long,
        value_name = "PATH",
        requires = "interactions",
        conflicts_with = "no_collaborative"
    )]
    item_factors: Option<PathBuf>,
    /// Factors trained as --item-factors but without the `index holdout` of
    /// these events, to learn the blend on (the shipped factors have seen the
    /// held-out events). Without it, ALS at the same settings is trained here.
    #[arg(long, value_name = "PATH", requires = "item_factors")]
    validation_factors: Option<PathBuf>,
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
        IndexCommand::Holdout(args) => holdout(args),
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
    // Factors made elsewhere are read (and their form checked) before any embedding.
    let collab = if args.no_collaborative {
        Collab::None
    } else {
        match &args.item_factors {
            None => Collab::Train(args.factors),
            Some(p) => Collab::Given {
                factors: Box::new(read_item_factors(p)?),
                validation: match &args.validation_factors {
                    Some(v) => Some(Box::new(read_item_factors(v)?)),
                    None => None,
                },
            },
        }
    };
    let total = count_lines(&args.catalogue)?;
    let mut progress = Progress::new(if args.vectors.is_some() {
        "assembling items"
    } else {
        "embedding items"
    });
    let threads = args
        .threads
        .unwrap_or_else(localrec::offline::index_build::default_threads);
    let started = std::time::Instant::now();
    let lines = catalogue_lines(BufReader::new(open_input(&args.catalogue)?));
    let index = match &args.vectors {
        Some(path) => {
            let mut vectors = ItemVectors::default();
            for part in input_parts(path)? {
                vectors.read_part(
                    BufReader::new(open_input(&part)?),
                    &part.display().to_string(),
                    encoder.model_id(),
                    encoder.dims(),
                )?;
            }
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
        Some(path) => with_interactions(encoder, index, path, args.rating_scale, collab)?,
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

/// Item factors from a file or a directory of parts.
fn read_item_factors(path: &std::path::Path) -> Result<ItemFactors, CliError> {
    let mut f = ItemFactors::default();
    for part in input_parts(path)? {
        f.read_part(
            BufReader::new(open_input(&part)?),
            &part.display().to_string(),
        )?;
    }
    f.header()?;
    Ok(f)
}

/// Where a build's collaborative knowledge comes from.
enum Collab {
    /// None: only the text / popularity weight is learned.
    None,
    /// ALS trained here with this many factors (settings chosen on validation users).
    Train(usize),
    /// Factors trained elsewhere, with or without holdout-trained twins for the blend.
    Given {
        factors: Box<ItemFactors>,
        validation: Option<Box<ItemFactors>>,
    },
}

fn holdout(args: HoldoutArgs) -> Result<(), CliError> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    for next in catalogue_lines(BufReader::new(open_input(&args.catalogue)?)) {
        let (_, item) = next?;
        let n = ids.len();
        ids.insert(item.id, n);
    }
    let events = read_events_on(
        BufReader::new(open_input(&args.interactions)?),
        args.rating_scale,
    )?;
    let all: Vec<&localrec::Event> = events.iter().collect();
    let split = ValidationSplit::new(
        |id| ids.get(id).copied(),
        ids.len(),
        &all,
        LearnOptions::with_grid(1).max_validation_users,
    );
    let holdout = split.holdout();
    let mut out = Vec::new();
    holdout.write(&mut out)?;
    write_atomically(&args.output, &out)?;
    println!(
        "wrote {} ({} validation users, {})",
        args.output.display(),
        holdout.users.len(),
        holdout.digest()
    );
    Ok(())
}

/// Learns from the store's events the text / popularity weight and
/// collaborative knowledge (`collab`), and adds them to the index.
fn with_interactions(
    encoder: localrec::Encoder,
    index: CatalogueIndex,
    events: &std::path::Path,
    scale: Option<localrec::RatingScale>,
    collab: Collab,
) -> Result<CatalogueIndex, CliError> {
    let events = read_events_on(BufReader::new(open_input(events)?), scale)?;
    let rec = Recommender::new(encoder, index)?;
    let popularity = rec.index().popularity().to_vec();
    let all: Vec<&localrec::Event> = events.iter().collect();
    let mut bar = StagedProgress::default();
    let options = LearnOptions::with_grid(match &collab {
        Collab::Train(k) => *k,
        _ => 64,
    });
    let collab_wanted = !matches!(collab, Collab::None);
    // Factors made elsewhere are checked against this catalogue and these
    // events before the validation users are replayed.
    let given = match collab {
        Collab::None | Collab::Train(_) => None,
        Collab::Given {
            factors,
            validation,
        } => {
            let header = factors.header()?;
            let settings = header.settings()?;
            let ids = || (0..rec.index().len()).map(|i| rec.index().id(i));
            let shipped = factors.for_catalogue(ids())?;
            let twin = match &validation {
                None => None,
                Some(v) => {
                    let h = v.header()?;
                    let expected = ValidationSplit::new(
                        |id| rec.index().position(id),
                        rec.index().len(),
                        &all,
                        options.max_validation_users,
                    )
                    .holdout()
                    .digest();
                    let same = h.settings()? == settings;
                    if !same || h.holdout.as_deref() != Some(expected.as_str()) {
                        return Err(localrec::Error::InvalidInput {
                            what: "validation factors",
                            reason: format!(
                                "must be trained with the item factors' settings (rank {}, reg_param {}, alpha {}, {:?}) without the holdout {expected} of these events (`localrec index holdout`); they say rank {}, reg_param {}, alpha {}, {:?}, holdout {}",
                                header.rank, header.reg_param, header.alpha, header.reg_scaling,
                                h.rank, h.reg_param, h.alpha, h.reg_scaling,
                                h.holdout.as_deref().unwrap_or("none")
                            ),
                        }
                        .into());
                    }
                    Some(v.for_catalogue(ids())?)
                }
            };
            Some((shipped, settings, twin))
        }
    };
    // One replay of the validation users serves the text weight and the blend.
    let v = Validation::prepare(
        &rec,
        &all,
        &popularity,
        &HashMap::new(),
        &options,
        |stage, d, t| bar.update(stage, d, t),
    )?;
    let t = learn_text_blend(&v, &popularity, &options);
    bar.finish();
    println!(
        "text weight: α={:.2} (validation NDCG@10 {:.4} on {} users; popularity alone {:.4}, text alone {:.4})",
        t.alpha, t.validation_ndcg, t.validation_users, t.popularity_ndcg, t.text_ndcg
    );
    let index = if t.validation_users > 0 {
        rec.index().clone().with_text_blend(TextBlend::from(&t))?
    } else {
        rec.index().clone()
    };
    let (model, report) = match (&collab_wanted, given) {
        (false, _) => return Ok(index),
        (true, None) => learn_collab(&rec, &v, &popularity, &options, |stage, d, t| {
            bar.update(stage, d, t)
        })?,
        (true, Some((shipped, settings, twin))) => learn_blend_for(
            &rec,
            &v,
            &popularity,
            &options,
            GivenFactors {
                factors: &shipped,
                settings,
                validation: twin.as_ref(),
            },
            |stage, d, t| bar.update(stage, d, t),
        )?,
    };
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
    println!("vectors sha256: {}", vectors_digest(&index));
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
                "collab:     {} factors, {} of {} items with factors, λ={}{}, α={}, blend text {:.2} / collaborative {:.2} / popularity {:.2}",
                c.k(), c.items_with_factors(), c.items(), c.regularization(),
                match c.scaling() {
                    localrec::rec::collab::RegularizationScaling::None => "",
                    localrec::rec::collab::RegularizationScaling::PerInteraction => " per interaction",
                },
                c.confidence(), b.text, b.collaborative, b.popularity
            );
        }
        None => println!("collab:     none (built without interactions)"),
    }
    Ok(())
}

/// SHA-256 of the stored item vectors (int8 values, then the f32 scales, then
/// any projection basis): equal for two indexes whose items score alike
/// whatever else (display strings, sections) differs.
fn vectors_digest(index: &CatalogueIndex) -> String {
    use sha2::{Digest, Sha256};
    let m = index.matrix();
    let mut h = Sha256::new();
    h.update(bytemuck::cast_slice::<i8, u8>(m.values));
    for s in m.scales {
        h.update(s.to_le_bytes());
    }
    if let Some(p) = index.projection() {
        for x in p.basis() {
            h.update(x.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
