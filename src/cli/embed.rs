//! `localrec embed`: texts on stdin (one per line) → JSON arrays on stdout.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use localrec::{BatchOptions, Encoder, Error};

use super::{attach_backend, read_file, resolve_model, BackendArg, CliError};

#[derive(Args)]
pub struct EmbedArgs {
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    batch: u32,
    /// Which path embeds: cpu, gpu, or auto (measure both).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

pub fn run(args: EmbedArgs) -> Result<(), CliError> {
    let path = resolve_model(args.model);
    let batch = args.batch as usize;
    let encoder = Encoder::from_bytes(&read_file(&path)?)
        .map_err(|source| CliError::Model {
            path: path.clone(),
            source,
        })?
        .with_batching(BatchOptions {
            max_texts: batch,
            ..BatchOptions::default()
        });
    attach_backend(&encoder, args.backend)?;
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let io = |context: &str| {
        let context = context.to_string();
        move |source| Error::Io { context, source }
    };
    let mut pending: Vec<String> = Vec::with_capacity(batch);
    // Read several batches' worth before running, so the length-sorted planner can group well.
    let chunk = batch * 8;
    let flush = |pending: &mut Vec<String>, out: &mut BufWriter<_>| -> localrec::Result<()> {
        let embeddings = encoder.embed_batch(pending)?;
        for row in embeddings.rows() {
            serde_json::to_writer(&mut *out, row)
                .map_err(|e| io("cannot write to stdout")(std::io::Error::other(e)))?;
            out.write_all(b"\n").map_err(io("cannot write to stdout"))?;
        }
        pending.clear();
        Ok(())
    };
    for (n, line) in stdin.split(b'\n').enumerate() {
        let mut line = line.map_err(io("cannot read stdin"))?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8(line).map_err(|e| Error::Io {
            context: format!("stdin line {} is not UTF-8", n + 1),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        pending.push(text);
        if pending.len() >= chunk {
            flush(&mut pending, &mut out)?;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut out)?;
    }
    out.flush().map_err(io("cannot write to stdout"))?;
    Ok(())
}
