//! The recommender: encoder + catalogue index + polarity model. It turns
//! feedback into profile signals and ranks the catalogue for a profile.
//!
//! How feedback becomes signals (weights before time decay):
//! - free text, no item: the text's direction, weight = its polarity (−1…1);
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
                    signals.push(Signal::new(feedback.ts, p, v, SignalSource::Said(text))?);
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
