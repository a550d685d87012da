//! The profile's file format.
//!
//! Bytes: the common 32-byte header (magic `LRPROF\0\0`), then `model_id str,
//! dims u32, settings (f32 half-life days, u32 max interests, u32 max negatives,
//! u32 max signals, f32 threshold), signals (u32 count; each: u8 source kind,
//! i64 ts, f32 weight, f32 scale, dims × i8, str text, str item), u32 + strs
//! not-interested, u32 + strs seen`.

use std::collections::BTreeSet;

use crate::util::binary::{ByteReader, ByteWriter, ReadError};
use crate::util::envelope::Envelope;
use crate::util::error::{Error, FileKind, Result};

use super::{IntentProfile, ProfileSettings, Signal, SignalSource};

/// The first eight bytes of a serialised profile.
pub const PROFILE_MAGIC: [u8; 8] = *b"LRPROF\0\0";
/// The profile format version this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;

pub(super) const ENVELOPE: Envelope = Envelope {
    kind: FileKind::Profile,
    magic: PROFILE_MAGIC,
    version: PROFILE_VERSION,
};

impl IntentProfile {
    /// Serialises the profile (versioned, checksummed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new();
        w.str(&self.model_id);
        w.u32(self.dims as u32);
        w.f32(self.settings.half_life_days);
        w.u32(self.settings.max_interests as u32);
        w.u32(self.settings.max_negatives as u32);
        w.u32(self.settings.max_signals as u32);
        w.f32(self.settings.interest_threshold);
        w.u32(self.signals.len() as u32);
        for s in &self.signals {
            // A rejection keeps its concept where the others keep an item id.
            let (kind, text, item) = match &s.source {
                SignalSource::Said(t) => (0u8, t.as_str(), ""),
                SignalSource::Item(i) => (1, "", i.as_str()),
                SignalSource::Review { item, text } => (2, text.as_str(), item.as_str()),
                SignalSource::Rejected { concept, said } => (3, said.as_str(), concept.as_str()),
            };
            w.u8(kind);
            w.u64(s.ts as u64);
            w.f32(s.weight);
            w.f32(s.scale);
            w.bytes(bytemuck::cast_slice(&s.vector));
            w.str(text);
            w.str(item);
        }
        for set in [&self.not_interested, &self.seen] {
            w.u32(set.len() as u32);
            set.iter().for_each(|i| w.str(i));
        }
        ENVELOPE.seal(&w.into_inner())
    }

    /// Parses and validates profile bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let payload = ENVELOPE.open(bytes)?;
        let malformed = |e: ReadError| Error::Malformed {
            kind: FileKind::Profile,
            reason: e.to_string(),
        };
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::Profile,
            reason,
        };
        let mut r = ByteReader::new(payload);
        let model_id = r.str().map_err(malformed)?.to_string();
        let dims = r.u32().map_err(malformed)? as usize;
        if dims == 0 || dims > 65_536 {
            return Err(bad(format!("dimension {dims} is out of range")));
        }
        let settings = ProfileSettings {
            half_life_days: r.f32().map_err(malformed)?,
            max_interests: r.u32().map_err(malformed)? as usize,
            max_negatives: r.u32().map_err(malformed)? as usize,
            max_signals: r.u32().map_err(malformed)? as usize,
            interest_threshold: r.f32().map_err(malformed)?,
        };
        settings.validate().map_err(|e| bad(e.to_string()))?;
        let count = r.u32().map_err(malformed)? as usize;
        if count > settings.max_signals {
            return Err(bad(format!(
                "{count} signals, more than the profile's own limit of {}",
                settings.max_signals
            )));
        }
        if count.saturating_mul(dims + 25) > r.remaining() {
            return Err(bad(format!(
                "{count} signals do not fit in {} bytes",
                r.remaining()
            )));
        }
        let mut signals = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = r.u8().map_err(malformed)?;
            let ts = r.u64().map_err(malformed)? as i64;
            let weight = r.f32().map_err(malformed)?;
            let scale = r.f32().map_err(malformed)?;
            let vector: Vec<i8> = bytemuck::cast_slice(r.take(dims).map_err(malformed)?).to_vec();
            let text = r.str().map_err(malformed)?.to_string();
            let item = r.str().map_err(malformed)?.to_string();
            if !weight.is_finite() || !scale.is_finite() || scale < 0.0 {
                return Err(bad("a signal has a non-finite weight or scale".into()));
            }
            let source = match kind {
                0 => SignalSource::Said(text),
                1 => SignalSource::Item(item),
                2 => SignalSource::Review { item, text },
                3 => SignalSource::Rejected {
                    concept: item,
                    said: text,
                },
                k => return Err(bad(format!("unknown signal kind {k}"))),
            };
            if signals.last().is_some_and(|p: &Signal| p.ts > ts) {
                return Err(bad("signals are not in time order".into()));
            }
            signals.push(Signal {
                ts,
                weight,
                vector,
                scale,
                source,
            });
        }
        let mut sets = [BTreeSet::new(), BTreeSet::new()];
        for set in &mut sets {
            let n = r.u32().map_err(malformed)? as usize;
            if n.saturating_mul(4) > r.remaining() {
                return Err(bad(format!("{n} item ids do not fit")));
            }
            for _ in 0..n {
                set.insert(r.str().map_err(malformed)?.to_string());
            }
        }
        let [not_interested, mut seen] = sets;
        // "Not interested" is seen too (as `mark_not_interested` records it).
        seen.extend(not_interested.iter().cloned());
        if r.remaining() != 0 {
            return Err(bad(format!("{} unexpected trailing bytes", r.remaining())));
        }
        Ok(Self {
            model_id,
            dims,
            settings,
            signals,
            not_interested,
            seen,
        })
    }
}
