//! The catalogue index: one versioned, checksummed file with every item's int8
//! embedding, its normalised popularity, and the fields needed to show and
//! filter it.
//!
//! Payload (after the common 32-byte header, magic `LRINDEX\0`):
//! `dims u32, count u32, model_id str`, then `count` f32 scales, `count` f32
//! normalised popularities, `count × dims` int8 values, then per item:
//! `id, title, snippet str; category (u8 flag + str); tags (u32 + strs);
//! price f64 (NaN = none); popularity f64; url str ("" = none); attributes
//! (u32 + (key str, u8 kind, f64 | str))`. Strings are u32-length-prefixed UTF-8.
//!
//! Loading keeps the file's bytes and reads the int8 vectors in place (no copy).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::binfmt::{ByteReader, ByteWriter, ReadError};
use crate::catalogue::{AttributeValue, CatalogueItem};
use crate::encoder::{Embeddings, Encoder};
use crate::envelope::{Envelope, HEADER_LEN};
use crate::error::{Error, FileKind, Result};
use crate::scoring::{quantize, ItemMatrix};

/// The first eight bytes of a catalogue index.
pub const INDEX_MAGIC: [u8; 8] = *b"LRINDEX\0";
/// The index format version this build writes and reads.
pub const INDEX_VERSION: u32 = 1;
/// Characters of an item's text kept for display.
pub const DEFAULT_SNIPPET_CHARS: usize = 240;

const ENVELOPE: Envelope = Envelope {
    kind: FileKind::CatalogueIndex,
    magic: INDEX_MAGIC,
    version: INDEX_VERSION,
};

/// What the index keeps of an item besides its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedItem {
    /// Unique id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// The start of the item's text, for display.
    pub snippet: String,
    /// Category.
    pub category: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Price.
    pub price: Option<f64>,
    /// Raw popularity as given (0 if none).
    pub popularity: f64,
    /// Link.
    pub url: Option<String>,
    /// Filterable attributes.
    pub attributes: BTreeMap<String, AttributeValue>,
}

/// A loaded catalogue index.
#[derive(Debug, Clone)]
pub struct CatalogueIndex {
    bytes: Vec<u8>,
    vectors: Range<usize>,
    dims: usize,
    model_id: String,
    scales: Vec<f32>,
    popularity: Vec<f32>,
    items: Vec<IndexedItem>,
    by_id: HashMap<String, u32>,
}

impl CatalogueIndex {
    /// Embeds every item (title + text) in batches and builds the index.
    /// `progress(done, total)` is called after each batch.
    pub fn build(
        encoder: &Encoder,
        items: &[CatalogueItem],
        snippet_chars: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let mut data = Vec::with_capacity(items.len() * encoder.dims());
        const CHUNK: usize = 256;
        for (n, chunk) in items.chunks(CHUNK).enumerate() {
            let texts: Vec<String> = chunk.iter().map(CatalogueItem::embedding_text).collect();
            data.extend_from_slice(encoder.embed_batch(&texts)?.as_slice());
            progress((n * CHUNK + chunk.len()).min(items.len()), items.len());
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
        let dims = embeddings.dims();
        let mut w = ByteWriter::new();
        w.u32(dims as u32);
        w.u32(items.len() as u32);
        w.str(model_id);
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
        w.bytes(&values);
        for item in items {
            w.str(&item.id);
            w.str(&item.title);
            w.str(&snippet(item.text.as_deref().unwrap_or(""), snippet_chars));
            match &item.category {
                Some(c) => {
                    w.u8(1);
                    w.str(c);
                }
                None => w.u8(0),
            }
            w.u32(item.tags.len() as u32);
            item.tags.iter().for_each(|t| w.str(t));
            w.f64(item.price.unwrap_or(f64::NAN));
            w.f64(item.popularity.unwrap_or(0.0));
            w.str(item.url.as_deref().unwrap_or(""));
            w.u32(item.attributes.len() as u32);
            for (k, v) in &item.attributes {
                w.str(k);
                match v {
                    AttributeValue::Number(x) => {
                        w.u8(0);
                        w.f64(*x);
                    }
                    AttributeValue::Text(s) => {
                        w.u8(1);
                        w.str(s);
                    }
                }
            }
        }
        Self::from_bytes(ENVELOPE.seal(&w.into_inner()))
    }

    /// Validates index bytes and loads them, keeping the bytes (vectors are read in place).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let payload = ENVELOPE.open(&bytes)?;
        let malformed = |e: ReadError| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason: e.to_string(),
        };
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason,
        };
        let mut r = ByteReader::new(payload);
        let dims = r.u32().map_err(malformed)? as usize;
        let count = r.u32().map_err(malformed)? as usize;
        let model_id = r.str().map_err(malformed)?.to_string();
        if dims == 0 || dims > 65_536 {
            return Err(bad(format!("dimension {dims} is out of range")));
        }
        // Each item needs at least dims bytes + 8 bytes of scale/popularity: check before allocating.
        if count.saturating_mul(dims + 8) > r.remaining() {
            return Err(bad(format!(
                "{count} items of {dims} dims do not fit in {} bytes",
                r.remaining()
            )));
        }
        let scales = r.f32s(count).map_err(malformed)?;
        let popularity = r.f32s(count).map_err(malformed)?;
        if scales
            .iter()
            .chain(&popularity)
            .any(|x| !x.is_finite() || *x < 0.0)
        {
            return Err(bad("a scale or popularity is negative or not finite".into()));
        }
        let start = HEADER_LEN + r.position();
        r.take(count * dims).map_err(malformed)?;
        let vectors = start..start + count * dims;
        let mut items = Vec::with_capacity(count);
        let mut by_id = HashMap::with_capacity(count);
        for i in 0..count {
            let item = read_item(&mut r).map_err(malformed)?;
            if by_id.insert(item.id.clone(), i as u32).is_some() {
                return Err(bad(format!("duplicate item id `{}`", item.id)));
            }
            items.push(item);
        }
        Ok(Self {
            bytes,
            vectors,
            dims,
            model_id,
            scales,
            popularity,
            items,
            by_id,
        })
    }

    /// The index file bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Embedding dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// The model the vectors were made with.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    /// Item `i`'s display and filter fields.
    pub fn item(&self, i: usize) -> Option<&IndexedItem> {
        self.items.get(i)
    }
    /// All items, in index order.
    pub fn items(&self) -> &[IndexedItem] {
        &self.items
    }
    /// Position of an item id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).map(|&i| i as usize)
    }
    /// Position of an item id, or [`Error::UnknownItem`].
    pub fn require(&self, id: &str) -> Result<usize> {
        self.position(id)
            .ok_or_else(|| Error::UnknownItem(id.to_string()))
    }
    /// Normalised popularity (0..=1, log-scaled) of every item.
    pub fn popularity(&self) -> &[f32] {
        &self.popularity
    }
    /// The int8 vectors and scales, borrowed from the file bytes.
    pub fn matrix(&self) -> ItemMatrix<'_> {
        ItemMatrix {
            values: bytemuck::cast_slice(&self.bytes[self.vectors.clone()]),
            scales: &self.scales,
            dims: self.dims,
        }
    }
    /// Item `i`'s vector as floats (unit length up to int8 rounding).
    pub fn vector(&self, i: usize) -> Vec<f32> {
        let m = self.matrix();
        crate::scoring::dequantize(m.row(i), self.scales[i])
    }
    /// Fails with [`Error::ModelMismatch`] unless the index was made with this encoder's model.
    pub fn check_model(&self, encoder: &Encoder) -> Result<()> {
        if self.model_id != encoder.model_id() || self.dims != encoder.dims() {
            return Err(Error::ModelMismatch {
                kind: FileKind::CatalogueIndex,
                expected: encoder.model_id().to_string(),
                expected_dims: encoder.dims(),
                found: self.model_id.clone(),
                found_dims: self.dims,
            });
        }
        Ok(())
    }
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

fn snippet(text: &str, chars: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

fn read_item(r: &mut ByteReader<'_>) -> std::result::Result<IndexedItem, ReadError> {
    let id = r.str()?.to_string();
    let title = r.str()?.to_string();
    let snippet = r.str()?.to_string();
    let category = match r.u8()? {
        0 => None,
        _ => Some(r.str()?.to_string()),
    };
    let ntags = r.u32()? as usize;
    let mut tags = Vec::with_capacity(ntags.min(r.remaining() / 4));
    for _ in 0..ntags {
        tags.push(r.str()?.to_string());
    }
    let price = Some(r.f64()?).filter(|p| !p.is_nan());
    let popularity = r.f64()?;
    let url = Some(r.str()?.to_string()).filter(|u| !u.is_empty());
    let nattrs = r.u32()? as usize;
    let mut attributes = BTreeMap::new();
    for _ in 0..nattrs {
        let key = r.str()?.to_string();
        let value = match r.u8()? {
            0 => AttributeValue::Number(r.f64()?),
            _ => AttributeValue::Text(r.str()?.to_string()),
        };
        attributes.insert(key, value);
    }
    Ok(IndexedItem {
        id,
        title,
        snippet,
        category,
        tags,
        price,
        popularity,
        url,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_bundle;
    use crate::Quant;

    pub(crate) fn items() -> Vec<CatalogueItem> {
        let line =
            |id: &str, title: &str, text: &str, cat: &str, pop: f64, year: f64| CatalogueItem {
                id: id.into(),
                title: title.into(),
                text: Some(text.into()),
                category: Some(cat.into()),
                tags: vec![format!("tag-{cat}")],
                price: Some(pop / 10.0),
                popularity: Some(pop),
                url: Some(format!("https://example.org/{id}")),
                attributes: [("year".to_string(), AttributeValue::Number(year))]
                    .into_iter()
                    .collect(),
            };
        vec![
            line("a", "War story", "a long war story", "war", 100.0, 1980.0),
            line(
                "b",
                "Funny comedy",
                "a short funny comedy",
                "comedy",
                10.0,
                1995.0,
            ),
            line("c", "Quick read", "a quick good read", "book", 0.0, 2001.0),
            line("d", "Bad film", "a very bad film", "comedy", 50.0, 2010.0),
        ]
    }

    fn encoder() -> Encoder {
        Encoder::from_bundle(tiny_bundle(Quant::F32, 2)).unwrap()
    }

    #[test]
    fn builds_round_trips_and_keeps_fields() {
        let enc = encoder();
        let mut calls = Vec::new();
        let index = CatalogueIndex::build(&enc, &items(), 10, |d, t| calls.push((d, t))).unwrap();
        assert_eq!(calls.last(), Some(&(4, 4)));
        assert_eq!(index.len(), 4);
        assert_eq!(index.dims(), enc.dims());
        let again = CatalogueIndex::from_bytes(index.as_bytes().to_vec()).unwrap();
        assert_eq!(again.items(), index.items());
        assert_eq!(again.popularity(), index.popularity());
        let a = again.item(again.require("a").unwrap()).unwrap();
        assert_eq!(a.snippet, "a long war…");
        assert_eq!(a.price, Some(10.0));
        assert_eq!(a.attributes["year"], AttributeValue::Number(1980.0));
        assert_eq!(again.popularity()[0], 1.0);
        assert_eq!(again.popularity()[2], 0.0);
        // The stored vector is the item's embedding, up to int8 rounding.
        let v = enc.embed(&items()[1].embedding_text()).unwrap();
        let cos: f32 = v.iter().zip(again.vector(1)).map(|(a, b)| a * b).sum();
        assert!(cos > 0.999, "{cos}");
        assert!(matches!(again.require("zzz"), Err(Error::UnknownItem(id)) if id == "zzz"));
        again.check_model(&enc).unwrap();
    }

    #[test]
    fn rejects_corrupt_truncated_foreign_and_mismatched_indexes() {
        let enc = encoder();
        let index = CatalogueIndex::build(&enc, &items(), 100, |_, _| {}).unwrap();
        let bytes = index.as_bytes().to_vec();
        for len in [0, 10, 32, bytes.len() - 1] {
            let err = CatalogueIndex::from_bytes(bytes[..len].to_vec()).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Truncated {
                        kind: FileKind::CatalogueIndex,
                        ..
                    }
                ),
                "{len}: {err}"
            );
        }
        let mut c = bytes.clone();
        let n = c.len();
        c[n - 5] ^= 0x10;
        assert!(matches!(
            CatalogueIndex::from_bytes(c),
            Err(Error::ChecksumMismatch { .. })
        ));
        let model = crate::testing::tiny_bundle_bytes(Quant::Int8, 1);
        let err = CatalogueIndex::from_bytes(model).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a localrec catalogue index"),
            "{err}"
        );
        // A payload that claims more items than it holds, with a valid checksum.
        let mut w = ByteWriter::new();
        w.u32(384);
        w.u32(1_000_000);
        w.str("m");
        let err = CatalogueIndex::from_bytes(ENVELOPE.seal(&w.into_inner())).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        // Another model.
        let other = Encoder::from_bundle(tiny_bundle(Quant::F32, 3)).unwrap();
        assert!(matches!(
            index.check_model(&other),
            Err(Error::ModelMismatch { .. })
        ));
    }

    #[test]
    fn rejects_bad_catalogues() {
        let enc = encoder();
        let mut dup = items();
        dup[2].id = "a".into();
        assert!(matches!(
            CatalogueIndex::build(&enc, &dup, 10, |_, _| {}),
            Err(Error::DuplicateItem {
                line: 3,
                first_line: 1,
                ..
            })
        ));
        let mut neg = items();
        neg[1].popularity = Some(-3.0);
        assert!(matches!(
            CatalogueIndex::build(&enc, &neg, 10, |_, _| {}),
            Err(Error::CatalogueLine { line: 2, .. })
        ));
        let mut nan = items();
        nan[0].popularity = Some(f64::NAN);
        assert!(CatalogueIndex::build(&enc, &nan, 10, |_, _| {}).is_err());
        let mut missing = items();
        missing[3].text = None;
        assert!(CatalogueIndex::build(&enc, &missing, 10, |_, _| {}).is_err());
    }

    #[test]
    fn popularity_is_log_scaled() {
        assert_eq!(normalise_popularity(&[0.0, 0.0]), vec![0.0, 0.0]);
        let p = normalise_popularity(&[0.0, 9.0, 99.0]);
        assert_eq!(p[0], 0.0);
        assert_eq!(p[2], 1.0);
        assert!((p[1] - 0.5).abs() < 1e-6);
    }
}
