//! The optional sections after a catalogue index's records (format version 2):
//! what the index knows beyond its items — a compact-vector projection,
//! collaborative knowledge, the text / popularity weight learned for the
//! catalogue — read and written in one place.
//!
//! Layout: `u32 n`, then per section a 4-byte tag, `u32` section version,
//! `u64` length and its bytes; sections are written in the order below, and a
//! section with an unknown tag is skipped (a newer writer's).

use serde::{Deserialize, Serialize};

use crate::rec::collab::{self, CollabModel};
#[cfg(not(target_arch = "wasm32"))]
use crate::util::binary::ByteWriter;
use crate::util::binary::{ByteReader, ReadError};
use crate::util::error::{Error, FileKind, Result};

use super::projection::{self, Projection};

/// Tag of the learned text weight section.
pub const TEXT_BLEND_TAG: [u8; 4] = *b"TXBL";
/// The text weight section's own format version.
pub const TEXT_BLEND_VERSION: u32 = 1;

/// The text / popularity weight learned for a catalogue on the store's
/// validation users at index build, with what it was chosen on. Rankings of
/// visitors without collaborative knowledge use `alpha` unless the caller
/// gives one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextBlend {
    /// Weight of text relevance against popularity, in [0, 1].
    pub alpha: f32,
    /// Validation users it was learned on.
    pub validation_users: u32,
    /// Validation NDCG@10 with `alpha`.
    pub validation_ndcg: f32,
    /// Validation NDCG@10 of popularity alone.
    pub popularity_ndcg: f32,
    /// Validation NDCG@10 of text alone.
    pub text_ndcg: f32,
}

impl TextBlend {
    #[cfg(not(target_arch = "wasm32"))]
    fn write(&self, w: &mut ByteWriter) {
        w.f32(self.alpha);
        w.u32(self.validation_users);
        w.f32(self.validation_ndcg);
        w.f32(self.popularity_ndcg);
        w.f32(self.text_ndcg);
    }

    fn read(body: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason: format!("text weight section: {reason}"),
        };
        let mut r = ByteReader::new(body);
        let short = |e: ReadError| bad(e.to_string());
        let t = Self {
            alpha: r.f32().map_err(short)?,
            validation_users: r.u32().map_err(short)?,
            validation_ndcg: r.f32().map_err(short)?,
            popularity_ndcg: r.f32().map_err(short)?,
            text_ndcg: r.f32().map_err(short)?,
        };
        if r.remaining() != 0 {
            return Err(bad(format!("{} trailing bytes", r.remaining())));
        }
        if !(0.0..=1.0).contains(&t.alpha) {
            return Err(bad(format!("alpha {} is not in [0, 1]", t.alpha)));
        }
        if [t.validation_ndcg, t.popularity_ndcg, t.text_ndcg]
            .iter()
            .any(|x| !(0.0..=1.0).contains(x))
        {
            return Err(bad("an NDCG is not in [0, 1]".into()));
        }
        Ok(t)
    }
}

/// Everything an index may carry after its records.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sections {
    pub projection: Option<Projection>,
    pub collab: Option<CollabModel>,
    pub text_blend: Option<TextBlend>,
}

impl Sections {
    /// True when there is nothing to write (the index stays format version 1).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn is_empty(&self) -> bool {
        self.projection.is_none() && self.collab.is_none() && self.text_blend.is_none()
    }

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.projection.as_ref().map_or(0, Projection::memory_bytes)
            + self.collab.as_ref().map_or(0, CollabModel::memory_bytes)
    }

    /// Appends the sections (count first).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn write(&self, w: &mut ByteWriter) {
        let mut bodies: Vec<([u8; 4], u32, Vec<u8>)> = Vec::new();
        let body = |f: &dyn Fn(&mut ByteWriter)| {
            let mut b = ByteWriter::new();
            f(&mut b);
            b.into_inner()
        };
        if let Some(p) = &self.projection {
            let b = body(&|w| p.write(w));
            bodies.push((projection::SECTION_TAG, projection::SECTION_VERSION, b));
        }
        if let Some(c) = &self.collab {
            let b = body(&|w| c.write(w));
            bodies.push((collab::SECTION_TAG, c.section_version(), b));
        }
        if let Some(t) = &self.text_blend {
            let b = body(&|w| t.write(w));
            bodies.push((TEXT_BLEND_TAG, TEXT_BLEND_VERSION, b));
        }
        w.u32(bodies.len() as u32);
        for (tag, version, b) in bodies {
            w.bytes(&tag);
            w.u32(version);
            w.u64(b.len() as u64);
            w.bytes(&b);
        }
    }

    /// Reads the sections of an index of `items` items storing `dims` values a vector.
    pub fn read(r: &mut ByteReader<'_>, items: usize, dims: usize) -> Result<Self> {
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason,
        };
        let malformed = |e: ReadError| bad(format!("sections: {e}"));
        let n = r.u32().map_err(malformed)?;
        let mut s = Sections::default();
        for _ in 0..n {
            let tag: [u8; 4] = r
                .take(4)
                .map_err(malformed)?
                .try_into()
                .map_err(|_| bad("sections: a short tag".into()))?;
            let version = r.u32().map_err(malformed)?;
            let len = usize::try_from(r.u64().map_err(malformed)?).unwrap_or(usize::MAX);
            let body = r.take(len).map_err(malformed)?;
            let (name, supported) = match tag {
                projection::SECTION_TAG => ("projection", projection::SECTION_VERSION),
                collab::SECTION_TAG => ("collaborative", collab::SECTION_VERSION),
                TEXT_BLEND_TAG => ("text weight", TEXT_BLEND_VERSION),
                _ => continue, // a newer writer's section this build does not use
            };
            // Collaborative sections are read back to version 1.
            let oldest = if tag == collab::SECTION_TAG {
                1
            } else {
                supported
            };
            if !(oldest..=supported).contains(&version) {
                return Err(bad(format!(
                    "{name} section version {version} is not supported (this build reads {supported})"
                )));
            }
            let twice = || bad(format!("two {name} sections"));
            match tag {
                projection::SECTION_TAG => {
                    if s.projection.is_some() {
                        return Err(twice());
                    }
                    s.projection = Some(Projection::read(body, dims)?);
                }
                collab::SECTION_TAG => {
                    if s.collab.is_some() {
                        return Err(twice());
                    }
                    s.collab = Some(CollabModel::read(body, items, version)?);
                }
                _ => {
                    if s.text_blend.is_some() {
                        return Err(twice());
                    }
                    s.text_blend = Some(TextBlend::read(body)?);
                }
            }
        }
        Ok(s)
    }
}
