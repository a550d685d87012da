//! Collaborative knowledge shipped in the catalogue index: item factors learned
//! on the store's aggregate events (public catalogue data, no visitor's data),
//! what the device needs to fold a visitor in, and the learned blend weights.
//!
//! - [`factors`]: item factors and the settings they were trained with;
//! - [`foldin`]: the on-device user solve against fixed item factors;
//! - this module: [`CollabModel`], its int8 storage and its index section.
//!
//! Training the factors (`offline::als`) and learning the blend weights
//! (`offline::blend`) run offline.
//!
//! Section layout (inside a version-2 catalogue index, tag `COLB`, section
//! version 1): `k u32, items u32, λ f32, α f32, blend 3×f32 (text,
//! collaborative, popularity), YᵀY + λI k×k f32, items × f32 scales,
//! items × k int8 factors`. The Gram is of the *quantised* factors, so the
//! device solves exactly against what it scores with. Section version 2 (only
//! written for factors trained with λ scaled by a row's pairs, as Spark's ALS
//! does) appends `scaling u32` (1: per interaction).

pub mod factors;
pub mod foldin;
pub(crate) mod linalg;

use serde::{Deserialize, Serialize};

use crate::cpu::score::{dequantize, quantize, ItemMatrix};
use crate::rec::feedback::{Feedback, FeedbackKind};
use crate::util::binary::ByteReader;
use crate::util::error::{Error, FileKind, Result};

pub use factors::{AlsSettings, Factors, RegularizationScaling};
pub use foldin::UserFactors;

/// The index section tag of collaborative knowledge.
pub const SECTION_TAG: [u8; 4] = *b"COLB";
/// The newest collaborative section format this build reads (1 and 2).
pub const SECTION_VERSION: u32 = 2;

/// How a ranking mixes its three evidence sources; non-negative, summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blend {
    /// Weight of text relevance (the intent profile).
    pub text: f32,
    /// Weight of the collaborative score.
    pub collaborative: f32,
    /// Weight of popularity.
    pub popularity: f32,
}

impl Default for Blend {
    /// Used when no weights were learned: text and collaborative evidence equally, a little popularity.
    fn default() -> Self {
        Self {
            text: 0.45,
            collaborative: 0.45,
            popularity: 0.1,
        }
    }
}

impl Blend {
    /// Checks the weights are finite, non-negative and sum to 1 (±1e-3).
    pub fn validate(&self) -> Result<()> {
        let w = [self.text, self.collaborative, self.popularity];
        let sum: f32 = w.iter().sum();
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) || (sum - 1.0).abs() > 1e-3 {
            return Err(Error::InvalidInput {
                what: "blend",
                reason: format!("weights {w:?} must be ≥ 0 and sum to 1"),
            });
        }
        Ok(())
    }
}

/// How strongly one piece of feedback says "I wanted this item", the same
/// weight the profile gives it: like / purchase 1, view 0.3, stars `(s − 3)/2`,
/// a review without stars 0.5. `None` for no item or no positive interaction.
pub fn interaction_strength(feedback: &Feedback) -> Option<f32> {
    feedback.item.as_ref()?;
    let w = match feedback.kind {
        Some(FeedbackKind::Like | FeedbackKind::Purchase) => 1.0,
        Some(FeedbackKind::View) => 0.3,
        Some(FeedbackKind::Dislike | FeedbackKind::NotInterested) => return None,
        Some(FeedbackKind::Review) | None => match feedback.rating {
            Some(s) => (s - 3.0) / 2.0,
            None if feedback.text.is_some() => 0.5,
            None => return None,
        },
    };
    (w > 0.0).then_some(w)
}

/// Item factors (int8, one scale per item), the fold-in's Gram and settings, and the blend.
#[derive(Debug, Clone, PartialEq)]
pub struct CollabModel {
    k: usize,
    values: Vec<i8>,
    scales: Vec<f32>,
    /// `YᵀY + λI`, row-major k×k.
    gram: Vec<f64>,
    regularization: f32,
    scaling: RegularizationScaling,
    confidence: f32,
    blend: Blend,
}

impl CollabModel {
    /// Quantises trained item factors and prepares the fold-in.
    pub fn new(factors: &Factors, settings: &AlsSettings, blend: Blend) -> Result<Self> {
        settings.validate()?;
        blend.validate()?;
        let k = factors.k;
        if k == 0
            || k > 1024
            || !factors.data.len().is_multiple_of(k)
            || factors.data.iter().any(|x| !x.is_finite())
        {
            return Err(Error::InvalidInput {
                what: "item factors",
                reason: format!("k = {k}: empty, more than 1024 factors, ragged or not finite"),
            });
        }
        let mut values = Vec::with_capacity(factors.data.len());
        let mut scales = Vec::with_capacity(factors.rows());
        let mut dequantized = Vec::with_capacity(factors.data.len());
        for r in 0..factors.rows() {
            let (q, s) = quantize(factors.row(r));
            dequantized.extend(dequantize(&q, s));
            values.extend(q);
            scales.push(s);
        }
        let mut gram = Factors {
            k,
            data: dequantized,
        }
        .gram();
        for d in 0..k {
            gram[d * k + d] += f64::from(settings.regularization);
        }
        // Stored as f32: the device solves with exactly what the file holds.
        gram.iter_mut().for_each(|g| *g = f64::from(*g as f32));
        Ok(Self {
            k,
            values,
            scales,
            gram,
            regularization: settings.regularization,
            scaling: settings.scaling,
            confidence: settings.confidence,
            blend,
        })
    }

    /// Latent factors per item.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Number of items.
    pub fn items(&self) -> usize {
        self.scales.len()
    }
    /// Items that have collaborative knowledge (someone interacted with them).
    pub fn items_with_factors(&self) -> usize {
        self.scales.iter().filter(|&&s| s > 0.0).count()
    }
    /// Does item `i` have factors?
    pub fn has_factors(&self, i: usize) -> bool {
        self.scales.get(i).is_some_and(|&s| s > 0.0)
    }
    /// Item `i`'s factors as floats (zeros past the end).
    pub fn factor(&self, i: usize) -> Vec<f32> {
        match self.scales.get(i) {
            Some(&s) => dequantize(&self.values[i * self.k..(i + 1) * self.k], s),
            None => vec![0.0; self.k],
        }
    }
    /// The int8 factors as a matrix the scoring kernels read.
    pub fn matrix(&self) -> ItemMatrix<'_> {
        ItemMatrix {
            values: &self.values,
            scales: &self.scales,
            dims: self.k,
        }
    }
    /// `YᵀY + λI` (row-major k×k).
    pub fn regularized_gram(&self) -> &[f64] {
        &self.gram
    }
    /// λ.
    pub fn regularization(&self) -> f32 {
        self.regularization
    }
    /// How λ grows with a visitor's interactions in the fold-in.
    pub fn scaling(&self) -> RegularizationScaling {
        self.scaling
    }
    /// The settings the factors were trained with, as far as the fold-in needs them.
    pub fn settings(&self) -> AlsSettings {
        AlsSettings {
            factors: self.k,
            regularization: self.regularization,
            scaling: self.scaling,
            confidence: self.confidence,
            ..AlsSettings::default()
        }
    }
    /// The section version this knowledge is written as: 1 unless λ is scaled.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn section_version(&self) -> u32 {
        match self.scaling {
            RegularizationScaling::None => 1,
            RegularizationScaling::PerInteraction => 2,
        }
    }
    /// α of the confidence `1 + α·strength`.
    pub fn confidence(&self) -> f32 {
        self.confidence
    }
    /// The blend weights learned for this catalogue.
    pub fn blend(&self) -> Blend {
        self.blend
    }
    /// The same knowledge with other blend weights.
    pub fn with_blend(mut self, blend: Blend) -> Result<Self> {
        blend.validate()?;
        self.blend = blend;
        Ok(self)
    }
    /// Heap memory held.
    pub fn memory_bytes(&self) -> usize {
        self.values.capacity() + 4 * self.scales.capacity() + 8 * self.gram.capacity()
    }

    /// Appends the section body (index building, native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn write(&self, w: &mut crate::util::binary::ByteWriter) {
        w.u32(self.k as u32);
        w.u32(self.items() as u32);
        w.f32(self.regularization);
        w.f32(self.confidence);
        for x in [
            self.blend.text,
            self.blend.collaborative,
            self.blend.popularity,
        ] {
            w.f32(x);
        }
        self.gram.iter().for_each(|&g| w.f32(g as f32));
        self.scales.iter().for_each(|&s| w.f32(s));
        w.bytes(bytemuck::cast_slice(&self.values));
        if self.section_version() >= 2 {
            w.u32(match self.scaling {
                RegularizationScaling::None => 0,
                RegularizationScaling::PerInteraction => 1,
            });
        }
    }

    /// Reads and validates a section body (section `version` 1 or 2) for an
    /// index of `items` items.
    pub(crate) fn read(body: &[u8], items: usize, version: u32) -> Result<Self> {
        let bad = |reason: String| Error::Malformed {
            kind: FileKind::CatalogueIndex,
            reason: format!("collaborative section: {reason}"),
        };
        let mut r = ByteReader::new(body);
        let short = |e: crate::util::binary::ReadError| bad(e.to_string());
        let k = r.u32().map_err(short)? as usize;
        let n = r.u32().map_err(short)? as usize;
        if k == 0 || k > 1024 {
            return Err(bad(format!("{k} factors is out of range")));
        }
        if n != items {
            return Err(bad(format!(
                "has factors for {n} items, the index has {items}"
            )));
        }
        let tail = if version >= 2 { 4 } else { 0 };
        let expected = 28 + 4 * k * k + 4 * n + n * k + tail;
        if body.len() != expected {
            return Err(bad(format!(
                "{} bytes where {k} factors × {n} items need {expected}",
                body.len()
            )));
        }
        let regularization = r.f32().map_err(short)?;
        let confidence = r.f32().map_err(short)?;
        let blend = Blend {
            text: r.f32().map_err(short)?,
            collaborative: r.f32().map_err(short)?,
            popularity: r.f32().map_err(short)?,
        };
        let settings = AlsSettings {
            factors: k,
            regularization,
            confidence,
            ..AlsSettings::default()
        };
        settings.validate().map_err(|e| bad(e.to_string()))?;
        blend.validate().map_err(|e| bad(e.to_string()))?;
        let mut gram = Vec::with_capacity(k * k);
        for _ in 0..k * k {
            gram.push(f64::from(r.f32().map_err(short)?));
        }
        let symmetric = (0..k).all(|i| (0..i).all(|j| gram[i * k + j] == gram[j * k + i]));
        if gram.iter().any(|g| !g.is_finite())
            || !symmetric
            || (0..k).any(|d| gram[d * k + d] <= 0.0)
        {
            return Err(bad("the Gram matrix is not symmetric positive".into()));
        }
        let mut scales = Vec::with_capacity(n);
        for _ in 0..n {
            let s = r.f32().map_err(short)?;
            if !(s.is_finite() && s >= 0.0) {
                return Err(bad("a factor scale is negative or not finite".into()));
            }
            scales.push(s);
        }
        let values: Vec<i8> = r
            .take(n * k)
            .map_err(short)?
            .iter()
            .map(|&b| b as i8)
            .collect();
        let scaling = if version >= 2 {
            match r.u32().map_err(short)? {
                0 => RegularizationScaling::None,
                1 => RegularizationScaling::PerInteraction,
                other => return Err(bad(format!("unknown λ scaling {other}"))),
            }
        } else {
            RegularizationScaling::None
        };
        Ok(Self {
            k,
            values,
            scales,
            gram,
            regularization,
            scaling,
            confidence,
            blend,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::util::binary::ByteWriter;

    pub(crate) fn model(items: usize, k: usize) -> CollabModel {
        let data = (0..items * k)
            .map(|x| ((x * 37 % 11) as f32 - 5.0) / 10.0)
            .collect();
        CollabModel::new(
            &Factors { k, data },
            &AlsSettings::default(),
            Blend::default(),
        )
        .unwrap()
    }

    #[test]
    fn section_round_trips_and_damage_is_typed() {
        let m = model(5, 3);
        let mut w = ByteWriter::new();
        m.write(&mut w);
        let body = w.into_inner();
        assert_eq!(m.section_version(), 1);
        assert_eq!(CollabModel::read(&body, 5, 1).unwrap(), m);
        assert!(
            CollabModel::read(&body, 5, 2).is_err(),
            "version 2 has a tail"
        );
        let malformed = |b: &[u8], n: usize| {
            matches!(
                CollabModel::read(b, n, 1),
                Err(Error::Malformed {
                    kind: FileKind::CatalogueIndex,
                    ..
                })
            )
        };
        assert!(malformed(&body, 6), "wrong item count");
        for len in [0, 4, 27, body.len() - 1] {
            assert!(malformed(&body[..len], 5), "truncated at {len}");
        }
        let mut k0 = body.clone();
        k0[..4].copy_from_slice(&0u32.to_le_bytes());
        assert!(malformed(&k0, 5), "zero factors");
        let mut nan = body.clone();
        nan[28..32].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(malformed(&nan, 5), "NaN in the Gram");
        let mut blend = body.clone();
        blend[16..20].copy_from_slice(&2.0f32.to_le_bytes());
        assert!(malformed(&blend, 5), "blend not summing to 1");
        let mut scale = body;
        scale[28 + 36..28 + 40].copy_from_slice(&(-1.0f32).to_le_bytes());
        assert!(malformed(&scale, 5), "negative scale");
    }

    #[test]
    fn scaled_regularization_is_written_as_version_2() {
        let data = (0..12).map(|x| (x as f32 - 5.0) / 10.0).collect();
        let settings = AlsSettings {
            factors: 3,
            scaling: RegularizationScaling::PerInteraction,
            ..AlsSettings::default()
        };
        let m = CollabModel::new(&Factors { k: 3, data }, &settings, Blend::default()).unwrap();
        assert_eq!(m.section_version(), 2);
        let mut w = ByteWriter::new();
        m.write(&mut w);
        let body = w.into_inner();
        let back = CollabModel::read(&body, 4, 2).unwrap();
        assert_eq!(back.scaling(), RegularizationScaling::PerInteraction);
        assert_eq!(back, m);
        let mut odd = body.clone();
        let at = odd.len() - 4;
        odd[at..].copy_from_slice(&7u32.to_le_bytes());
        assert!(CollabModel::read(&odd, 4, 2).is_err(), "unknown scaling");
        assert!(
            CollabModel::read(&body, 4, 1).is_err(),
            "version 1 has no tail"
        );
    }

    #[test]
    fn strengths_follow_the_profile_weights() {
        let s = |f: Feedback| interaction_strength(&f);
        assert_eq!(s(Feedback::action(0, "a", FeedbackKind::Like)), Some(1.0));
        assert_eq!(s(Feedback::action(0, "a", FeedbackKind::View)), Some(0.3));
        assert_eq!(s(Feedback::action(0, "a", FeedbackKind::Dislike)), None);
        assert_eq!(s(Feedback::rating(0, "a", 4.0, None)), Some(0.5));
        assert_eq!(s(Feedback::rating(0, "a", 3.0, None)), None);
        assert_eq!(s(Feedback::text(0, "hi")), None);
        assert!(Blend::default().validate().is_ok());
    }
}
