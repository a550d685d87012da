//! `localrec embed`: texts on stdin (one per line) → JSON arrays on stdout;
//! with `--ids`, items `{id, text}` → a header and `{id, vector}` lines, the
//! item vectors file `index build --vectors` reads.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use localrec::offline::vectors::{ItemVector, VectorsHeader};
use localrec::{BatchOptions, CatalogueItem, Encoder, Error};

/// Writes `value` as one JSON line to stdout's buffer.
fn write_json(out: &mut impl Write, value: &impl serde::Serialize) -> localrec::Result<()> {
    let failed = |source| Error::Io {
        context: "cannot write to stdout".into(),
        source,
    };
    serde_json::to_writer(&mut *out, value).map_err(|e| failed(std::io::Error::other(e)))?;
    out.write_all(b"\n").map_err(failed)
}

use super::{attach_backend, read_file, resolve_model, BackendArg, CliError};

#[derive(Args)]
pub struct EmbedArgs {
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    batch: u32,
    /// Items instead of bare texts: JSONL `{"id": …, "text": …}` (or whole
    /// catalogue lines: title and text embedded as `index build` does) in, a header
    /// line `{"model_id": …, "dims": …}` then `{"id": …, "vector": […]}` out
    /// (what `index build --vectors` reads; a Spark job pipes partitions through it).
    #[arg(long)]
    ids: bool,
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
    let mut ids: Vec<String> = Vec::new();
    // Read several batches' worth before running, so the length-sorted planner can group well.
    let chunk = batch * 8;
    if args.ids {
        let header = VectorsHeader {
            model_id: encoder.model_id().to_string(),
            dims: encoder.dims(),
        };
        write_json(&mut out, &header)?;
    }
    let flush = |pending: &mut Vec<String>,
                 ids: &mut Vec<String>,
                 out: &mut BufWriter<_>|
     -> localrec::Result<()> {
        let embeddings = encoder.embed_batch(pending)?;
        for (k, row) in embeddings.rows().enumerate() {
            match ids.get(k) {
                Some(id) => write_json(
                    out,
                    &ItemVector {
                        id: id.clone(),
                        vector: row.to_vec(),
                    },
                )?,
                None => write_json(out, &row)?,
            }
        }
        pending.clear();
        ids.clear();
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
        if args.ids {
            if text.trim().is_empty() {
                continue;
            }
            // `{id, text}` or a whole catalogue line: embedded as `index build`
            // embeds the item (title and text), so the vectors match.
            let item: CatalogueItem =
                serde_json::from_str(&text).map_err(|e| Error::CatalogueLine {
                    line: n + 1,
                    reason: format!("{e} (expected {{\"id\": …, \"text\": …}})"),
                })?;
            item.validate(n + 1)?;
            pending.push(item.embedding_text());
            ids.push(item.id);
        } else {
            pending.push(text);
        }
        if pending.len() >= chunk {
            flush(&mut pending, &mut ids, &mut out)?;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut ids, &mut out)?;
    }
    out.flush().map_err(io("cannot write to stdout"))?;
    Ok(())
}
