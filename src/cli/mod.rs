//! Argument parsing and dispatch for the `localrec` CLI. Each subcommand lives
//! in its own module; errors end the process with one line on stderr and exit 1.

mod embed;
mod model;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Where `localrec model build` writes the default bundle (see models/README.md).
pub const DEFAULT_BUNDLE: &str = "models/build/minilm-l6-v2-int8.lrm";

#[derive(Parser)]
#[command(
    name = "localrec",
    version,
    about = "On-device recommender: model bundles, embeddings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build or inspect model bundles.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Embed text: one text per line on stdin, one JSON array per line on stdout.
    Embed(embed::EmbedArgs),
}

/// A CLI failure: a library error, or one with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Any library error.
    #[error(transparent)]
    Lib(#[from] localrec::Error),
    /// A model bundle that could not be loaded.
    #[error("cannot load model {}: {source}", path.display())]
    Model {
        /// The bundle file.
        path: PathBuf,
        /// Why.
        #[source]
        source: localrec::Error,
    },
}

/// Runs the CLI and turns any error into a one-line message and exit code 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(cmd) => model::run(cmd).map_err(CliError::from),
        Command::Embed(args) => embed::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localrec: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The model to use: `--model`, else `$LOCALREC_MODEL`, else the default
/// bundle under the current directory, else the one in this source tree.
pub fn resolve_model(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(p) = std::env::var_os("LOCALREC_MODEL") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from(DEFAULT_BUNDLE);
    if local.exists() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_BUNDLE)
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &std::path::Path) -> localrec::Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| localrec::Error::Io {
        context: format!("cannot read {}", path.display()),
        source,
    })
}
