//! The private intent profile: what the user's feedback says they want, kept
//! on the device, serialisable to a few kilobytes.
//!
//! The profile stores *signals* — a direction in embedding space (int8), a
//! signed weight, a time and where it came from (a text the user wrote, or an
//! item) — plus the items marked "not interested" and the items already
//! touched. At ranking time, weights decay with a configurable half-life and
//! the signals are grouped into a few positive *interests* and negative
//! directions (leader clustering), so that a user who loves both cooking and
//! cycling gets both, not their mean.
//!
//! Bytes: the common 32-byte header (magic `LRPROF\0\0`), then `model_id str,
//! dims u32, settings (f32 half-life days, u32 max interests, u32 max negatives,
//! u32 max signals, f32 threshold), signals (u32 count; each: u8 source kind,
//! i64 ts, f32 weight, f32 scale, dims × i8, str text, str item), u32 + strs
//! not-interested, u32 + strs touched`.

use std::collections::BTreeSet;

use crate::cpu::score::{dequantize, quantize};
use crate::rec::catalogue::snippet;
use crate::util::binary::{ByteReader, ByteWriter, ReadError};
use crate::util::envelope::Envelope;
use crate::util::error::{Error, FileKind, Result};

/// The first eight bytes of a serialised profile.
pub const PROFILE_MAGIC: [u8; 8] = *b"LRPROF\0\0";
/// The profile format version this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;
/// Characters of feedback text kept to explain recommendations.
pub const SNIPPET_CHARS: usize = 120;

const ENVELOPE: Envelope = Envelope {
    kind: FileKind::Profile,
    magic: PROFILE_MAGIC,
    version: PROFILE_VERSION,
};

/// How the profile weighs and groups feedback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProfileSettings {
    /// Days after which a signal counts half.
    pub half_life_days: f32,
    /// Most positive interests kept apart.
    pub max_interests: usize,
    /// Most negative directions kept apart.
    pub max_negatives: usize,
    /// Most signals stored (the oldest go first).
    pub max_signals: usize,
    /// Cosine above which a positive signal joins an existing interest.
    pub interest_threshold: f32,
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            half_life_days: 180.0,
            max_interests: 4,
            max_negatives: 4,
            max_signals: 256,
            interest_threshold: 0.5,
        }
    }
}

impl ProfileSettings {
    fn validate(&self) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::InvalidInput {
                what: "profile settings",
                reason: reason.into(),
            })
        };
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0) {
            return bad("half_life_days must be a positive number");
        }
        if self.max_interests == 0 || self.max_negatives == 0 || self.max_signals == 0 {
            return bad("max_interests, max_negatives and max_signals must be at least 1");
        }
        if !(-1.0..=1.0).contains(&self.interest_threshold) {
            return bad("interest_threshold must be a cosine in [-1, 1]");
        }
        Ok(())
    }
}

/// Where a signal came from (shown in explanations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalSource {
    /// Text the user wrote with no item (a snippet of it).
    Said(String),
    /// An item the user acted on.
    Item(String),
    /// Text the user wrote about an item (a review).
    Review {
        /// The item.
        item: String,
        /// A snippet of the text.
        text: String,
    },
    /// A concept the user said to keep out ("no horror please"): the signal's
    /// direction is the concept alone, and the ranking keeps the items of that
    /// concept out of its lists until a newer wish asks for it again.
    Rejected {
        /// The concept, as written ("horror").
        concept: String,
        /// A snippet of the whole text it was said in.
        said: String,
    },
}

impl SignalSource {
    /// The item this signal is about, if any.
    pub fn item(&self) -> Option<&str> {
        match self {
            SignalSource::Said(_) | SignalSource::Rejected { .. } => None,
            SignalSource::Item(i) | SignalSource::Review { item: i, .. } => Some(i),
        }
    }
    /// The user's words, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            SignalSource::Said(t)
            | SignalSource::Review { text: t, .. }
            | SignalSource::Rejected { said: t, .. } => Some(t),
            SignalSource::Item(_) => None,
        }
    }
}

/// One direction the user pushed the ranking in.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// When (unix seconds).
    pub ts: i64,
    /// Signed strength before decay: > 0 toward, < 0 away.
    pub weight: f32,
    vector: Vec<i8>,
    scale: f32,
    /// Where it came from.
    pub source: SignalSource,
}

impl Signal {
    /// A signal along `vector` (any non-zero length; it is normalised).
    pub fn new(ts: i64, weight: f32, vector: &[f32], source: SignalSource) -> Result<Self> {
        if !weight.is_finite() {
            return Err(Error::InvalidInput {
                what: "signal weight",
                reason: format!("{weight} is not a number"),
            });
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return Err(Error::InvalidInput {
                what: "signal vector",
                reason: "zero or not finite".into(),
            });
        }
        let unit: Vec<f32> = vector.iter().map(|x| x / norm).collect();
        let (vector, scale) = quantize(&unit);
        let source = match source {
            SignalSource::Said(t) => SignalSource::Said(snippet(&t, SNIPPET_CHARS)),
            SignalSource::Review { item, text } => SignalSource::Review {
                item,
                text: snippet(&text, SNIPPET_CHARS),
            },
            SignalSource::Rejected { concept, said } => SignalSource::Rejected {
                concept: snippet(&concept, SNIPPET_CHARS),
                said: snippet(&said, SNIPPET_CHARS),
            },
            s => s,
        };
        Ok(Self {
            ts,
            weight,
            vector,
            scale,
            source,
        })
    }
    /// Whether this signal keeps a concept out (see [`SignalSource::Rejected`]).
    pub fn is_rejection(&self) -> bool {
        matches!(self.source, SignalSource::Rejected { .. })
    }

    /// The unit direction as floats.
    pub fn vector(&self) -> Vec<f32> {
        dequantize(&self.vector, self.scale)
    }
    /// Weight after decay at time `now`.
    pub fn decayed(&self, now: i64, half_life_days: f32) -> f32 {
        let age_days = (now.saturating_sub(self.ts)).max(0) as f32 / 86_400.0;
        self.weight * 0.5f32.powf(age_days / half_life_days)
    }
}

/// A direction derived from signals at ranking time: unit vector, total decayed weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    /// Unit vector.
    pub vector: Vec<f32>,
    /// Sum of the decayed weights that formed it (> 0).
    pub weight: f32,
}

/// A concept the user said to keep out, still in force (no newer wish asked for it).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The concept's unit vector.
    pub vector: Vec<f32>,
    /// The concept as written ("horror").
    pub concept: String,
    /// What the user said ("no horror please").
    pub said: String,
    /// When it was said.
    pub ts: i64,
    /// Its place among the profile's signals (time order; feedback given in
    /// the same second keeps the order it came in).
    pub at: usize,
}

/// Positive interests, negative directions and rejections at a moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directions {
    /// What the user wants (several interests, strongest first).
    pub interests: Vec<Direction>,
    /// What the user does not want.
    pub negatives: Vec<Direction>,
    /// Concepts to keep out of the lists, oldest first.
    pub rejections: Vec<Rejection>,
}

impl Directions {
    /// No signal at all: rank by popularity.
    pub fn is_empty(&self) -> bool {
        self.interests.is_empty() && self.negatives.is_empty() && self.rejections.is_empty()
    }
}

/// Cosine at or above which a newer wish asks again for a rejected concept
/// ("no horror" … later "actually, horror please"), lifting the rejection.
pub const ASKED_AGAIN_COSINE: f32 = 0.75;

/// The user's private intent profile.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentProfile {
    model_id: String,
    dims: usize,
    settings: ProfileSettings,
    signals: Vec<Signal>,
    not_interested: BTreeSet<String>,
    touched: BTreeSet<String>,
}

impl IntentProfile {
    /// An empty profile for vectors of `dims` from model `model_id`.
    pub fn new(
        model_id: impl Into<String>,
        dims: usize,
        settings: ProfileSettings,
    ) -> Result<Self> {
        settings.validate()?;
        Ok(Self {
            model_id: model_id.into(),
            dims,
            settings,
            signals: Vec::new(),
            not_interested: BTreeSet::new(),
            touched: BTreeSet::new(),
        })
    }

    /// The model the profile's vectors belong to.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    /// Vector dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// The settings.
    pub fn settings(&self) -> ProfileSettings {
        self.settings
    }
    /// Replaces the settings (kept signals stay).
    pub fn set_settings(&mut self, settings: ProfileSettings) -> Result<()> {
        settings.validate()?;
        self.settings = settings;
        self.trim();
        Ok(())
    }
    /// The stored signals, oldest first.
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }
    /// Items marked "not interested" (never recommended).
    pub fn not_interested(&self) -> &BTreeSet<String> {
        &self.not_interested
    }
    /// Items the user already interacted with.
    pub fn touched(&self) -> &BTreeSet<String> {
        &self.touched
    }
    /// Items the user touched or rejected: what a ranking for them leaves out.
    pub fn acted_on(&self) -> BTreeSet<&str> {
        self.touched
            .iter()
            .chain(&self.not_interested)
            .map(String::as_str)
            .collect()
    }
    /// No feedback at all.
    pub fn is_empty(&self) -> bool {
        self.signals.is_empty() && self.not_interested.is_empty() && self.touched.is_empty()
    }
    /// Forgets everything ("forget me"); settings stay.
    pub fn clear(&mut self) {
        self.signals.clear();
        self.not_interested.clear();
        self.touched.clear();
    }

    /// Adds a signal (checked against the profile's dimensions), keeping time order.
    pub fn add_signal(&mut self, signal: Signal) -> Result<()> {
        if signal.vector.len() != self.dims {
            return Err(Error::InvalidInput {
                what: "signal vector",
                reason: format!(
                    "{} dims, the profile has {}",
                    signal.vector.len(),
                    self.dims
                ),
            });
        }
        let at = self.signals.partition_point(|s| s.ts <= signal.ts);
        self.signals.insert(at, signal);
        self.trim();
        Ok(())
    }

    /// Marks an item "not interested": never recommended again.
    pub fn mark_not_interested(&mut self, item: &str) {
        self.not_interested.insert(item.to_string());
        self.touched.insert(item.to_string());
    }

    /// Records that the user interacted with an item.
    pub fn mark_touched(&mut self, item: &str) {
        self.touched.insert(item.to_string());
    }

    fn trim(&mut self) {
        if self.signals.len() > self.settings.max_signals {
            let extra = self.signals.len() - self.settings.max_signals;
            self.signals.drain(..extra);
        }
    }

    /// Interests and negative directions as of `now` (unix seconds).
    pub fn directions(&self, now: i64) -> Directions {
        self.directions_where(now, |_, _| true)
    }

    /// [`directions`](Self::directions) from the signals `keep` accepts, given
    /// their place and themselves (the ranker leaves out likes that a newer
    /// rejection covers, and rejections a newer wish lifted). A rejection is
    /// in force unless a newer wish said in words points the same way
    /// ([`ASKED_AGAIN_COSINE`]); one in force also pushes its neighbours down.
    pub fn directions_where(&self, now: i64, keep: impl Fn(usize, &Signal) -> bool) -> Directions {
        let hl = self.settings.half_life_days;
        let mut positive = Vec::new();
        let mut negative = Vec::new();
        let mut rejections = Vec::new();
        for (at, s) in self.signals.iter().enumerate() {
            if !keep(at, s) {
                continue;
            }
            let v = s.vector();
            if let SignalSource::Rejected { concept, said } = &s.source {
                let asked_again = self.signals[at + 1..].iter().any(|later| {
                    later.weight > 0.0
                        && matches!(later.source, SignalSource::Said(_))
                        && crate::cpu::ops::dot(&later.vector(), &v) >= ASKED_AGAIN_COSINE
                });
                if asked_again {
                    continue;
                }
                rejections.push(Rejection {
                    vector: v.clone(),
                    concept: concept.clone(),
                    said: said.clone(),
                    ts: s.ts,
                    at,
                });
            }
            let w = s.decayed(now, hl);
            if w > 0.0 {
                positive.push((v, w));
            } else if w < 0.0 {
                negative.push((v, -w));
            }
        }
        Directions {
            rejections,
            interests: cluster(
                &positive,
                self.settings.interest_threshold,
                self.settings.max_interests,
            ),
            // Rejections stay sharper: only near-duplicates merge.
            negatives: cluster(&negative, 0.8, self.settings.max_negatives),
        }
    }

    /// Fails with [`Error::ModelMismatch`] unless the profile belongs to this model.
    pub fn check_model(&self, model_id: &str, dims: usize) -> Result<()> {
        if self.model_id != model_id || self.dims != dims {
            return Err(Error::ModelMismatch {
                kind: FileKind::Profile,
                expected: model_id.to_string(),
                expected_dims: dims,
                found: self.model_id.clone(),
                found_dims: self.dims,
            });
        }
        Ok(())
    }

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
        for set in [&self.not_interested, &self.touched] {
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
        let [not_interested, touched] = sets;
        if r.remaining() != 0 {
            return Err(bad(format!("{} unexpected trailing bytes", r.remaining())));
        }
        Ok(Self {
            model_id,
            dims,
            settings,
            signals,
            not_interested,
            touched,
        })
    }
}

/// Leader clustering of weighted unit vectors: each joins the closest group
/// if its cosine reaches `threshold`, else starts one; past `max` groups the two
/// closest merge. Returns unit centroids, strongest first.
fn cluster(vectors: &[(Vec<f32>, f32)], threshold: f32, max: usize) -> Vec<Direction> {
    let mut groups: Vec<(Vec<f32>, f32)> = Vec::new(); // (weighted sum, weight)
    let unit = |v: &[f32]| -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter().map(|x| x / n).collect()
    };
    let cos = |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    for (v, w) in vectors {
        let best = groups
            .iter()
            .enumerate()
            .map(|(i, (sum, _))| (i, cos(&unit(sum), v)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, c)) if c >= threshold => {
                let g = &mut groups[i];
                g.0.iter_mut().zip(v).for_each(|(s, x)| *s += w * x);
                g.1 += w;
            }
            _ => groups.push((v.iter().map(|x| w * x).collect(), *w)),
        }
        while groups.len() > max {
            let mut best = (0, 1, f32::NEG_INFINITY);
            for i in 0..groups.len() {
                for j in i + 1..groups.len() {
                    let c = cos(&unit(&groups[i].0), &unit(&groups[j].0));
                    if c > best.2 {
                        best = (i, j, c);
                    }
                }
            }
            let (i, j, _) = best;
            let (sum, w) = groups.remove(j);
            groups[i].0.iter_mut().zip(&sum).for_each(|(s, x)| *s += x);
            groups[i].1 += w;
        }
    }
    let mut out: Vec<Direction> = groups
        .into_iter()
        .filter(|(sum, w)| *w > 0.0 && sum.iter().any(|x| *x != 0.0))
        .map(|(sum, weight)| Direction {
            vector: unit(&sum),
            weight,
        })
        .collect();
    out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(i: usize, dims: usize) -> Vec<f32> {
        let mut v = vec![0.0; dims];
        v[i] = 1.0;
        v
    }

    fn profile() -> IntentProfile {
        IntentProfile::new("m", 8, ProfileSettings::default()).unwrap()
    }

    #[test]
    fn two_interests_stay_apart_and_negatives_are_separate() {
        let mut p = profile();
        // Cooking (axis 0) and cycling (axis 1), several times each, plus a rejection (axis 2).
        for t in 0..3 {
            p.add_signal(
                Signal::new(t, 1.0, &axis(0, 8), SignalSource::Said("cooking".into())).unwrap(),
            )
            .unwrap();
            p.add_signal(
                Signal::new(t, 1.0, &axis(1, 8), SignalSource::Item("bike".into())).unwrap(),
            )
            .unwrap();
        }
        p.add_signal(Signal::new(5, -1.0, &axis(2, 8), SignalSource::Item("bad".into())).unwrap())
            .unwrap();
        let d = p.directions(10);
        assert_eq!(d.interests.len(), 2, "not averaged into one");
        assert!(d.interests.iter().any(|i| i.vector[0] > 0.99));
        assert!(d.interests.iter().any(|i| i.vector[1] > 0.99));
        assert_eq!(d.negatives.len(), 1);
        assert!(d.negatives[0].vector[2] > 0.99);
    }

    #[test]
    fn interests_are_capped_and_decay_with_time() {
        let mut p = profile();
        p.set_settings(ProfileSettings {
            max_interests: 2,
            half_life_days: 1.0,
            ..Default::default()
        })
        .unwrap();
        for i in 0..5 {
            p.add_signal(
                Signal::new(0, 1.0, &axis(i, 8), SignalSource::Said(format!("t{i}"))).unwrap(),
            )
            .unwrap();
        }
        assert_eq!(p.directions(0).interests.len(), 2);
        let s = &p.signals()[0];
        assert!((s.decayed(86_400, 1.0) - 0.5).abs() < 1e-6);
        assert_eq!(s.decayed(-100, 1.0), 1.0, "future events do not grow");
    }

    #[test]
    fn serialises_round_trip_and_rejects_bad_bytes() {
        let mut p = profile();
        p.add_signal(
            Signal::new(
                1,
                0.7,
                &axis(3, 8),
                SignalSource::Review {
                    item: "x".into(),
                    text: "é".repeat(300),
                },
            )
            .unwrap(),
        )
        .unwrap();
        p.add_signal(Signal::new(2, -1.0, &axis(4, 8), SignalSource::Item("y".into())).unwrap())
            .unwrap();
        p.mark_not_interested("y");
        p.mark_touched("x");
        let bytes = p.to_bytes();
        let q = IntentProfile::from_bytes(&bytes).unwrap();
        assert_eq!(q, p);
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
        assert_eq!(
            q.signals()[0].source.text().unwrap().chars().count(),
            SNIPPET_CHARS + 1
        );

        for len in [0, 7, 31, bytes.len() - 1] {
            assert!(matches!(
                IntentProfile::from_bytes(&bytes[..len]),
                Err(Error::Truncated {
                    kind: FileKind::Profile,
                    ..
                })
            ));
        }
        let mut c = bytes.clone();
        c[40] ^= 1;
        assert!(matches!(
            IntentProfile::from_bytes(&c),
            Err(Error::ChecksumMismatch { .. })
        ));
        let index_like = ENVELOPE.seal(b"\x01\0\0\0m\x00\x00\x00\x00");
        assert!(matches!(
            IntentProfile::from_bytes(&index_like),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            q.check_model("other", 8),
            Err(Error::ModelMismatch { .. })
        ));
        assert!(matches!(
            q.check_model("m", 384),
            Err(Error::ModelMismatch { .. })
        ));
    }

    #[test]
    fn rejects_bad_signals_and_settings() {
        let mut p = profile();
        assert!(Signal::new(0, f32::NAN, &axis(0, 8), SignalSource::Said("x".into())).is_err());
        assert!(Signal::new(0, 1.0, &[0.0; 8], SignalSource::Said("x".into())).is_err());
        assert!(Signal::new(0, 1.0, &[f32::NAN; 8], SignalSource::Said("x".into())).is_err());
        let wrong = Signal::new(0, 1.0, &axis(0, 4), SignalSource::Said("x".into())).unwrap();
        assert!(p.add_signal(wrong).is_err());
        assert!(p.is_empty());
        assert!(p
            .set_settings(ProfileSettings {
                half_life_days: 0.0,
                ..Default::default()
            })
            .is_err());
        assert!(IntentProfile::new(
            "m",
            8,
            ProfileSettings {
                max_signals: 0,
                ..Default::default()
            }
        )
        .is_err());
    }

    #[test]
    fn keeps_at_most_max_signals_newest_first() {
        let mut p = profile();
        p.set_settings(ProfileSettings {
            max_signals: 3,
            ..Default::default()
        })
        .unwrap();
        for t in 0..10 {
            p.add_signal(
                Signal::new(t, 1.0, &axis(0, 8), SignalSource::Said(t.to_string())).unwrap(),
            )
            .unwrap();
        }
        let ts: Vec<i64> = p.signals().iter().map(|s| s.ts).collect();
        assert_eq!(ts, vec![7, 8, 9]);
        p.clear();
        assert!(p.is_empty());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn source() -> impl Strategy<Value = SignalSource> {
        prop_oneof![
            ".{0,200}".prop_map(SignalSource::Said),
            "[a-z0-9]{1,12}".prop_map(SignalSource::Item),
            ("[a-z0-9]{1,12}", ".{0,50}")
                .prop_map(|(item, text)| SignalSource::Review { item, text }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bytes_round_trip_exactly(
            signals in proptest::collection::vec((any::<i32>(), -2.0f32..2.0, proptest::collection::vec(-1.0f32..1.0, 6), source()), 0..20),
            rejected in proptest::collection::btree_set("[a-z]{1,8}", 0..5),
            half_life in 0.1f32..1000.0,
        ) {
            let settings = ProfileSettings { half_life_days: half_life, ..Default::default() };
            let mut p = IntentProfile::new("model", 6, settings).unwrap();
            for (ts, w, v, src) in signals {
                if let Ok(s) = Signal::new(i64::from(ts), w, &v, src) {
                    p.add_signal(s).unwrap();
                }
            }
            for r in &rejected { p.mark_not_interested(r); }
            let bytes = p.to_bytes();
            let back = IntentProfile::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&back, &p);
            prop_assert_eq!(back.to_bytes(), bytes);
        }

        #[test]
        fn damaged_bytes_are_errors_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
            let mut p = IntentProfile::new("model", 6, ProfileSettings::default()).unwrap();
            p.add_signal(Signal::new(1, 1.0, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], SignalSource::Said("hello".into())).unwrap()).unwrap();
            p.mark_touched("x");
            let mut bytes = p.to_bytes();
            for (at, x) in flips {
                let n = bytes.len();
                bytes[at % n] ^= x | 1;
            }
            prop_assert!(IntentProfile::from_bytes(&bytes).is_err());
            let n = bytes.len();
            let _ = IntentProfile::from_bytes(&bytes[..cut % n]);
        }
    }
}
