//! The private intent profile: what the user's feedback says they want, kept
//! on the device, serialisable to a few kilobytes.
//!
//! The profile stores *signals* — a direction in embedding space (int8), a
//! signed weight, a time and where it came from (a text the user wrote, or an
//! item) — plus the items marked "not interested" and the items already
//! seen. At ranking time, weights decay with a configurable half-life and
//! the signals are grouped into a few positive *interests* and negative
//! directions (leader clustering), so that a user who loves both cooking and
//! cycling gets both, not their mean.
//!
//!
//! - `signal`: what one piece of feedback becomes (a signal and its source);
//! - `directions`: signals grouped into interests, negatives and rejections
//!   at ranking time;
//! - `bytes`: the profile's file format.

mod bytes;
mod directions;
mod signal;

use std::collections::BTreeSet;

use crate::util::error::{Error, FileKind, Result};

pub use bytes::{PROFILE_MAGIC, PROFILE_VERSION};
pub use directions::{Direction, Directions, Rejection, ASKED_AGAIN_COSINE};
pub use signal::{Signal, SignalSource};

/// Characters of feedback text kept to explain recommendations.
pub const SNIPPET_CHARS: usize = 120;

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

/// The user's private intent profile.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentProfile {
    model_id: String,
    dims: usize,
    settings: ProfileSettings,
    signals: Vec<Signal>,
    not_interested: BTreeSet<String>,
    seen: BTreeSet<String>,
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
            seen: BTreeSet::new(),
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
    /// Items the user has seen: interacted with, or marked "not interested".
    /// A ranking with [`RankOptions::exclude_seen`](crate::rec::ranker::RankOptions::exclude_seen) leaves them out.
    pub fn seen(&self) -> &BTreeSet<String> {
        &self.seen
    }
    /// No feedback at all.
    pub fn is_empty(&self) -> bool {
        self.signals.is_empty() && self.not_interested.is_empty() && self.seen.is_empty()
    }
    /// Forgets everything ("forget me"); settings stay.
    pub fn clear(&mut self) {
        self.signals.clear();
        self.not_interested.clear();
        self.seen.clear();
    }

    /// Folds in what `other` — the same visitor's profile as kept elsewhere,
    /// e.g. by another browser tab — holds and this one lacks: its signals not
    /// already here (equal time, weight, direction and source), its "not
    /// interested" and seen items. Merging is idempotent and gives the same
    /// signals whichever side merges into which; settings stay this profile's.
    pub fn merge(&mut self, other: &IntentProfile) -> Result<()> {
        other.check_model(&self.model_id, self.dims)?;
        for signal in &other.signals {
            if !self.signals.contains(signal) {
                self.signals.push(signal.clone());
            }
        }
        // One order for any merge order: the trim below then drops the same signals.
        self.signals.sort_by(Signal::canonical_cmp);
        self.trim();
        self.not_interested
            .extend(other.not_interested.iter().cloned());
        self.seen.extend(other.seen.iter().cloned());
        Ok(())
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
        self.seen.insert(item.to_string());
    }

    /// Records that the user has seen an item (interacted with it).
    pub fn mark_seen(&mut self, item: &str) {
        self.seen.insert(item.to_string());
    }

    fn trim(&mut self) {
        if self.signals.len() > self.settings.max_signals {
            let extra = self.signals.len() - self.settings.max_signals;
            self.signals.drain(..extra);
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
}

#[cfg(test)]
mod tests {
    use super::bytes::ENVELOPE;
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
        p.mark_seen("x");
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

    #[test]
    fn merging_two_tabs_keeps_every_signal_once() {
        let said = |t: &str| SignalSource::Said(t.into());
        let mut a = profile();
        let mut b = profile();
        a.add_signal(Signal::new(10, 1.0, &axis(0, 8), said("war epic")).unwrap())
            .unwrap();
        b.add_signal(Signal::new(20, 1.0, &axis(1, 8), said("silly comedy")).unwrap())
            .unwrap();
        // Both tabs hold the same older signal (written before they split).
        for p in [&mut a, &mut b] {
            p.add_signal(Signal::new(5, -1.0, &axis(2, 8), said("no horror")).unwrap())
                .unwrap();
        }
        a.mark_not_interested("x1");
        b.mark_seen("x2");
        let (mut ab, mut ba) = (a.clone(), b.clone());
        ab.merge(&b).unwrap();
        ba.merge(&a).unwrap();
        let texts = |p: &IntentProfile| -> Vec<String> {
            p.signals()
                .iter()
                .filter_map(|s| s.source.text().map(str::to_string))
                .collect()
        };
        assert_eq!(texts(&ab), ["no horror", "war epic", "silly comedy"]);
        assert_eq!(texts(&ab), texts(&ba));
        assert_eq!(ab.not_interested(), ba.not_interested());
        assert!(ab.seen().contains("x1") && ab.seen().contains("x2"));
        // Idempotent, also through bytes (what storage holds).
        let stored = IntentProfile::from_bytes(&ab.to_bytes()).unwrap();
        let before = ab.clone();
        ab.merge(&stored).unwrap();
        assert_eq!(ab, before);
        // Another model's profile is refused and changes nothing.
        let other = IntentProfile::new("other", 8, ProfileSettings::default()).unwrap();
        assert!(ab.merge(&other).is_err());
        assert_eq!(ab, before);
    }

    /// Found by fuzzing (fuzz/regressions/profile): with signals of the same
    /// second and a full profile, the merge order decided which one was trimmed,
    /// so two tabs could keep different signals.
    #[test]
    fn merging_in_either_order_trims_the_same_signals() {
        let said = |t: &str| SignalSource::Said(t.into());
        let settings = ProfileSettings {
            max_signals: 1,
            ..ProfileSettings::default()
        };
        let mut a = IntentProfile::new("m", 8, settings).unwrap();
        let mut b = a.clone();
        a.add_signal(Signal::new(7, 1.0, &axis(0, 8), said("war epic")).unwrap())
            .unwrap();
        b.add_signal(Signal::new(7, 0.5, &axis(1, 8), said("silly comedy")).unwrap())
            .unwrap();
        let (mut ab, mut ba) = (a.clone(), b.clone());
        ab.merge(&b).unwrap();
        ba.merge(&a).unwrap();
        assert_eq!(ab, ba);
        let again = ab.clone();
        ab.merge(&a).unwrap();
        ab.merge(&b).unwrap();
        assert_eq!(ab, again, "merging is idempotent");
    }

    /// Found by fuzzing: stored bytes with more signals than the profile's own
    /// limit were accepted (the library never writes such a profile).
    #[test]
    fn stored_bytes_over_the_signal_limit_are_malformed() {
        let settings = ProfileSettings {
            max_signals: 2,
            ..ProfileSettings::default()
        };
        let mut p = IntentProfile::new("m", 8, settings).unwrap();
        for t in 0..2 {
            p.add_signal(Signal::new(t, 1.0, &axis(0, 8), SignalSource::Said("x".into())).unwrap())
                .unwrap();
        }
        let mut bytes = p.to_bytes();
        // max_signals sits after the model id (4 + 1 bytes), dims, half-life, max_interests and max_negatives.
        let at = crate::util::envelope::HEADER_LEN + 4 + 1 + 4 * 4;
        bytes[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        let payload = bytes[crate::util::envelope::HEADER_LEN..].to_vec();
        bytes[24..28].copy_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        let err = IntentProfile::from_bytes(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("more than the profile's own limit of 1"),
            "{err}"
        );
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
            p.mark_seen("x");
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
