//! `localrec model build` and `localrec model inspect`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use localrec::{BertConfig, Error, ModelBundle, Quant, Result};
use sha2::{Digest, Sha256};

use super::{read_file, write_atomically};

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
    let bundle = ModelBundle::from_weights(config, tokenizer, &weights, quant, model_id)?;
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

fn inspect(file: &Path) -> Result<()> {
    let bytes = read_file(file)?;
    let bundle = ModelBundle::from_bytes(&bytes)?;
    let c = bundle.config();
    println!("file:       {}", file.display());
    println!("size:       {} bytes", bytes.len());
    println!(
        "format:     localrec model bundle v{}",
        localrec::bundle::FORMAT_VERSION
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
        localrec::tokenize::MAX_TOKENS.min(c.max_position_embeddings)
    );
    Ok(())
}
