//! Polarity of free text, decided on the device with the same encoder: is
//! "the service was terrible, I don't recommend it" for or against?
//!
//! Zero-shot: the text's embedding is compared with labelled anchor phrases
//! (positive and negative); the raw score is the mean of the three closest
//! positive anchors minus the mean of the three closest negative ones, and a
//! logistic curve maps it to a polarity in [-1, 1]. The curve
//! constants were fitted on half of the Amazon Magazine reviews (stars ≥ 4
//! positive, ≤ 2 negative) and checked on the other half; see the README.

use crate::encoder::Encoder;
use crate::util::error::Result;

/// Phrases that mean "more like this".
pub const POSITIVE_ANCHORS: [&str; 12] = [
    "I love it",
    "great, I highly recommend it",
    "excellent, I really enjoyed it",
    "this is exactly what I want",
    "I want more like this",
    "wonderful and worth every penny",
    "my favourite, five stars",
    "very good quality, I am happy with it",
    "I'm in the mood for something like this",
    "interesting and fun, a great read",
    "I would like something like this",
    "perfect, it was a pleasure",
];

/// Phrases that mean "less like this".
pub const NEGATIVE_ANCHORS: [&str; 12] = [
    "I hate it",
    "terrible, I don't recommend it",
    "a waste of money",
    "boring and disappointing",
    "I don't want this",
    "not interested in this at all",
    "poor quality, one star",
    "the service was awful",
    "I regret buying it",
    "too long and tedious",
    "never again, avoid it",
    "I do not like this kind of thing",
];

/// Logistic curve of the raw anchor score: `p = σ(slope · (raw − offset))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolarityCurve {
    /// Steepness.
    pub slope: f32,
    /// Raw score at which the text is neutral.
    pub offset: f32,
}

impl Default for PolarityCurve {
    /// Fitted (class-balanced logistic regression) on the reviews of the
    /// even-indexed users of the Amazon Magazine data: `localrec eval --fit-polarity`.
    fn default() -> Self {
        Self {
            slope: 38.1,
            offset: 0.022,
        }
    }
}

/// The anchor embeddings and curve.
#[derive(Debug, Clone)]
pub struct PolarityModel {
    positive: Vec<Vec<f32>>,
    negative: Vec<Vec<f32>>,
    curve: PolarityCurve,
}

impl PolarityModel {
    /// Embeds the anchor phrases with `encoder` (one batch).
    pub fn new(encoder: &Encoder) -> Result<Self> {
        let all: Vec<&str> = POSITIVE_ANCHORS
            .iter()
            .chain(NEGATIVE_ANCHORS.iter())
            .copied()
            .collect();
        let e = encoder.embed_batch(&all)?;
        let rows: Vec<Vec<f32>> = e.rows().map(<[f32]>::to_vec).collect();
        let (positive, negative) = rows.split_at(POSITIVE_ANCHORS.len());
        Ok(Self {
            positive: positive.to_vec(),
            negative: negative.to_vec(),
            curve: PolarityCurve::default(),
        })
    }

    /// Replaces the curve.
    pub fn with_curve(mut self, curve: PolarityCurve) -> Self {
        self.curve = curve;
        self
    }

    /// The curve in use.
    pub fn curve(&self) -> PolarityCurve {
        self.curve
    }

    /// Uncalibrated score of a unit text embedding: > 0 leans positive.
    pub fn raw_score(&self, v: &[f32]) -> f32 {
        top3_mean(&self.positive, v) - top3_mean(&self.negative, v)
    }

    /// Polarity in [-1, 1]: -1 clearly against, +1 clearly for.
    pub fn polarity(&self, v: &[f32]) -> f32 {
        let z = self.curve.slope * (self.raw_score(v) - self.curve.offset);
        let p = 1.0 / (1.0 + (-z).exp());
        if p.is_finite() {
            2.0 * p - 1.0
        } else {
            0.0
        }
    }
}

fn top3_mean(anchors: &[Vec<f32>], v: &[f32]) -> f32 {
    let mut sims: Vec<f32> = anchors
        .iter()
        .map(|a| a.iter().zip(v).map(|(x, y)| x * y).sum())
        .collect();
    sims.sort_by(|a, b| b.total_cmp(a));
    let n = sims.len().min(3);
    if n == 0 {
        return 0.0;
    }
    sims[..n].iter().sum::<f32>() / n as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_score_their_own_side() {
        let enc = Encoder::from_bundle(crate::testing::tiny_bundle(
            crate::model::bundle::Quant::F32,
            4,
        ))
        .unwrap();
        let m = PolarityModel::new(&enc).unwrap();
        // An anchor is its own nearest neighbour, so it leans to its side even on a random model.
        let pos = enc.embed(POSITIVE_ANCHORS[0]).unwrap();
        let neg = enc.embed(NEGATIVE_ANCHORS[1]).unwrap();
        assert!(m.raw_score(&pos) > m.raw_score(&neg));
        let p = m.polarity(&pos);
        assert!((-1.0..=1.0).contains(&p));
        let flat = m.clone().with_curve(PolarityCurve {
            slope: 0.0,
            offset: 0.0,
        });
        assert_eq!(flat.polarity(&pos), 0.0);
    }
}
