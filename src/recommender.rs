//! The recommender: encoder + catalogue index + polarity model. It turns
//! feedback into profile signals and ranks the catalogue for a profile.
//!
//! How feedback becomes signals (weights before time decay):
//! - free text, no item: the text's direction, weight +1 — a wish — unless its
//!   polarity says it clearly rejects something (≤ [`WISH_NEGATIVE_BELOW`]), then that
//!   polarity (down to −1);
//! - stars on an item: the item's direction, weight `(stars − 3) / 2`;
//! - a review (text on an item): the item's direction with the stars' weight,
//!   or the text's polarity when there are no stars, plus the text's own
//!   direction at half that weight (it names the aspects the user cares about);
//! - like / purchase: +1; view: +0.3; dislike: −1; not interested: −1 and the
//!   item is never shown again.
//!
//! Recording is all-or-nothing: every check (item known, rating in range,
//! model matches) and every embedding happens before the profile changes.

use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::feedback::{Feedback, FeedbackKind};
use crate::index::CatalogueIndex;
use crate::polarity::PolarityModel;
use crate::profile::{IntentProfile, ProfileSettings, Signal, SignalSource};
use crate::ranker::{RankOptions, Ranker, Recommendation};

/// Polarity at or below which free text (no item) pushes away instead of toward.
/// The review-calibrated polarity reads neutral wishes ("a short, light, funny
/// comedy") as slightly negative; clear rejections ("I don't want war films",
/// "I hate musicals") score below −0.85.
pub const WISH_NEGATIVE_BELOW: f32 = -0.8;

/// Everything needed to learn from feedback and rank one catalogue.
#[derive(Debug)]
pub struct Recommender {
    encoder: Encoder,
    index: CatalogueIndex,
    polarity: PolarityModel,
}

impl Recommender {
    /// Checks the index was built with the encoder's model, and prepares the polarity anchors.
    pub fn new(encoder: Encoder, index: CatalogueIndex) -> Result<Self> {
        index.check_model(&encoder)?;
        let polarity = PolarityModel::new(&encoder)?;
        Ok(Self {
            encoder,
            index,
            polarity,
        })
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }
    /// The catalogue index.
    pub fn index(&self) -> &CatalogueIndex {
        &self.index
    }
    /// The polarity model.
    pub fn polarity(&self) -> &PolarityModel {
        &self.polarity
    }

    /// An empty profile for this model.
    pub fn new_profile(&self, settings: ProfileSettings) -> Result<IntentProfile> {
        IntentProfile::new(self.encoder.model_id(), self.encoder.dims(), settings)
    }

    /// Folds one piece of feedback into `profile` (embedding its text).
    pub fn record(&self, profile: &mut IntentProfile, feedback: &Feedback) -> Result<()> {
        let text = feedback.text.as_deref().filter(|t| !t.trim().is_empty());
        let vector = match text {
            Some(t) => Some(self.encoder.embed(t)?),
            None => None,
        };
        self.record_embedded(profile, feedback, vector.as_deref())
    }

    /// Like [`record`](Self::record), with the text's embedding already computed
    /// (e.g. in a batch); `text_vector` is ignored when the feedback has no text.
    pub fn record_embedded(
        &self,
        profile: &mut IntentProfile,
        feedback: &Feedback,
        text_vector: Option<&[f32]>,
    ) -> Result<()> {
        feedback.validate()?;
        profile.check_model(self.encoder.model_id(), self.encoder.dims())?;
        let item = match &feedback.item {
            Some(id) => Some((id.as_str(), self.index.require(id)?)),
            None => None,
        };
        let has_text = feedback
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
        let text_vector = match (has_text, text_vector) {
            (true, Some(v)) if v.len() == self.encoder.dims() => Some(v),
            (true, Some(v)) => {
                return Err(Error::InvalidInput {
                    what: "text vector",
                    reason: format!("{} dims, the model has {}", v.len(), self.encoder.dims()),
                })
            }
            (true, None) => {
                return Err(Error::InvalidInput {
                    what: "text vector",
                    reason: "feedback has text but no embedding was given".into(),
                })
            }
            (false, _) => None,
        };
        let text_polarity = text_vector.map(|v| self.polarity.polarity(v));
        let text = feedback.text.clone().unwrap_or_default();

        let mut signals = Vec::new();
        let mut not_interested = false;
        match item {
            None => {
                if let (Some(v), Some(p)) = (text_vector, text_polarity) {
                    // A wish is a request: toward it, unless it clearly says "not this".
                    let weight = if p <= WISH_NEGATIVE_BELOW { p } else { 1.0 };
                    signals.push(Signal::new(
                        feedback.ts,
                        weight,
                        v,
                        SignalSource::Said(text),
                    )?);
                }
            }
            Some((id, position)) => {
                let action = match feedback.kind {
                    Some(FeedbackKind::Like | FeedbackKind::Purchase) => Some(1.0),
                    Some(FeedbackKind::View) => Some(0.3),
                    Some(FeedbackKind::Dislike) => Some(-1.0),
                    Some(FeedbackKind::NotInterested) => {
                        not_interested = true;
                        Some(-1.0)
                    }
                    Some(FeedbackKind::Review) | None => None,
                };
                let weight = action
                    .or(feedback.rating.map(|r| (r - 3.0) / 2.0))
                    .or(text_polarity)
                    .unwrap_or(0.0);
                if weight != 0.0 {
                    let v = self.index.vector(position);
                    signals.push(Signal::new(
                        feedback.ts,
                        weight,
                        &v,
                        SignalSource::Item(id.to_string()),
                    )?);
                }
                if let Some(v) = text_vector {
                    let w = 0.5
                        * if weight != 0.0 {
                            weight
                        } else {
                            text_polarity.unwrap_or(0.0)
                        };
                    if w != 0.0 {
                        signals.push(Signal::new(
                            feedback.ts,
                            w,
                            v,
                            SignalSource::Review {
                                item: id.to_string(),
                                text,
                            },
                        )?);
                    }
                }
            }
        }
        // Every check passed: now change the profile.
        for s in signals {
            profile.add_signal(s)?;
        }
        if let Some((id, _)) = item {
            if not_interested {
                profile.mark_not_interested(id);
            } else {
                profile.mark_touched(id);
            }
        }
        Ok(())
    }

    /// The top items for `profile`.
    pub fn recommend(
        &self,
        profile: &IntentProfile,
        options: &RankOptions,
    ) -> Result<Vec<Recommendation>> {
        Ranker::new(&self.index).rank(profile, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CatalogueItem;
    use crate::testing::tiny_bundle;
    use crate::Quant;

    fn recommender() -> Recommender {
        let encoder = Encoder::from_bundle(tiny_bundle(Quant::F32, 9)).unwrap();
        let items: Vec<CatalogueItem> = [
            "war story",
            "funny comedy",
            "quick read",
            "long film",
            "love story",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| CatalogueItem {
            id: format!("x{i}"),
            title: t.to_string(),
            text: Some(t.to_string()),
            category: None,
            tags: vec![],
            price: None,
            popularity: Some(i as f64),
            url: None,
            attributes: Default::default(),
        })
        .collect();
        let index = CatalogueIndex::build(&encoder, &items, 40, |_, _| {}).unwrap();
        Recommender::new(encoder, index).unwrap()
    }

    #[test]
    fn bad_feedback_changes_nothing() {
        let r = recommender();
        let mut p = r.new_profile(ProfileSettings::default()).unwrap();
        r.record(&mut p, &Feedback::action(1, "x1", FeedbackKind::Like))
            .unwrap();
        let before = p.clone();
        for bad in [
            Feedback::action(2, "nope", FeedbackKind::Like),
            Feedback::rating(2, "x1", 9.0, None),
            Feedback::rating(2, "x1", f32::NAN, Some("text".into())),
            Feedback::text(2, ""),
            Feedback::default(),
        ] {
            assert!(r.record(&mut p, &bad).is_err(), "{bad:?}");
            assert_eq!(p, before, "{bad:?} left a trace");
        }
        assert!(matches!(
            r.record(&mut p, &Feedback::action(2, "nope", FeedbackKind::Like)),
            Err(Error::UnknownItem(id)) if id == "nope"
        ));
        let mut foreign = IntentProfile::new("other", 32, ProfileSettings::default()).unwrap();
        assert!(matches!(
            r.record(&mut foreign, &Feedback::text(0, "hi")),
            Err(Error::ModelMismatch { .. })
        ));
        assert!(r
            .record_embedded(&mut p, &Feedback::text(0, "hi"), Some(&[1.0; 3]))
            .is_err());
    }

    #[test]
    fn feedback_kinds_become_signals() {
        let r = recommender();
        let mut p = r.new_profile(ProfileSettings::default()).unwrap();
        r.record(&mut p, &Feedback::rating(1, "x0", 5.0, None))
            .unwrap();
        r.record(&mut p, &Feedback::rating(2, "x1", 3.0, None))
            .unwrap();
        r.record(
            &mut p,
            &Feedback::rating(3, "x2", 1.0, Some("boring".into())),
        )
        .unwrap();
        r.record(
            &mut p,
            &Feedback::action(4, "x3", FeedbackKind::NotInterested),
        )
        .unwrap();
        r.record(&mut p, &Feedback::text(5, "a quick funny read"))
            .unwrap();
        let w: Vec<f32> = p.signals().iter().map(|s| s.weight).collect();
        assert_eq!(
            &w[..4],
            &[1.0, -1.0, -0.5, -1.0],
            "5★ +1, 3★ nothing, 1★ −1 and its text −0.5, not interested −1"
        );
        assert_eq!(w.len(), 5);
        assert!(
            p.touched().contains("x1"),
            "a neutral rating still marks the item seen"
        );
        assert!(p.not_interested().contains("x3"));
        let recs = r
            .recommend(
                &p,
                &RankOptions {
                    k: 5,
                    ..Default::default()
                },
            )
            .unwrap();
        let ids: Vec<&str> = recs.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["x4"], "everything else was touched or rejected");
    }
}
