//! `localrec index build`: catalogue JSONL → catalogue index file.

use std::io::BufReader;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use localrec::index::DEFAULT_SNIPPET_CHARS;
use localrec::{read_catalogue, CatalogueIndex};

use super::{
    attach_backend, load_encoder, open_input, read_file, write_atomically, BackendArg, CliError,
    Progress,
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
    let index = CatalogueIndex::build(&encoder, &items, args.snippet_chars, |d, t| {
        progress.update(d, t)
    })?;
    progress.finish();
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

fn inspect(file: &std::path::Path) -> Result<(), CliError> {
    let index = CatalogueIndex::from_bytes(read_file(file)?)?;
    println!("file:       {}", file.display());
    println!("size:       {} bytes", index.as_bytes().len());
    println!(
        "format:     localrec catalogue index v{}",
        localrec::index::INDEX_VERSION
    );
    println!("items:      {}", index.len());
    println!("dims:       {}", index.dims());
    println!("model id:   {}", index.model_id());
    println!("categories: {}", index.categories().len());
    println!("memory:     {} bytes loaded", index.memory_bytes());
    Ok(())
}
