//! The catalogue index: one versioned, checksummed file with every item's int8
//! embedding, its normalised popularity, and the fields needed to show and
//! filter it — compact enough that 100k items fit in about 45 MB of memory.
//!
//! Payload (after the common 32-byte header, magic `LRINDEX\0`):
//! `dims u32, count u32, model_id str`; three string tables (categories, tags,
//! attribute keys: `u32 n` + strings); `count` f32 scales, `count` f32
//! normalised popularities, `count` f32 prices (NaN = none); `count × dims`
//! int8 values; then one record per item: `id, title, snippet, url` (varint
//! length + UTF-8; "" = none), category (varint, 0 = none, else table index + 1),
//! tags (varint count + table indices), attributes (varint count + (key index,
//! u8 kind, f64 | string)). Table strings are u32-length-prefixed.
//!
//! Version 2 (written only when the index carries more than its items)
//! appends [`sections`] after the records: a [`projection`] when the vectors
//! are compact (`dims` is then the stored width, fewer than the model's),
//! collaborative knowledge ([`crate::rec::collab`]), the learned text weight.
//! A section with an unknown tag is skipped. An index with none of them is
//! written as version 1, byte for byte as before.
//!
//! Loading keeps the file's bytes: vectors and strings are read in place (no
//! copy); only small per-item columns (record offsets, category, price, tags,
//! attributes, the id order) are built, so filters run without decoding records.

pub mod projection;
pub(crate) mod sections;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use crate::cpu::score::{ItemMatrix, Query};
use crate::rec::catalogue::AttributeValue;
use crate::rec::collab::CollabModel;
use crate::util::binary::{ByteReader, ReadError};
use crate::util::envelope::{Envelope, HEADER_LEN};
use crate::util::error::{Error, FileKind, Result};

/// The first eight bytes of a catalogue index.
pub const INDEX_MAGIC: [u8; 8] = *b"LRINDEX\0";
/// The newest index format version this build writes and reads (it reads every
/// version from 1: version 1 has no sections, version 3 names the display
/// strings and columns it stores).
pub const INDEX_VERSION: u32 = 3;
/// The format version of an index without sections.
const PLAIN_VERSION: u32 = 1;
/// The format version of an index with sections and every field.
const SECTIONS_VERSION: u32 = 2;
/// Characters of an item's text kept for display.
pub const DEFAULT_SNIPPET_CHARS: usize = 240;

pub use projection::Projection;
use sections::Sections;
pub use sections::TextBlend;

pub(crate) const ENVELOPE: Envelope = Envelope {
    kind: FileKind::CatalogueIndex,
    magic: INDEX_MAGIC,
    version: INDEX_VERSION,
};
/// The envelope an index is sealed in: the oldest version that can say what
/// it holds, so indexes without the newer parts stay readable by older builds.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn envelope_for(fields: StoredFields, has_sections: bool) -> Envelope {
    let version = match (fields == StoredFields::ALL, has_sections) {
        (true, false) => PLAIN_VERSION,
        (true, true) => SECTIONS_VERSION,
        (false, _) => INDEX_VERSION,
    };
    Envelope {
        version,
        ..ENVELOPE
    }
}

/// Which optional display strings and columns an index stores (a bit set,
/// written in format version 3; older versions store every one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredFields(u32);

impl StoredFields {
    /// Titles in the records.
    pub const TITLES: Self = Self(1);
    /// Text snippets in the records.
    pub const SNIPPETS: Self = Self(2);
    /// Links in the records.
    pub const URLS: Self = Self(4);
    /// The price column.
    pub const PRICES: Self = Self(8);
    /// Everything (what versions 1 and 2 store).
    pub const ALL: Self = Self(15);
    /// None of the optional fields: ids, categories, tags, attributes and popularity only.
    pub const NONE: Self = Self(0);

    /// Does this set hold every field of `other`?
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// This set without `other`'s fields.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
    /// The bits as written.
    pub fn bits(self) -> u32 {
        self.0
    }
    /// Reads written bits; unknown bits are refused.
    fn from_bits(bits: u32) -> Option<Self> {
        (bits & !Self::ALL.0 == 0).then_some(Self(bits))
    }
}
const NONE: u32 = u32::MAX;

/// An item's display and filter fields, decoded from the index.
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
    pub price: Option<f32>,
    /// Normalised popularity (0..=1).
    pub popularity: f32,
    /// Link.
    pub url: Option<String>,
    /// Filterable attributes.
    pub attributes: BTreeMap<String, AttributeValue>,
}

/// An attribute value as stored: a number, or a string in the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attribute<'a> {
    /// A number.
    Number(f64),
    /// A string.
    Text(&'a str),
}

/// A column of f32 values: read in place from the file bytes when they are
/// 4-byte aligned in memory (the usual case), else copied once at load.
#[derive(Debug, Clone)]
enum Column {
    InPlace(Range<usize>),
    Owned(Vec<f32>),
}

impl Column {
    fn new(bytes: &[u8], range: Range<usize>) -> Self {
        match bytemuck::try_cast_slice::<u8, f32>(&bytes[range.clone()]) {
            Ok(_) if cfg!(target_endian = "little") => Column::InPlace(range),
            _ => Column::Owned(
                bytes[range]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
        }
    }
    fn get<'a>(&'a self, bytes: &'a [u8]) -> &'a [f32] {
        match self {
            Column::InPlace(r) => bytemuck::try_cast_slice(&bytes[r.clone()]).unwrap_or(&[]),
            Column::Owned(v) => v,
        }
    }
    fn heap(&self) -> usize {
        match self {
            Column::InPlace(_) => 0,
            Column::Owned(v) => 4 * v.capacity(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Number(f64),
    Text { start: u32, len: u32 },
}

/// A loaded catalogue index.
#[derive(Debug, Clone)]
pub struct CatalogueIndex {
    bytes: Vec<u8>,
    vectors: Range<usize>,
    /// Stored values a vector (fewer than the model's when compact).
    dims: usize,
    model_id: String,
    scales: Column,
    popularity: Column,
    price: Column,
    categories: Vec<String>,
    tags: Vec<String>,
    attribute_keys: Vec<String>,
    /// Byte offset of each item's record.
    records: Vec<u32>,
    category: Vec<u32>,
    tag_start: Vec<u32>,
    tag_ids: Vec<u32>,
    attr_start: Vec<u32>,
    attrs: Vec<(u32, Slot)>,
    /// Item positions sorted by id, for lookups.
    by_id: Vec<u32>,
    /// The file's format version.
    version: u32,
    /// The optional strings and columns it stores.
    fields: StoredFields,
    /// Payload bytes before any section (read when index building adds one).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    plain_len: usize,
    /// Projection, collaborative knowledge, learned text weight.
    sections: Sections,
}

impl CatalogueIndex {
    /// The payload before any section: the catalogue without collaborative knowledge.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn plain_payload(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..HEADER_LEN + self.plain_len]
    }

    /// Validates index bytes and loads them, keeping the bytes (vectors and strings are read in place).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let (version, payload) = ENVELOPE.open_since(&bytes, PLAIN_VERSION)?;
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason,
        };
        let malformed = |e: ReadError| bad(e.to_string());
        let mut r = ByteReader::new(payload);
        let dims = r.u32().map_err(malformed)? as usize;
        let count = r.u32().map_err(malformed)? as usize;
        let model_id = r.str().map_err(malformed)?.to_string();
        let fields = if version >= INDEX_VERSION {
            let bits = r.u32().map_err(malformed)?;
            StoredFields::from_bits(bits)
                .ok_or_else(|| bad(format!("unknown stored fields {bits:#x}")))?
        } else {
            StoredFields::ALL
        };
        let has_prices = fields.contains(StoredFields::PRICES);
        let strings = [
            StoredFields::TITLES,
            StoredFields::SNIPPETS,
            StoredFields::URLS,
        ]
        .into_iter()
        .filter(|&f| fields.contains(f))
        .count();
        if dims == 0 || dims > 65_536 {
            return Err(bad(format!("dimension {dims} is out of range")));
        }
        let table = |r: &mut ByteReader<'_>| -> Result<Vec<String>> {
            let n = r.u32().map_err(malformed)? as usize;
            if n.saturating_mul(4) > r.remaining() {
                return Err(bad(format!("a table of {n} strings does not fit")));
            }
            (0..n)
                .map(|_| Ok(r.str().map_err(malformed)?.to_string()))
                .collect()
        };
        let categories = table(&mut r)?;
        let tags = table(&mut r)?;
        let attribute_keys = table(&mut r)?;
        // Each item needs dims bytes, 4 a column, and a record of at least
        // 5 bytes + 1 a stored string.
        let least = dims + if has_prices { 12 } else { 8 } + 5 + strings;
        if count.saturating_mul(least) > r.remaining() {
            return Err(bad(format!(
                "{count} items of {dims} dims do not fit in {} bytes",
                r.remaining()
            )));
        }
        while !(HEADER_LEN + r.position()).is_multiple_of(4) {
            r.u8().map_err(malformed)?;
        }
        let column = |r: &mut ByteReader<'_>| -> Result<Column> {
            let at = HEADER_LEN + r.position();
            r.take(4 * count).map_err(malformed)?;
            Ok(Column::new(&bytes, at..at + 4 * count))
        };
        let scales = column(&mut r)?;
        let popularity = column(&mut r)?;
        let price = if has_prices {
            column(&mut r)?
        } else {
            Column::Owned(Vec::new())
        };
        if scales
            .get(&bytes)
            .iter()
            .chain(popularity.get(&bytes))
            .any(|x| !x.is_finite() || *x < 0.0)
        {
            return Err(bad("a scale or popularity is negative or not finite".into()));
        }
        let start = HEADER_LEN + r.position();
        r.take(count * dims).map_err(malformed)?;
        let vectors = start..start + count * dims;

        let mut records = Vec::with_capacity(count);
        let mut category: Vec<u32> = Vec::with_capacity(count);
        let mut tag_start = Vec::with_capacity(count + 1);
        let mut tag_ids = Vec::new();
        let mut attr_start = Vec::with_capacity(count + 1);
        let mut attrs = Vec::new();
        let index_of = |v: u64, len: usize, what: &str| -> Result<u32> {
            usize::try_from(v)
                .ok()
                .filter(|&i| i < len)
                .map(|i| i as u32)
                .ok_or_else(|| bad(format!("{what} index {v} is out of range")))
        };
        let mut ids: Vec<&str> = Vec::with_capacity(count);
        for _ in 0..count {
            records.push((HEADER_LEN + r.position()) as u32);
            ids.push(r.vstr().map_err(malformed)?);
            for _ in 0..strings {
                r.vstr().map_err(malformed)?; // title, snippet, url: validated UTF-8
            }
            category.push(match r.varint().map_err(malformed)? {
                0 => NONE,
                c => index_of(c - 1, categories.len(), "category")?,
            });
            tag_start.push(tag_ids.len() as u32);
            let n = r.varint().map_err(malformed)?;
            for _ in 0..n.min(r.remaining() as u64 + 1) {
                tag_ids.push(index_of(r.varint().map_err(malformed)?, tags.len(), "tag")?);
            }
            attr_start.push(attrs.len() as u32);
            let n = r.varint().map_err(malformed)?;
            for _ in 0..n.min(r.remaining() as u64 + 1) {
                let key = index_of(
                    r.varint().map_err(malformed)?,
                    attribute_keys.len(),
                    "attribute key",
                )?;
                let slot = match r.u8().map_err(malformed)? {
                    0 => Slot::Number(r.f64().map_err(malformed)?),
                    1 => {
                        let s = r.vstr().map_err(malformed)?;
                        let end = HEADER_LEN + r.position();
                        Slot::Text {
                            start: (end - s.len()) as u32,
                            len: s.len() as u32,
                        }
                    }
                    k => return Err(bad(format!("unknown attribute kind {k}"))),
                };
                attrs.push((key, slot));
            }
        }
        tag_start.push(tag_ids.len() as u32);
        attr_start.push(attrs.len() as u32);
        // Columns nobody uses take no memory.
        if tag_ids.is_empty() {
            tag_start = Vec::new();
        }
        if attrs.is_empty() {
            attr_start = Vec::new();
        }
        if category.iter().all(|&c| c == NONE) {
            category = Vec::new();
        }
        let plain_len = r.position();
        let sections = if version >= SECTIONS_VERSION {
            Sections::read(&mut r, count, dims)?
        } else {
            Sections::default()
        };
        if r.remaining() != 0 {
            return Err(bad(format!("{} unexpected trailing bytes", r.remaining())));
        }
        let mut by_id: Vec<u32> = (0..count as u32).collect();
        by_id.sort_unstable_by(|&a, &b| ids[a as usize].cmp(ids[b as usize]));
        if let Some(w) = by_id
            .windows(2)
            .find(|w| ids[w[0] as usize] == ids[w[1] as usize])
        {
            return Err(bad(format!("duplicate item id `{}`", ids[w[0] as usize])));
        }
        drop(ids);
        Ok(Self {
            bytes,
            vectors,
            dims,
            model_id,
            scales,
            popularity,
            price,
            categories,
            tags,
            attribute_keys,
            records,
            category,
            tag_start,
            tag_ids,
            attr_start,
            attrs,
            by_id,
            version,
            fields,
            plain_len,
            sections,
        })
    }

    /// The sections after the records.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn sections(&self) -> &Sections {
        &self.sections
    }

    /// The same catalogue with other stored vectors (`dims` int8 values and
    /// a scale per item, in item order) and projection; every other byte kept.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn with_vectors(
        &self,
        dims: usize,
        values: &[i8],
        scales: &[f32],
        projection: Option<Projection>,
    ) -> Result<Self> {
        let count = self.len();
        if scales.len() != count || values.len() != count * dims {
            return Err(Error::InvalidInput {
                what: "vectors",
                reason: format!(
                    "{} values and {} scales for {count} items of {dims}",
                    values.len(),
                    scales.len()
                ),
            });
        }
        // Payload layout: dims u32 | count, model id, (fields,) tables, padding |
        // scales | popularity(, price) | vectors | records | sections.
        let width = if self.fields.contains(StoredFields::PRICES) {
            12
        } else {
            8
        };
        let columns = self.vectors.start - width * count;
        let mut w = crate::util::binary::ByteWriter::new();
        w.u32(dims as u32);
        w.bytes(&self.bytes[HEADER_LEN + 4..columns]);
        scales.iter().for_each(|&s| w.f32(s));
        w.bytes(&self.bytes[columns + 4 * count..self.vectors.start]);
        w.bytes(bytemuck::cast_slice(values));
        w.bytes(&self.bytes[self.vectors.end..HEADER_LEN + self.plain_len]);
        let mut sections = self.sections.clone();
        sections.projection = projection;
        self.reseal(w, &sections)
    }

    /// Seals a payload that starts with this index's plain part (as rewritten
    /// by the caller), appending `sections` when the version has them.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn reseal(
        &self,
        mut w: crate::util::binary::ByteWriter,
        sections: &Sections,
    ) -> Result<Self> {
        let envelope = envelope_for(self.fields, !sections.is_empty());
        if envelope.version >= SECTIONS_VERSION {
            sections.write(&mut w);
        }
        Self::from_bytes(envelope.seal(&w.into_inner()))
    }

    /// The optional strings and columns this index stores.
    pub fn stored_fields(&self) -> StoredFields {
        self.fields
    }

    /// The file's format version (1: no sections).
    pub fn format_version(&self) -> u32 {
        self.version
    }
    /// The collaborative knowledge, if the index was built with interactions.
    pub fn collab(&self) -> Option<&CollabModel> {
        self.sections.collab.as_ref()
    }
    /// The text / popularity weight learned for this catalogue at build, if any.
    pub fn text_blend(&self) -> Option<TextBlend> {
        self.sections.text_blend
    }
    /// The projection of compact vectors (none: the model's full vectors are stored).
    pub fn projection(&self) -> Option<&Projection> {
        self.sections.projection.as_ref()
    }
    /// Bytes stored per item vector (its int8 values; the model's width unless compact).
    pub fn vector_bytes(&self) -> usize {
        self.dims
    }

    /// Heap memory this index holds: its file bytes and its columns.
    pub fn memory_bytes(&self) -> usize {
        let strings = |v: &[String]| {
            v.iter()
                .map(|s| s.capacity() + std::mem::size_of::<String>())
                .sum::<usize>()
        };
        self.bytes.capacity()
            + self.scales.heap()
            + self.popularity.heap()
            + self.price.heap()
            + 4 * (self.records.capacity() + self.category.capacity() + self.by_id.capacity())
            + 4 * (self.tag_start.capacity() + self.tag_ids.capacity() + self.attr_start.capacity())
            + std::mem::size_of::<(u32, Slot)>() * self.attrs.capacity()
            + strings(&self.categories)
            + strings(&self.tags)
            + strings(&self.attribute_keys)
            + self.model_id.capacity()
            + self.sections.memory_bytes()
    }

    /// The index file bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// The CRC-32 of the index payload (from its header): a fingerprint of the catalogue.
    pub fn checksum(&self) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[24..28]);
        u32::from_le_bytes(b)
    }
    /// True when the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// The model's embedding dimensions (what queries and [`vector`](Self::vector) have).
    pub fn dims(&self) -> usize {
        self.projection().map_or(self.dims, Projection::model_dims)
    }
    /// The model the vectors were made with.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The record of item `i` as a reader positioned at its start.
    fn record(&self, i: usize) -> ByteReader<'_> {
        let mut r = ByteReader::new(&self.bytes);
        // Offsets were checked at load; an out-of-range `i` reads an empty record.
        let at = self
            .records
            .get(i)
            .map_or(self.bytes.len(), |&o| o as usize);
        let _ = r.seek(at);
        r
    }

    /// Item `i`'s id ("" past the end).
    pub fn id(&self, i: usize) -> &str {
        self.record(i).vstr().unwrap_or("")
    }
    /// Item `i`'s title ("" past the end or when the index stores none).
    pub fn title(&self, i: usize) -> &str {
        self.strings(i)[1]
    }
    /// Item `i`'s id, title, snippet and link ("" where absent).
    fn strings(&self, i: usize) -> [&str; 4] {
        let mut r = self.record(i);
        let mut out = [""; 4];
        out[0] = r.vstr().unwrap_or("");
        let present = [
            StoredFields::TITLES,
            StoredFields::SNIPPETS,
            StoredFields::URLS,
        ];
        for (slot, f) in out[1..].iter_mut().zip(present) {
            if self.fields.contains(f) {
                *slot = r.vstr().unwrap_or("");
            }
        }
        out
    }
    /// Item `i`'s category.
    pub fn category(&self, i: usize) -> Option<&str> {
        self.category_id(i)
            .and_then(|c| self.categories.get(c as usize))
            .map(String::as_str)
    }
    /// Item `i`'s category as a table index.
    pub fn category_id(&self, i: usize) -> Option<u32> {
        self.category.get(i).copied().filter(|&c| c != NONE)
    }
    /// Table index of a category name.
    pub fn category_named(&self, name: &str) -> Option<u32> {
        self.categories
            .iter()
            .position(|c| c == name)
            .map(|p| p as u32)
    }
    /// Every category name.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }
    /// Item `i`'s tags as table indices.
    pub fn tag_ids(&self, i: usize) -> &[u32] {
        match (self.tag_start.get(i), self.tag_start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.tag_ids[a as usize..b as usize],
            _ => &[],
        }
    }
    /// Every tag name.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// Table index of a tag.
    pub fn tag_named(&self, name: &str) -> Option<u32> {
        self.tags.iter().position(|t| t == name).map(|p| p as u32)
    }
    /// Item `i`'s price.
    pub fn price(&self, i: usize) -> Option<f32> {
        self.price
            .get(&self.bytes)
            .get(i)
            .copied()
            .filter(|p| !p.is_nan())
    }
    /// Table index of an attribute name.
    pub fn attribute_named(&self, name: &str) -> Option<u32> {
        self.attribute_keys
            .iter()
            .position(|k| k == name)
            .map(|p| p as u32)
    }
    /// Item `i`'s value of attribute `key` (a table index).
    pub fn attribute(&self, i: usize, key: u32) -> Option<Attribute<'_>> {
        let (a, b) = (*self.attr_start.get(i)?, *self.attr_start.get(i + 1)?);
        let (_, slot) = self.attrs[a as usize..b as usize]
            .iter()
            .find(|(k, _)| *k == key)?;
        Some(match *slot {
            Slot::Number(x) => Attribute::Number(x),
            Slot::Text { start, len } => Attribute::Text(
                std::str::from_utf8(&self.bytes[start as usize..(start + len) as usize])
                    .unwrap_or(""),
            ),
        })
    }

    /// Item `i` decoded in full, or `None` past the end.
    pub fn item(&self, i: usize) -> Option<IndexedItem> {
        if i >= self.len() {
            return None;
        }
        let [id, title, snippet, url] = self.strings(i).map(str::to_string);
        let (a, b) = match (self.attr_start.get(i), self.attr_start.get(i + 1)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        };
        let attributes = (a..b)
            .filter_map(|a| {
                let (key, _) = self.attrs[a as usize];
                let value = match self.attribute(i, key)? {
                    Attribute::Number(x) => AttributeValue::Number(x),
                    Attribute::Text(s) => AttributeValue::Text(s.to_string()),
                };
                Some((self.attribute_keys[key as usize].clone(), value))
            })
            .collect();
        Some(IndexedItem {
            id,
            title,
            snippet,
            category: self.category(i).map(str::to_string),
            tags: self
                .tag_ids(i)
                .iter()
                .map(|&t| self.tags[t as usize].clone())
                .collect(),
            price: self.price(i),
            popularity: self.popularity()[i],
            url: Some(url).filter(|u| !u.is_empty()),
            attributes,
        })
    }

    /// Position of an item id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id
            .binary_search_by(|&p| self.id(p as usize).cmp(id))
            .ok()
            .map(|k| self.by_id[k] as usize)
    }
    /// Position of an item id, or [`Error::UnknownItem`].
    pub fn require(&self, id: &str) -> Result<usize> {
        self.position(id)
            .ok_or_else(|| Error::UnknownItem(id.to_string()))
    }
    /// Normalised popularity (0..=1, log-scaled) of every item.
    pub fn popularity(&self) -> &[f32] {
        self.popularity.get(&self.bytes)
    }
    /// The stored int8 vectors and scales, borrowed from the file bytes: the
    /// model's vectors, or their compact coordinates (score them with
    /// [`query`](Self::query) directions).
    pub fn matrix(&self) -> ItemMatrix<'_> {
        ItemMatrix {
            values: bytemuck::cast_slice(&self.bytes[self.vectors.clone()]),
            scales: self.scales.get(&self.bytes),
            dims: self.dims,
        }
    }
    /// A model-space direction in the stored space: projected when the
    /// vectors are compact, else as it is.
    pub fn project<'a>(&self, v: &'a [f32]) -> Cow<'a, [f32]> {
        match self.projection() {
            Some(p) => Cow::Owned(p.project(v)),
            None => Cow::Borrowed(v),
        }
    }
    /// A model-space direction prepared to score [`matrix`](Self::matrix).
    pub fn query(&self, v: &[f32]) -> Query {
        Query::new(&self.project(v))
    }
    /// Item `i`'s vector in the model's space as floats (unit length up to
    /// int8 rounding; compact vectors give their projection onto the kept
    /// subspace); empty past the end.
    pub fn vector(&self, i: usize) -> Vec<f32> {
        if i >= self.len() {
            return Vec::new();
        }
        let m = self.matrix();
        let stored = crate::cpu::score::dequantize(m.row(i), m.scales[i]);
        match self.projection() {
            Some(p) => p.reconstruct(&stored),
            None => stored,
        }
    }
    /// Fails with [`Error::ModelMismatch`] unless the index was made with the
    /// model `model_id`, whose vectors have `dims` values.
    pub fn check_model(&self, model_id: &str, dims: usize) -> Result<()> {
        if self.model_id != model_id || self.dims() != dims {
            return Err(Error::ModelMismatch {
                kind: FileKind::CatalogueIndex,
                expected: model_id.to_string(),
                expected_dims: dims,
                found: self.model_id.clone(),
                found_dims: self.dims(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::model::bundle::Quant;
    use crate::offline::index_build::normalise_popularity;
    use crate::rec::catalogue::CatalogueItem;
    use crate::testing::tiny_bundle;
    use crate::util::binary::ByteWriter;

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
        for i in 0..4 {
            assert_eq!(again.item(i), index.item(i));
            assert_eq!(again.id(i), items()[i].id);
            assert_eq!(again.title(i), items()[i].title);
        }
        assert_eq!(again.item(4), None);
        assert_eq!(again.id(99), "");
        assert_eq!(again.category(1), Some("comedy"));
        assert_eq!(again.category_id(1), again.category_id(3));
        assert_eq!(again.tag_ids(0), &[again.tag_named("tag-war").unwrap()]);
        let year = again.attribute_named("year").unwrap();
        assert_eq!(again.attribute(2, year), Some(Attribute::Number(2001.0)));
        assert_eq!(again.popularity(), index.popularity());
        let a = again.item(again.require("a").unwrap()).unwrap();
        assert_eq!(a.url.as_deref(), Some("https://example.org/a"));
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
        again.check_model(enc.model_id(), enc.dims()).unwrap();
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
        for _ in 0..3 {
            w.u32(0);
        }
        let err =
            CatalogueIndex::from_bytes(envelope_for(StoredFields::ALL, true).seal(&w.into_inner()))
                .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        // Another model.
        let other = Encoder::from_bundle(tiny_bundle(Quant::F32, 3)).unwrap();
        assert!(matches!(
            index.check_model(other.model_id(), other.dims()),
            Err(Error::ModelMismatch { .. })
        ));
    }

    fn collab_model(items: usize) -> CollabModel {
        crate::rec::collab::tests::model(items, 3)
    }

    #[test]
    fn collaborative_section_round_trips_and_plain_indexes_stay_version_1() {
        let enc = encoder();
        let plain = CatalogueIndex::build(&enc, &items(), 100, |_, _| {}).unwrap();
        assert_eq!(plain.format_version(), 1);
        assert!(plain.collab().is_none());
        // A version-1 file: the header says 1 and the payload has no sections.
        assert_eq!(&plain.as_bytes()[8..12], &1u32.to_le_bytes());
        let model = collab_model(4);
        let rich = plain.clone().with_collab(model.clone()).unwrap();
        assert_eq!(rich.format_version(), 2);
        let again = CatalogueIndex::from_bytes(rich.as_bytes().to_vec()).unwrap();
        assert_eq!(again.collab(), Some(&model));
        for i in 0..4 {
            assert_eq!(again.item(i), plain.item(i));
        }
        assert!(again.memory_bytes() > plain.memory_bytes());
        // Replacing the knowledge keeps one section; dropping back is the plain payload.
        let twice = again.with_collab(model).unwrap();
        assert_eq!(twice.as_bytes().len(), rich.as_bytes().len());
        assert!(matches!(
            plain.clone().with_collab(collab_model(5)),
            Err(Error::InvalidInput { .. })
        ));
    }

    #[test]
    fn damaged_collaborative_sections_are_typed_errors() {
        let enc = encoder();
        let plain = CatalogueIndex::build(&enc, &items(), 100, |_, _| {}).unwrap();
        let rich = plain.clone().with_collab(collab_model(4)).unwrap();
        let payload = &rich.as_bytes()[HEADER_LEN..];
        let plain_len = plain.as_bytes().len() - HEADER_LEN;
        // Re-seal edited payloads so the checksum passes and the section check must catch them.
        let sealed = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut p = payload.to_vec();
            edit(&mut p);
            CatalogueIndex::from_bytes(envelope_for(StoredFields::ALL, true).seal(&p))
        };
        let malformed = |r: Result<CatalogueIndex>| {
            matches!(
                r,
                Err(Error::Malformed {
                    kind: FileKind::CatalogueIndex,
                    ..
                })
            )
        };
        let body = plain_len + 4 + 4 + 4 + 8; // count, tag, version, length
        let u32_at = |at: usize, v: u32| {
            move |p: &mut Vec<u8>| p[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        type Damage = Box<dyn Fn(&mut Vec<u8>)>;
        let damage: [(&str, Damage); 6] = [
            (
                "truncated body",
                Box::new(|p: &mut Vec<u8>| p.truncate(p.len() - 1)),
            ),
            (
                "truncated section header",
                Box::new(move |p: &mut Vec<u8>| p.truncate(plain_len + 2)),
            ),
            ("wrong item count", Box::new(u32_at(body + 4, 9))),
            ("wrong dimension", Box::new(u32_at(body, 2))),
            (
                "unknown section version",
                Box::new(u32_at(plain_len + 8, 7)),
            ),
            ("a missing second section", Box::new(u32_at(plain_len, 2))),
        ];
        for (what, edit) in &damage {
            assert!(malformed(sealed(edit.as_ref())), "{what}");
        }
        // An unknown section is skipped: the index loads without knowledge.
        let skipped =
            sealed(&|p| p[plain_len + 4..plain_len + 8].copy_from_slice(b"NEWS")).unwrap();
        assert!(skipped.collab().is_none());
        // A flipped byte without re-sealing is a checksum error; a cut file is truncated.
        let mut flipped = rich.as_bytes().to_vec();
        let n = flipped.len();
        flipped[n - 3] ^= 0x40;
        assert!(matches!(
            CatalogueIndex::from_bytes(flipped),
            Err(Error::ChecksumMismatch { .. })
        ));
        let cut = rich.as_bytes()[..rich.as_bytes().len() - 10].to_vec();
        assert!(matches!(
            CatalogueIndex::from_bytes(cut),
            Err(Error::Truncated { .. })
        ));
        // A future index version is refused.
        let mut future = rich.as_bytes().to_vec();
        future[8..12].copy_from_slice(&4u32.to_le_bytes());
        assert!(matches!(
            CatalogueIndex::from_bytes(future),
            Err(Error::UnsupportedVersion {
                found: 4,
                supported: 3,
                ..
            })
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
    fn columns_read_in_place_or_copy_when_misaligned() {
        let mut bytes = vec![0u8; 12];
        bytes[1..5].copy_from_slice(&1.5f32.to_le_bytes());
        bytes[8..12].copy_from_slice(&2.5f32.to_le_bytes());
        let misaligned = Column::new(&bytes, 1..5);
        assert_eq!(misaligned.get(&bytes), &[1.5]);
        let aligned = Column::new(&bytes, 8..12);
        assert_eq!(aligned.get(&bytes), &[2.5]);
        // A Vec<u8> allocation is at least 4-aligned here, so one of the two is in place.
        assert!(matches!(aligned, Column::InPlace(_)) || matches!(misaligned, Column::InPlace(_)));
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

/// Indexes written before format 3 still load and read as a build of today does.
#[cfg(test)]
mod compat_tests {
    use std::io::{BufRead, BufReader};

    use super::*;
    use crate::encoder::Encoder;
    use crate::model::bundle::Quant;
    use crate::rec::catalogue::read_catalogue;

    /// `tests/fixtures/films-40-v1.lri`: the first 40 films of `data/films`
    /// indexed with the tiny int8 model (seed 1), 120-character snippets, by
    /// the index writer of 2026-12-02 before format 3 (version 1).
    const OLD_V1: &[u8] = include_bytes!("../../../tests/fixtures/films-40-v1.lri");

    #[test]
    fn a_version_1_index_of_the_previous_writer_loads_and_matches_a_new_build() {
        let old = CatalogueIndex::from_bytes(OLD_V1.to_vec()).unwrap();
        assert_eq!((old.format_version(), old.len()), (1, 40));
        assert_eq!(old.stored_fields(), StoredFields::ALL);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/films/films.jsonl.gz");
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap());
        let lines: Vec<String> = BufReader::new(gz)
            .lines()
            .take(40)
            .map(|l| l.unwrap())
            .collect();
        let items = read_catalogue(lines.join("\n").as_bytes()).unwrap();
        let encoder = Encoder::from_bundle(crate::testing::tiny_bundle(Quant::Int8, 1)).unwrap();
        let new = CatalogueIndex::build(&encoder, &items, 120, |_, _| {}).unwrap();
        assert_eq!(new.model_id(), old.model_id());
        for i in 0..40 {
            assert_eq!(old.item(i), new.item(i), "item {i}");
            assert_eq!(old.vector(i), new.vector(i), "vector {i}");
        }
        assert_eq!(old.popularity(), new.popularity());
    }
}
