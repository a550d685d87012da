//! Argument parsing and dispatch for the `localrec` CLI. Each subcommand lives
//! in its own module; errors end the process with one line on stderr and exit 1.

mod convert;
mod embed;
mod eval;
mod factors;
mod index;
mod intent;
mod interactions;
mod model;
mod recommend;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Where `localrec model build` writes the default bundle (see models/README.md).
pub const DEFAULT_BUNDLE: &str = "models/build/minilm-l6-v2-int8.lrm";

#[derive(Parser)]
#[command(
    name = "localrec",
    version,
    about = "On-device recommender: model bundles, embeddings, catalogue indexes, recommendations, evaluation"
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
    /// Build catalogue indexes.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Convert public data sets to the catalogue and events formats.
    #[command(subcommand)]
    Convert(convert::ConvertCommand),
    /// Evaluate rankings on held-out users against baselines.
    Eval(eval::EvalArgs),
    /// Events JSONL → one {user, item, strength, ts} line per positive interaction (stdin → stdout).
    Interactions(interactions::InteractionsArgs),
    /// Train item factors on one machine (the form `index build --item-factors` reads).
    #[command(subcommand)]
    Factors(factors::FactorsCommand),
    /// The intent benchmark: does feedback text move the top 10 as meant?
    IntentBench(intent::IntentBenchArgs),
    /// Recommend: a visitor's feedback (events JSONL) → the top k items, with why.
    Recommend(recommend::RecommendArgs),
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
    /// A `localrec recommend` failure (a file, a user, a filter or a scene).
    #[error(transparent)]
    Recommend(#[from] recommend::RecommendError),
}

/// Runs the CLI and turns any error into a one-line message and exit code 1.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(cmd) => model::run(cmd).map_err(CliError::from),
        Command::Embed(args) => embed::run(args),
        Command::Index(cmd) => index::run(cmd),
        Command::Convert(cmd) => convert::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Interactions(args) => interactions::run(args),
        Command::Factors(cmd) => factors::run(cmd),
        Command::IntentBench(args) => intent::run(args),
        Command::Recommend(args) => recommend::run(args),
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

/// Maps an I/O error on `path` to a library error naming the file.
pub fn io_error(path: &std::path::Path) -> impl Fn(std::io::Error) -> localrec::Error + '_ {
    move |source| localrec::Error::Io {
        context: format!("{}", path.display()),
        source,
    }
}

/// Opens a file for reading, decompressing it when it ends in `.gz`.
pub fn open_input(path: &std::path::Path) -> localrec::Result<Box<dyn std::io::Read>> {
    let f = std::fs::File::open(path).map_err(|source| localrec::Error::Io {
        context: format!("cannot read {}", path.display()),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(f)))
    } else {
        Ok(Box::new(f))
    }
}

/// The files of an input that may be a Spark job's output directory: the
/// file itself, or every file in the directory whose name starts with neither
/// `_` nor `.` (`_SUCCESS`, `.crc` files), in name order.
pub fn input_parts(path: &std::path::Path) -> localrec::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io_error(path))? {
        let entry = entry.map_err(io_error(path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') || !entry.path().is_file() {
            continue;
        }
        parts.push(entry.path());
    }
    parts.sort();
    if parts.is_empty() {
        return Err(localrec::Error::InvalidInput {
            what: "input directory",
            reason: format!("{} holds no part files", path.display()),
        });
    }
    Ok(parts)
}

/// Loads the encoder from `--model` (or the default bundle), naming the file in errors.
pub fn load_encoder(model: Option<PathBuf>) -> Result<localrec::Encoder, CliError> {
    let path = resolve_model(model);
    localrec::Encoder::from_bytes(&read_file(&path)?)
        .map_err(|source| CliError::Model { path, source })
}

/// `--backend`: which path runs the encoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// The SIMD CPU path (the default: nothing to probe).
    #[default]
    Cpu,
    /// The GPU (Vulkan through wgpu); an error if there is none.
    Gpu,
    /// Time both on one short text and one batch, take the faster for each.
    Auto,
}

/// Attaches the GPU to `encoder` as `backend` asks, and says on stderr what was chosen.
pub fn attach_backend(encoder: &localrec::Encoder, backend: BackendArg) -> Result<(), CliError> {
    if backend == BackendArg::Cpu {
        return Ok(());
    }
    #[cfg(feature = "gpu")]
    {
        use localrec::encoder::backend::BackendPreference;
        use localrec::gpu::GpuContext;
        let preference = match backend {
            BackendArg::Gpu => BackendPreference::Gpu,
            _ => BackendPreference::Auto,
        };
        let ctx = match pollster::block_on(GpuContext::acquire()) {
            Ok(ctx) => std::sync::Arc::new(ctx),
            Err(e) if backend == BackendArg::Auto => {
                eprintln!("backend: {e}; embedding on the CPU");
                return Ok(());
            }
            Err(e) => return Err(localrec::Error::from(e).into()),
        };
        let choice = pollster::block_on(encoder.use_gpu(ctx.clone(), preference))?;
        eprintln!(
            "backend: single texts on {}, batches on {} (adapter {:?}{})",
            choice.single.name(),
            choice.batch.name(),
            ctx.adapter().name,
            if ctx.adapter().software {
                ", a software rasteriser: correct but slow"
            } else {
                ""
            }
        );
        Ok(())
    }
    #[cfg(not(feature = "gpu"))]
    Err(localrec::Error::InvalidInput {
        what: "backend",
        reason: "this build has no GPU support (cargo feature `gpu`)".into(),
    }
    .into())
}

/// Writes to a sibling temporary file, then renames: a crash never leaves half a file.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> localrec::Result<()> {
    use std::io::Write;
    let io = |context: String| move |source| localrec::Error::Io { context, source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).map_err(io(format!("cannot create {}", tmp.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(format!("cannot write {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("cannot rename to {}", path.display())))
}

/// A one-line progress bar on stderr (only when stderr is a terminal, else a line per 10%).
pub struct Progress {
    label: String,
    last: usize,
    tty: bool,
    started: std::time::Instant,
}

impl Progress {
    /// A new bar.
    pub fn new(label: impl Into<String>) -> Self {
        use std::io::IsTerminal;
        Self {
            label: label.into(),
            last: usize::MAX,
            tty: std::io::stderr().is_terminal(),
            started: std::time::Instant::now(),
        }
    }
    /// Shows `done` of `total`, the rate so far and the time left at that rate.
    pub fn update(&mut self, done: usize, total: usize) {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let step = if self.tty { pct } else { pct / 10 * 10 };
        if step == self.last {
            return;
        }
        self.last = step;
        let width = 30;
        let filled = pct * width / 100;
        let bar = format!("{}{}", "#".repeat(filled), " ".repeat(width - filled));
        let secs = self.started.elapsed().as_secs_f64();
        let pace = match done {
            0 => String::new(),
            _ if secs <= 0.0 => String::new(),
            _ => {
                let rate = done as f64 / secs;
                let left = total.saturating_sub(done) as f64 / rate;
                format!(
                    " {} /s, ETA {}",
                    if rate >= 10.0 {
                        format!("{rate:.0}")
                    } else {
                        format!("{rate:.1}")
                    },
                    clock(left)
                )
            }
        };
        if self.tty {
            eprint!("\r{} [{bar}] {done}/{total}{pace}\x1b[K", self.label);
        } else {
            eprintln!("{} [{bar}] {done}/{total}{pace}", self.label);
        }
    }
    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// Seconds as `h:mm:ss` or `m:ss`.
fn clock(secs: f64) -> String {
    let s = secs.round().clamp(0.0, 359_999.0) as u64;
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", s / 60 % 60, s % 60),
    }
}

/// Progress over named stages: a new bar whenever the stage changes.
#[derive(Default)]
pub struct StagedProgress {
    bar: Option<(String, Progress)>,
}

impl StagedProgress {
    /// Shows `done` of `total` for `stage`.
    pub fn update(&mut self, stage: &str, done: usize, total: usize) {
        if self.bar.as_ref().is_none_or(|(s, _)| s != stage) {
            self.finish();
            self.bar = Some((stage.to_string(), Progress::new(stage)));
        }
        if let Some((_, b)) = self.bar.as_mut() {
            b.update(done, total);
        }
    }
    /// Ends the current bar's line.
    pub fn finish(&mut self) {
        if let Some((_, b)) = self.bar.as_mut() {
            b.finish();
        }
        self.bar = None;
    }
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn clock_reads_as_minutes_or_hours() {
        assert_eq!(clock(0.4), "0:00");
        assert_eq!(clock(75.0), "1:15");
        assert_eq!(clock(3_723.0), "1:02:03");
        assert_eq!(clock(f64::INFINITY), "99:59:59");
    }
}
