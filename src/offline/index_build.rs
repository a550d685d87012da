//! Building a catalogue index: items embedded on every core as they stream
//! in, their fields and popularity written in the index format that
//! [`crate::rec::index`] reads, vectors optionally compacted onto the
//! catalogue's leading subspace ([`crate::offline::pca`]), and collaborative
//! knowledge or a learned text weight added as sections.
//!
//! [`IndexBuilder`] takes one (item, vector) at a time and keeps only what the
//! file will hold (int8 vectors, the display record, the columns), never the
//! items' full texts, so a catalogue of a million items is built without
//! holding it.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use crate::cpu::score::{dequantize, quantize};
use crate::encoder::{Embeddings, Encoder};
use crate::offline::pca::SecondMoment;
use crate::offline::vectors::ItemVectors;
use crate::rec::catalogue::{snippet, AttributeValue, CatalogueItem};
use crate::rec::collab::CollabModel;
use crate::rec::index::sections::Sections;
use crate::rec::index::{
    envelope_for, CatalogueIndex, Projection, StoredFields, TextBlend, DEFAULT_SNIPPET_CHARS,
};
use crate::util::binary::ByteWriter;
use crate::util::envelope::HEADER_LEN;
use crate::util::error::{Error, Result};

/// Items embedded per batch (a thread embeds one batch at a time).
const CHUNK: usize = 256;

/// What an index file stores besides ids: how wide its vectors are and which
/// display strings it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLayout {
    /// Characters of each item's text kept for display (0: none).
    pub snippet_chars: usize,
    /// Bytes a vector: `None` or the model's width keeps the full int8
    /// vectors; fewer stores that many coordinates on the catalogue's leading
    /// subspace.
    pub vector_bytes: Option<usize>,
    /// Keep titles (a store that renders its own cards may need only ids).
    pub titles: bool,
    /// Keep links.
    pub urls: bool,
}

impl Default for IndexLayout {
    /// Full vectors, titles, links and 240-character snippets.
    fn default() -> Self {
        Self {
            snippet_chars: DEFAULT_SNIPPET_CHARS,
            vector_bytes: None,
            titles: true,
            urls: true,
        }
    }
}

impl IndexLayout {
    /// The display strings this layout keeps (the price column is decided
    /// by the items: it is left out when none has a price).
    fn strings(&self) -> StoredFields {
        let mut f = StoredFields::ALL;
        for (keep, field) in [
            (self.titles, StoredFields::TITLES),
            (self.snippet_chars > 0, StoredFields::SNIPPETS),
            (self.urls, StoredFields::URLS),
        ] {
            if !keep {
                f = f.without(field);
            }
        }
        f
    }

    /// Full vectors and display strings with `snippet_chars` of text.
    pub fn with_snippets(snippet_chars: usize) -> Self {
        Self {
            snippet_chars,
            ..Self::default()
        }
    }
}

/// Interns strings in first-seen order.
#[derive(Default)]
struct Table {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Table {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
    fn write(&self, w: &mut ByteWriter) {
        w.u32(self.names.len() as u32);
        self.names.iter().for_each(|n| w.str(n));
    }
}

/// Builds an index from (item, vector) pairs pushed one at a time.
pub struct IndexBuilder {
    model_id: String,
    model_dims: usize,
    layout: IndexLayout,
    ids: HashMap<String, usize>,
    categories: Table,
    tags: Table,
    keys: Table,
    values: Vec<i8>,
    scales: Vec<f32>,
    popularity: Vec<f64>,
    prices: Vec<f32>,
    records: ByteWriter,
    moment: Option<SecondMoment>,
}

impl IndexBuilder {
    /// A builder for vectors of `model_dims` values made by `model_id`.
    pub fn new(model_id: &str, model_dims: usize, layout: IndexLayout) -> Result<Self> {
        let compact = match layout.vector_bytes {
            Some(n) if n == 0 || n > model_dims => {
                return Err(Error::InvalidInput {
                    what: "vector bytes",
                    reason: format!("{n} is not between 1 and the model's {model_dims}"),
                })
            }
            Some(n) => n < model_dims,
            None => false,
        };
        if model_dims == 0 || model_dims > 65_536 {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!("{model_dims} dimensions is out of range"),
            });
        }
        Ok(Self {
            model_id: model_id.to_string(),
            model_dims,
            layout,
            ids: HashMap::new(),
            categories: Table::default(),
            tags: Table::default(),
            keys: Table::default(),
            values: Vec::new(),
            scales: Vec::new(),
            popularity: Vec::new(),
            prices: Vec::new(),
            records: ByteWriter::new(),
            moment: compact.then(|| SecondMoment::new(model_dims)),
        })
    }

    /// Items pushed so far.
    pub fn len(&self) -> usize {
        self.scales.len()
    }
    /// True before the first item.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Adds the item read from `line` (1-based, for errors) with its vector.
    pub fn push(&mut self, line: usize, item: &CatalogueItem, vector: &[f32]) -> Result<()> {
        if vector.len() != self.model_dims {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!(
                    "item `{}` has {} values, the model {}",
                    item.id,
                    vector.len(),
                    self.model_dims
                ),
            });
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!("item `{}`'s vector has a non-finite value", item.id),
            });
        }
        let (q, s) = quantize(vector);
        self.push_quantized(line, item, &q, s)
    }

    /// [`push`](Self::push) with the vector already quantised as the index
    /// stores it (`quantize`'s int8 values and scale).
    pub fn push_quantized(
        &mut self,
        line: usize,
        item: &CatalogueItem,
        q: &[i8],
        s: f32,
    ) -> Result<()> {
        item.validate(line)?;
        if q.len() != self.model_dims || !s.is_finite() || s < 0.0 {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!("item `{}` has a malformed quantised vector", item.id),
            });
        }
        if let Some(&first_line) = self.ids.get(&item.id) {
            return Err(Error::DuplicateItem {
                id: item.id.clone(),
                line,
                first_line,
            });
        }
        self.ids.insert(item.id.clone(), line);
        if let Some(m) = &mut self.moment {
            // The stored int8 vector, so compacting a built index later
            // ([`CatalogueIndex::compacted`]) gives the same bytes.
            m.add(&dequantize(q, s));
        }
        self.values.extend_from_slice(q);
        self.scales.push(s);
        self.popularity.push(item.popularity.unwrap_or(0.0));
        self.prices.push(item.price.map_or(f32::NAN, |p| p as f32));
        let w = &mut self.records;
        w.vstr(&item.id);
        if self.layout.titles {
            w.vstr(&item.title);
        }
        if self.layout.snippet_chars > 0 {
            w.vstr(&snippet(
                item.text.as_deref().unwrap_or(""),
                self.layout.snippet_chars,
            ));
        }
        if self.layout.urls {
            w.vstr(item.url.as_deref().unwrap_or(""));
        }
        w.varint(
            item.category
                .as_deref()
                .map_or(0, |c| u64::from(self.categories.id(c)) + 1),
        );
        w.varint(item.tags.len() as u64);
        for t in &item.tags {
            w.varint(u64::from(self.tags.id(t)));
        }
        w.varint(item.attributes.len() as u64);
        for (k, v) in &item.attributes {
            w.varint(u64::from(self.keys.id(k)));
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
        Ok(())
    }

    /// Writes the index (compacting the vectors when asked) and loads it.
    pub fn finish(self) -> Result<CatalogueIndex> {
        let count = self.len();
        let mut sections = Sections::default();
        let (dims, values, scales) = match (&self.moment, self.layout.vector_bytes) {
            (Some(m), Some(n)) if count > 0 => {
                let (p, _) = m.basis(n)?;
                let (values, scales) = project_rows(&p, &self.values, &self.scales);
                sections.projection = Some(p);
                (n, values, scales)
            }
            _ => (self.model_dims, self.values, self.scales),
        };
        let mut fields = self.layout.strings();
        if self.prices.iter().all(|p| p.is_nan()) {
            fields = fields.without(StoredFields::PRICES);
        }
        let envelope = envelope_for(fields, !sections.is_empty());
        let mut w = ByteWriter::new();
        w.u32(dims as u32);
        w.u32(count as u32);
        w.str(&self.model_id);
        if fields != StoredFields::ALL {
            w.u32(fields.bits());
        }
        self.categories.write(&mut w);
        self.tags.write(&mut w);
        self.keys.write(&mut w);
        // Align the f32 columns to 4 bytes within the file.
        while !(HEADER_LEN + w.len()).is_multiple_of(4) {
            w.u8(0);
        }
        scales.iter().for_each(|&s| w.f32(s));
        normalise_popularity(&self.popularity)
            .iter()
            .for_each(|&p| w.f32(p));
        if fields.contains(StoredFields::PRICES) {
            self.prices.iter().for_each(|&p| w.f32(p));
        }
        w.bytes(bytemuck::cast_slice(&values));
        w.bytes(&self.records.into_inner());
        if envelope.version > 1 {
            sections.write(&mut w);
        }
        CatalogueIndex::from_bytes(envelope.seal(&w.into_inner()))
    }
}

/// Int8 rows (with scales) projected and quantised again.
fn project_rows(p: &Projection, values: &[i8], scales: &[f32]) -> (Vec<i8>, Vec<f32>) {
    let mut out = (Vec::with_capacity(scales.len() * p.dims()), Vec::new());
    for (row, &s) in values.chunks_exact(p.model_dims()).zip(scales) {
        let (q, s) = quantize(&p.project(&dequantize(row, s)));
        out.0.extend(q);
        out.1.push(s);
    }
    out
}

impl CatalogueIndex {
    /// The same catalogue with compact vectors of `vector_bytes` coordinates
    /// (every other byte kept): byte for byte what `index build
    /// --vector-bytes` writes for it, without embedding again. A full-width
    /// `vector_bytes` returns the index unchanged; an index already compact
    /// is an error (its discarded coordinates cannot be recovered).
    pub fn compacted(&self, vector_bytes: usize) -> Result<Self> {
        if self.projection().is_some() {
            return Err(Error::InvalidInput {
                what: "vector bytes",
                reason: "the index is already compact; compact an index with full vectors".into(),
            });
        }
        let dims = self.dims();
        if vector_bytes == dims {
            return Ok(self.clone());
        }
        let m = self.matrix();
        let mut moment = SecondMoment::new(dims);
        for i in 0..self.len() {
            moment.add(&dequantize(m.row(i), m.scales[i]));
        }
        let (p, _) = moment.basis(vector_bytes)?;
        let (values, scales) = project_rows(&p, m.values, m.scales);
        self.with_vectors(vector_bytes, &values, &scales, Some(p))
    }

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
        let total = items.len();
        let lines = items
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, it)| Ok((i + 1, it)));
        build_streaming(
            encoder,
            lines,
            IndexLayout::with_snippets(snippet_chars),
            threads,
            |done| progress(done, total),
        )
    }

    /// Builds the index from items and their embeddings (one row per item, same order).
    pub fn from_embeddings(
        items: &[CatalogueItem],
        embeddings: &Embeddings,
        model_id: &str,
        snippet_chars: usize,
    ) -> Result<Self> {
        Self::from_embeddings_with(
            items,
            embeddings,
            model_id,
            IndexLayout::with_snippets(snippet_chars),
        )
    }

    /// [`from_embeddings`](Self::from_embeddings) with any layout.
    pub fn from_embeddings_with(
        items: &[CatalogueItem],
        embeddings: &Embeddings,
        model_id: &str,
        layout: IndexLayout,
    ) -> Result<Self> {
        if embeddings.len() != items.len() {
            return Err(Error::InvalidInput {
                what: "embeddings",
                reason: format!("{} rows for {} items", embeddings.len(), items.len()),
            });
        }
        let mut b = IndexBuilder::new(model_id, embeddings.dims(), layout)?;
        for (i, (item, row)) in items.iter().zip(embeddings.rows()).enumerate() {
            b.push(i + 1, item, row)?;
        }
        b.finish()
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
        self.with_sections(|s| s.collab = Some(model))
    }

    /// The same catalogue with a learned text / popularity weight (replacing
    /// any it had), which rankings without an explicit `alpha` use.
    pub fn with_text_blend(self, blend: TextBlend) -> Result<Self> {
        if !(0.0..=1.0).contains(&blend.alpha) {
            return Err(Error::InvalidInput {
                what: "alpha",
                reason: format!("{} is not in [0, 1]", blend.alpha),
            });
        }
        self.with_sections(|s| s.text_blend = Some(blend))
    }

    fn with_sections(self, change: impl FnOnce(&mut Sections)) -> Result<Self> {
        let mut sections = self.sections().clone();
        change(&mut sections);
        let mut w = ByteWriter::new();
        w.bytes(self.plain_payload());
        self.reseal(w, &sections)
    }
}

/// Embeds items as they stream in (`threads` batches at a time) and builds the
/// index with `layout`; `progress(done)` after each round. Only one round of
/// items is held at a time.
pub fn build_streaming(
    encoder: &Encoder,
    lines: impl Iterator<Item = Result<(usize, CatalogueItem)>>,
    layout: IndexLayout,
    threads: NonZeroUsize,
    mut progress: impl FnMut(usize),
) -> Result<CatalogueIndex> {
    let mut builder = IndexBuilder::new(encoder.model_id(), encoder.dims(), layout)?;
    let round_len = CHUNK * threads.get();
    let embed = |chunk: &[(usize, CatalogueItem)]| -> Result<Embeddings> {
        let texts: Vec<String> = chunk.iter().map(|(_, it)| it.embedding_text()).collect();
        encoder.embed_batch(&texts)
    };
    let mut lines = lines.peekable();
    while lines.peek().is_some() {
        let round: Vec<(usize, CatalogueItem)> =
            lines.by_ref().take(round_len).collect::<Result<_>>()?;
        for (line, item) in &round {
            item.validate(*line)?;
        }
        let chunks: Vec<&[(usize, CatalogueItem)]> = round.chunks(CHUNK).collect();
        for (chunk, embedded) in chunks.iter().zip(embed_chunks(&chunks, &embed)) {
            let embedded = embedded?;
            for ((line, item), row) in chunk.iter().zip(embedded.rows()) {
                builder.push(*line, item, row)?;
            }
        }
        progress(builder.len());
    }
    builder.finish()
}

/// Builds the index from streamed items and vectors made elsewhere
/// ([`ItemVectors`], e.g. `localrec embed --ids` on a cluster), with the
/// vectors of `model_id` (`dims` values): the same bytes an in-process build of
/// those items writes. An item without a vector, or vectors no item uses, are errors.
pub fn build_from_vectors(
    lines: impl Iterator<Item = Result<(usize, CatalogueItem)>>,
    mut vectors: ItemVectors,
    model_id: &str,
    dims: usize,
    layout: IndexLayout,
    mut progress: impl FnMut(usize),
) -> Result<CatalogueIndex> {
    let mut builder = IndexBuilder::new(model_id, dims, layout)?;
    for next in lines {
        let (line, item) = next?;
        let (q, s) = vectors.take(&item.id).ok_or_else(|| Error::InvalidInput {
            what: "item vectors",
            reason: format!("item `{}` (catalogue line {line}) has no vector", item.id),
        })?;
        builder.push_quantized(line, &item, &q, s)?;
        if builder.len() % 4096 == 0 {
            progress(builder.len());
        }
    }
    progress(builder.len());
    if !vectors.is_empty() {
        return Err(Error::InvalidInput {
            what: "item vectors",
            reason: format!(
                "{} vectors name items the catalogue lacks (e.g. {})",
                vectors.len(),
                vectors.some_ids(3).join(", ")
            ),
        });
    }
    builder.finish()
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
fn embed_chunks<T, F>(chunks: &[&[T]], embed: &F) -> Vec<Result<Embeddings>>
where
    T: Sync,
    F: Fn(&[T]) -> Result<Embeddings> + Sync,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared direction plus noise, like sentence embeddings.
    fn unit(seed: u32, dims: usize) -> Vec<f32> {
        crate::testing::unit_vector(seed, dims, 4, 0.8)
    }

    fn items(n: usize) -> Vec<CatalogueItem> {
        (0..n)
            .map(|i| CatalogueItem {
                id: format!("i{i}"),
                title: format!("Item {i}"),
                text: Some(format!("text of item {i}, long enough to cut")),
                category: Some(["a", "b"][i % 2].into()),
                tags: vec![],
                price: Some(i as f64),
                popularity: Some(i as f64),
                url: Some(format!("https://shop.example/{i}")),
                attributes: Default::default(),
            })
            .collect()
    }

    fn embeddings(n: usize, dims: usize) -> Embeddings {
        Embeddings::from_rows(dims, (0..n).flat_map(|i| unit(i as u32, dims)).collect()).unwrap()
    }

    #[test]
    fn compact_vectors_keep_the_model_space_and_the_ranking() {
        let (n, dims) = (300, 48);
        let (items, e) = (items(n), embeddings(n, dims));
        let full = CatalogueIndex::from_embeddings(&items, &e, "m", 20).unwrap();
        let layout = IndexLayout {
            vector_bytes: Some(16),
            ..IndexLayout::with_snippets(20)
        };
        let compact = CatalogueIndex::from_embeddings_with(&items, &e, "m", layout).unwrap();
        assert_eq!(compact.vector_bytes(), 16);
        assert_eq!(compact.dims(), dims);
        assert_eq!(compact.format_version(), 2);
        assert!(compact.as_bytes().len() < full.as_bytes().len());
        compact.check_model("m", dims).unwrap();
        assert_eq!(compact.vector(3).len(), dims);
        // It reads back, and scores of the compact form track the full ones.
        let again = CatalogueIndex::from_bytes(compact.as_bytes().to_vec()).unwrap();
        assert_eq!(again.projection(), compact.projection());
        let kernel = crate::cpu::score::Kernel::detect();
        let probe = unit(1000, dims);
        let (qf, qc) = (full.query(&probe), compact.query(&probe));
        let mut err = 0.0f32;
        for i in 0..n {
            let a = full.matrix().score(kernel, i, &qf);
            let b = compact.matrix().score(kernel, i, &qc);
            err = err.max((a - b).abs());
        }
        assert!(err < 0.35, "compact scores drift {err}");
        // Compacting the full index later writes the same bytes.
        assert_eq!(full.compacted(16).unwrap().as_bytes(), compact.as_bytes());
        assert!(compact.compacted(8).is_err());
        assert_eq!(full.compacted(dims).unwrap().as_bytes(), full.as_bytes());
        // The full width is the plain format, byte for byte.
        let same = IndexLayout {
            vector_bytes: Some(dims),
            ..IndexLayout::with_snippets(20)
        };
        let plain = CatalogueIndex::from_embeddings_with(&items, &e, "m", same).unwrap();
        assert_eq!(plain.as_bytes(), full.as_bytes());
        for bad in [0, dims + 1] {
            let layout = IndexLayout {
                vector_bytes: Some(bad),
                ..IndexLayout::default()
            };
            assert!(CatalogueIndex::from_embeddings_with(&items, &e, "m", layout).is_err());
        }
    }

    #[test]
    fn display_strings_can_be_left_out() {
        let (items, e) = (items(10), embeddings(10, 8));
        let ids_only = IndexLayout {
            snippet_chars: 0,
            vector_bytes: None,
            titles: false,
            urls: false,
        };
        let lean = CatalogueIndex::from_embeddings_with(&items, &e, "m", ids_only).unwrap();
        let full = CatalogueIndex::from_embeddings(&items, &e, "m", 240).unwrap();
        let (a, b) = (lean.item(4).unwrap(), full.item(4).unwrap());
        assert_eq!(
            (a.id.as_str(), a.title.as_str(), a.snippet.as_str()),
            ("i4", "", "")
        );
        assert_eq!(a.url, None);
        assert_eq!((a.category, a.price), (b.category, b.price));
        assert_eq!(b.title, "Item 4");
        assert!(lean.as_bytes().len() < full.as_bytes().len());
        assert_eq!(lean.format_version(), 3);
        assert_eq!(lean.stored_fields(), StoredFields::PRICES);
        let again = CatalogueIndex::from_bytes(lean.as_bytes().to_vec()).unwrap();
        assert_eq!(again.item(4), lean.item(4));
        // Without prices the column is left out; the items read the same.
        let free: Vec<CatalogueItem> = items
            .iter()
            .cloned()
            .map(|i| CatalogueItem { price: None, ..i })
            .collect();
        let no_prices = CatalogueIndex::from_embeddings(&free, &e, "m", 240).unwrap();
        assert!(!no_prices.stored_fields().contains(StoredFields::PRICES));
        assert_eq!(no_prices.price(3), None);
        assert_eq!(no_prices.title(3), "Item 3");
        // 4 bytes an item fewer; 4 more for the field bits, 4 for the
        // (empty) section count, up to 3 of alignment.
        assert!(no_prices.as_bytes().len() + 40 <= full.as_bytes().len() + 8 + 3);
        // Unknown field bits are refused, not guessed at.
        let mut odd = lean.as_bytes().to_vec();
        let at = crate::util::envelope::HEADER_LEN + 8 + 4 + 1; // dims, count, model id "m"
        odd[at] |= 0x80;
        let payload = odd[crate::util::envelope::HEADER_LEN..].to_vec();
        let resealed = envelope_for(StoredFields::NONE, false).seal(&payload);
        assert!(matches!(
            CatalogueIndex::from_bytes(resealed),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn sections_combine_and_replace() {
        let (items, e) = (items(20), embeddings(20, 8));
        let layout = IndexLayout {
            vector_bytes: Some(4),
            ..IndexLayout::default()
        };
        let index = CatalogueIndex::from_embeddings_with(&items, &e, "m", layout).unwrap();
        let t = TextBlend {
            alpha: 0.6,
            validation_users: 12,
            validation_ndcg: 0.2,
            popularity_ndcg: 0.1,
            text_ndcg: 0.15,
        };
        let with = index.clone().with_text_blend(t).unwrap();
        assert_eq!(with.text_blend(), Some(t));
        assert_eq!(with.projection(), index.projection());
        let again = CatalogueIndex::from_bytes(with.as_bytes().to_vec()).unwrap();
        assert_eq!(again.text_blend(), Some(t));
        let replaced = again
            .with_text_blend(TextBlend { alpha: 1.0, ..t })
            .unwrap();
        assert_eq!(replaced.text_blend().map(|t| t.alpha), Some(1.0));
        assert!(index
            .with_text_blend(TextBlend { alpha: 1.5, ..t })
            .is_err());
    }

    #[test]
    fn streaming_reports_bad_lines_and_duplicates_by_line() {
        let bundle = crate::testing::tiny_bundle(crate::model::bundle::Quant::F32, 2);
        let enc = Encoder::from_bundle(bundle).unwrap();
        let mut lines: Vec<Result<(usize, CatalogueItem)>> = items(3)
            .into_iter()
            .enumerate()
            .map(|(i, it)| Ok((i + 2, it)))
            .collect();
        lines.push(Ok((9, items(1).remove(0))));
        let err = build_streaming(
            &enc,
            lines.into_iter(),
            IndexLayout::default(),
            NonZeroUsize::MIN,
            |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::DuplicateItem {
                    line: 9,
                    first_line: 2,
                    ..
                }
            ),
            "{err}"
        );
    }
}
