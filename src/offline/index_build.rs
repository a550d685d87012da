//! Building a catalogue index: every item embedded (on every core), its
//! fields and popularity written in the index format that
//! [`crate::rec::index`] reads, and collaborative knowledge added as a section.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use crate::cpu::score::quantize;
use crate::encoder::{Embeddings, Encoder};
use crate::rec::catalogue::{snippet, AttributeValue, CatalogueItem};
use crate::rec::collab::{CollabModel, SECTION_TAG, SECTION_VERSION};
use crate::rec::index::{CatalogueIndex, ENVELOPE, PLAIN_ENVELOPE};
use crate::util::binary::ByteWriter;
use crate::util::envelope::HEADER_LEN;
use crate::util::error::{Error, Result};

/// Interns strings in first-seen order.
#[derive(Default)]
struct Table<'a> {
    names: Vec<&'a str>,
    ids: HashMap<&'a str, u32>,
}

impl<'a> Table<'a> {
    fn id(&mut self, s: &'a str) -> u32 {
        let next = self.names.len() as u32;
        *self.ids.entry(s).or_insert_with(|| {
            self.names.push(s);
            next
        })
    }
    fn write(&self, w: &mut ByteWriter) {
        w.u32(self.names.len() as u32);
        self.names.iter().for_each(|n| w.str(n));
    }
}

impl CatalogueIndex {
    /// Embeds every item (title + text) in batches and builds the index, on
    /// every core. `progress(done, total)` is
    /// called after each round of batches.
    pub fn build(
        encoder: &Encoder,
        items: &[CatalogueItem],
        snippet_chars: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        Self::build_with_threads(encoder, items, snippet_chars, default_threads(), progress)
    }

    /// [`build`](Self::build) on `threads` threads.
    /// A text's embedding does not depend on its batch, so the index is the
    /// same for any thread count.
    pub fn build_with_threads(
        encoder: &Encoder,
        items: &[CatalogueItem],
        snippet_chars: usize,
        threads: NonZeroUsize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        validate_items(items)?;
        const CHUNK: usize = 256;
        let threads = threads.get();
        let embed = |chunk: &[CatalogueItem]| -> Result<Embeddings> {
            let texts: Vec<String> = chunk.iter().map(CatalogueItem::embedding_text).collect();
            encoder.embed_batch(&texts)
        };
        let mut data = Vec::with_capacity(items.len() * encoder.dims());
        let mut done = 0;
        for round in items.chunks(CHUNK * threads) {
            let chunks: Vec<&[CatalogueItem]> = round.chunks(CHUNK).collect();
            let embedded: Vec<Result<Embeddings>> = embed_chunks(&chunks, &embed);
            for e in embedded {
                data.extend_from_slice(e?.as_slice());
            }
            done += round.len();
            progress(done, items.len());
        }
        let embeddings = Embeddings::from_rows(encoder.dims(), data)?;
        Self::from_embeddings(items, &embeddings, encoder.model_id(), snippet_chars)
    }

    /// Builds the index from items and their embeddings (one row per item, same order).
    pub fn from_embeddings(
        items: &[CatalogueItem],
        embeddings: &Embeddings,
        model_id: &str,
        snippet_chars: usize,
    ) -> Result<Self> {
        if embeddings.len() != items.len() {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!("{} rows for {} items", embeddings.len(), items.len()),
            });
        }
        validate_items(items)?;
        let dims = embeddings.dims();
        let (mut categories, mut tags, mut keys) =
            (Table::default(), Table::default(), Table::default());
        for item in items {
            if let Some(c) = &item.category {
                categories.id(c);
            }
            item.tags.iter().for_each(|t| {
                tags.id(t);
            });
            item.attributes.keys().for_each(|k| {
                keys.id(k);
            });
        }
        let mut w = ByteWriter::new();
        w.u32(dims as u32);
        w.u32(items.len() as u32);
        w.str(model_id);
        categories.write(&mut w);
        tags.write(&mut w);
        keys.write(&mut w);
        // Align the f32 columns to 4 bytes within the file.
        while !(HEADER_LEN + w.len()).is_multiple_of(4) {
            w.u8(0);
        }
        let mut values = Vec::with_capacity(items.len() * dims);
        let mut scales = Vec::with_capacity(items.len());
        for row in embeddings.rows() {
            if row.iter().any(|x| !x.is_finite()) {
                return Err(Error::InvalidInput {
                    what: "embeddings",
                    reason: "a vector has a non-finite value".into(),
                });
            }
            let (q, s) = quantize(row);
            values.extend(q.into_iter().map(|x| x as u8));
            scales.push(s);
        }
        scales.iter().for_each(|&s| w.f32(s));
        let raw: Vec<f64> = items.iter().map(|i| i.popularity.unwrap_or(0.0)).collect();
        normalise_popularity(&raw).iter().for_each(|&p| w.f32(p));
        items
            .iter()
            .for_each(|i| w.f32(i.price.map_or(f32::NAN, |p| p as f32)));
        w.bytes(&values);
        for item in items {
            w.vstr(&item.id);
            w.vstr(&item.title);
            w.vstr(&snippet(item.text.as_deref().unwrap_or(""), snippet_chars));
            w.vstr(item.url.as_deref().unwrap_or(""));
            w.varint(
                item.category
                    .as_deref()
                    .map_or(0, |c| u64::from(categories.id(c)) + 1),
            );
            w.varint(item.tags.len() as u64);
            item.tags
                .iter()
                .for_each(|t| w.varint(u64::from(tags.id(t))));
            w.varint(item.attributes.len() as u64);
            for (k, v) in &item.attributes {
                w.varint(u64::from(keys.id(k)));
                match v {
                    AttributeValue::Number(x) => {
                        w.u8(0);
                        w.f64(*x);
                    }
                    AttributeValue::Text(s) => {
                        w.u8(1);
                        w.vstr(s);
                    }
                }
            }
        }
        Self::from_bytes(PLAIN_ENVELOPE.seal(&w.into_inner()))
    }

    /// The same catalogue with collaborative knowledge (replacing any it had):
    /// a version-2 index with the knowledge in its section.
    pub fn with_collab(self, model: CollabModel) -> Result<Self> {
        if model.items() != self.len() {
            return Err(Error::InvalidInput {
                what: "collaborative knowledge",
                reason: format!("{} items, the index has {}", model.items(), self.len()),
            });
        }
        let mut w = ByteWriter::new();
        w.bytes(self.plain_payload());
        let mut body = ByteWriter::new();
        model.write(&mut body);
        let body = body.into_inner();
        w.u32(1);
        w.bytes(&SECTION_TAG);
        w.u32(SECTION_VERSION);
        w.u64(body.len() as u64);
        w.bytes(&body);
        Self::from_bytes(ENVELOPE.seal(&w.into_inner()))
    }
}

fn validate_items(items: &[CatalogueItem]) -> Result<()> {
    let mut seen = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        item.validate(i + 1)?;
        if let Some(first) = seen.insert(item.id.as_str(), i) {
            return Err(Error::DuplicateItem {
                id: item.id.clone(),
                line: i + 1,
                first_line: first + 1,
            });
        }
    }
    Ok(())
}

/// log(1 + p) scaled so the most popular item is 1 (all zero stays zero).
pub fn normalise_popularity(raw: &[f64]) -> Vec<f32> {
    let max = raw.iter().fold(0f64, |m, &p| m.max(p.max(0.0)));
    if max <= 0.0 {
        return vec![0.0; raw.len()];
    }
    let denom = max.ln_1p();
    raw.iter()
        .map(|&p| (p.max(0.0).ln_1p() / denom) as f32)
        .collect()
}

/// `embed` on every chunk, one thread per chunk (the encoder is `Sync` natively).
fn embed_chunks<F>(chunks: &[&[CatalogueItem]], embed: &F) -> Vec<Result<Embeddings>>
where
    F: Fn(&[CatalogueItem]) -> Result<Embeddings> + Sync,
{
    if chunks.len() < 2 {
        return chunks.iter().map(|&chunk| embed(chunk)).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|&chunk| scope.spawn(move || embed(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Config("an embedding thread panicked".into())))
            })
            .collect()
    })
}

/// Every core this process may use (one if that cannot be told).
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}
