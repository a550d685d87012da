//! `localrec model build` and `localrec model inspect`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use localrec::offline::calibrated::{ActivationMoments, Steps};
use localrec::{read_catalogue, BertConfig, Error, ModelBundle, Quant, Result};
use sha2::{Digest, Sha256};

use super::{open_input, read_file, write_atomically};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Build one bundle file from a Hugging Face model folder
    /// (config.json, tokenizer.json, model.safetensors).
    Build(BuildArgs),
    /// Validate a bundle and print what it holds.
    Inspect {
        /// The bundle file.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// Folder with config.json, tokenizer.json and model.safetensors.
    #[arg(long = "from")]
    from: PathBuf,
    /// Output bundle file.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Storage of linear layers and the word table: int8 or f32.
    #[arg(long, default_value = "int8")]
    quant: String,
    /// Calibrate the int8 rounding on this catalogue (JSONL, optionally .gz):
    /// three texts per item used (title, first sentence, whole text), GPTQ on
    /// the linear layers, small per-row steps that gzip well.
    #[arg(long)]
    calibrate: Option<PathBuf>,
    /// How many catalogue items to calibrate on, spread evenly over the file.
    #[arg(long, default_value_t = 256, requires = "calibrate")]
    calibration_items: usize,
    /// Rounding step of the linear layers other than query and key, as a
    /// fraction of each output row's RMS.
    #[arg(long, default_value_t = Steps::default().linear, requires = "calibrate")]
    linear_step: f32,
    /// Rounding step of the query and key layers, as a fraction of each output row's RMS.
    #[arg(long, default_value_t = Steps::default().query_key, requires = "calibrate")]
    query_key_step: f32,
    /// Rounding step of the word table, as a fraction of each row's RMS.
    #[arg(long, default_value_t = Steps::default().table, requires = "calibrate")]
    table_step: f32,
    /// Threads for the calibration (default: every core). The bundle's bytes
    /// are the same for any count.
    #[arg(long, requires = "calibrate")]
    threads: Option<std::num::NonZeroUsize>,
}

pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Build(args) => build(&args),
        ModelCommand::Inspect { file } => inspect(&file),
    }
}

fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?).map_err(|e| Error::Io {
        context: format!("{} is not UTF-8", path.display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

fn build(args: &BuildArgs) -> Result<()> {
    let quant: Quant = args.quant.parse()?;
    let config = BertConfig::from_json(&read_text(&args.from.join("config.json"))?)?;
    let tokenizer = read_text(&args.from.join("tokenizer.json"))?;
    let weights_path = args.from.join("model.safetensors");
    let raw = read_file(&weights_path)?;
    let model_id = format!("sha256:{:x}", Sha256::digest(&raw));
    let weights = candle_core::safetensors::load_buffer(&raw, &candle_core::Device::Cpu)
        .map_err(|e| Error::Container(format!("{}: {e}", weights_path.display())))?;
    drop(raw);
    let bundle = match &args.calibrate {
        None => ModelBundle::from_weights(config, tokenizer, &weights, quant, model_id)?,
        Some(_) if quant != Quant::Int8 => {
            return Err(Error::Config(
                "--calibrate applies to int8 bundles only".into(),
            ))
        }
        Some(catalogue) => {
            let steps = Steps {
                linear: args.linear_step,
                query_key: args.query_key_step,
                table: args.table_step,
            };
            steps.validate()?; // before the minute calibration takes
            let texts = calibration_texts(catalogue, args.calibration_items)?;
            let threads = args
                .threads
                .unwrap_or_else(localrec::offline::index_build::default_threads);
            let calibration =
                ActivationMoments::collect(&config, &tokenizer, &weights, &texts, threads)?;
            println!(
                "calibrated on {} texts from {} items of {}",
                calibration.texts(),
                texts.len() / 3,
                catalogue.display()
            );
            ModelBundle::from_weights_calibrated(
                config,
                tokenizer,
                &weights,
                model_id,
                &calibration,
                steps,
            )?
        }
    };
    let bytes = bundle.to_bytes()?;
    write_atomically(&args.output, &bytes)?;
    println!(
        "wrote {} ({} bytes, {quant}, {})",
        args.output.display(),
        bytes.len(),
        bundle.model_id()
    );
    Ok(())
}

/// The calibration texts of `items` catalogue items of `catalogue`.
fn calibration_texts(catalogue: &Path, items: usize) -> Result<Vec<String>> {
    let all = read_catalogue(std::io::BufReader::new(open_input(catalogue)?))?;
    let texts = localrec::offline::calibrated::calibration_texts(&all, items);
    if texts.is_empty() {
        return Err(Error::Config(format!(
            "no calibration items ({} asked of {} in {})",
            items,
            all.len(),
            catalogue.display()
        )));
    }
    Ok(texts)
}

fn inspect(file: &Path) -> Result<()> {
    let bytes = read_file(file)?;
    let bundle = ModelBundle::from_bytes(&bytes)?;
    let c = bundle.config();
    println!("file:       {}", file.display());
    println!("size:       {} bytes", bytes.len());
    println!(
        "format:     localrec model bundle v{}",
        bundle.format_version()
    );
    println!("quant:      {}", bundle.quant());
    println!("model id:   {}", bundle.model_id());
    println!(
        "model:      BERT, {} layers, hidden {}, {} heads, ffn {}, vocab {}, window {}",
        c.num_hidden_layers,
        c.hidden_size,
        c.num_attention_heads,
        c.intermediate_size,
        c.vocab_size,
        localrec::model::tokenize::MAX_TOKENS.min(c.max_position_embeddings)
    );
    Ok(())
}
