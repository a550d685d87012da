//! The ranker: profile + catalogue index → the top k items, each with why.
//!
//! `score = scene(item) · (α · relevance + (1 − α) · popularity)`, where
//! relevance is `(r + 1) / 2` of `r = best interest match − push-away`, both
//! in [0, 1]:
//! - best interest match: `max_k cos(item, interest_k) · (0.7 + 0.3 · w_k / w_max)`;
//! - push-away: `max_j (cos(item, negative_j) · w_j / w_max) − margin`, when positive,
//!   so a rejected item and its neighbours sink;
//! - popularity: the index's log-scaled popularity (or an override);
//! - scene: the product of the factors of the scene's boosts that match the item.
//!
//! Hard filters (category, tags, price, attribute ranges or values, excluded
//! ids, not-interested items, and seen items unless asked otherwise) remove
//! items before scoring. With diversity λ > 0 the final list is chosen by MMR
//! from a larger pool: `(1 − λ) · score − λ · max cos(item, already chosen)`.
//! A profile with no signal gives popularity (scene-weighted): cold start.
//!
//! When the index carries collaborative knowledge and the visitor has acted on
//! items that have factors, the visitor is folded in on the device
//! ([`UserFactors::fold_in`]) and the score becomes
//! `scene · (w_text · relevance + w_collab · collab + w_pop · popularity)`, with
//! `collab = max(0, y_i·x) / max_j y_j·x` and the weights learned for the
//! catalogue (stored in the index; [`RankOptions::blend`] overrides them).
//! Visitors with only free text, and indexes without the knowledge, keep the
//! formula above exactly; items nobody interacted with have no factors and
//! rank on their text and popularity.

mod explain;
mod filters;
mod options;
mod reading;
mod results;
mod scene;
mod select;
#[cfg(test)]
pub(crate) mod tests;

pub use filters::{AttributeFilter, Filters, NumericRange};
pub use options::{RankOptions, DEFAULT_ALPHA};
pub use results::{Effect, Reason, ReasonKind, Recommendation};
pub use scene::{Boost, BoostTarget, Scene};

use std::collections::BTreeSet;

use crate::cpu::score::{Kernel, Query};
use crate::rec::collab::{Blend, CollabModel, UserFactors};
use crate::rec::concept::FacetNames;
use crate::rec::index::CatalogueIndex;
use crate::rec::profile::{Directions, IntentProfile};
use crate::util::error::{Error, Result};

/// Per-item scores computed elsewhere (the GPU), in place of the CPU kernel's.
#[derive(Debug, Clone, Copy)]
pub struct ItemScoresRef<'a> {
    /// Per item: max over interests of `score · gain` (see [`Ranker::direction_weights`]).
    pub positive: &'a [f32],
    /// Per item: `max(0, max over negatives of score · weight − margin)`.
    pub push: &'a [f32],
}

/// Ranks one catalogue index.
#[derive(Debug, Clone)]
pub struct Ranker<'a> {
    index: &'a CatalogueIndex,
    popularity: &'a [f32],
    kernel: Kernel,
    scores: Option<ItemScoresRef<'a>>,
    facet_names: Option<&'a FacetNames>,
}

/// How much a wish lifts the items of the catalogue facets it names (added to
/// their cosine with the interests): "kung fu" lifts every Martial Arts film,
/// also those whose description says it in other words; an item carrying two
/// of the facets a wish names ("short and funny": Short and Comedy) twice.
pub const WISH_FACET_LIFT: f32 = 0.15;
/// The newest wishes in words that lift their facets (each is matched against
/// the whole catalogue at every ranking).
pub const LIFTING_WISHES: usize = 8;
/// The newest rejections in force that keep their concepts out (the same cost;
/// older ones still push their neighbours down as negative directions).
pub const KEPT_OUT_REJECTIONS: usize = 16;

impl<'a> Ranker<'a> {
    /// A ranker over `index`, with the index's popularity.
    pub fn new(index: &'a CatalogueIndex) -> Self {
        Self {
            index,
            popularity: index.popularity(),
            kernel: Kernel::detect(),
            scores: None,
            facet_names: None,
        }
    }

    /// Uses scores computed elsewhere (the GPU) for the directions the next
    /// ranking will use, weighted as [`Ranker::direction_weights`] says.
    pub fn with_item_scores(mut self, scores: ItemScoresRef<'a>) -> Result<Self> {
        let n = self.index.len();
        if scores.positive.len() != n || scores.push.len() != n {
            return Err(Error::InvalidInput {
                what: "item scores",
                reason: format!(
                    "needs {n} positive and push scores, got {} and {}",
                    scores.positive.len(),
                    scores.push.len()
                ),
            });
        }
        self.scores = Some(scores);
        Ok(self)
    }

    /// The weight of each interest (its gain: 0.7 to 1 by its strength) and
    /// of each negative (its strength relative to the strongest) in a ranking.
    pub fn direction_weights(directions: &Directions) -> (Vec<f32>, Vec<f32>) {
        let wmax =
            |ds: &[crate::rec::profile::Direction]| ds.iter().map(|d| d.weight).fold(0.0, f32::max);
        let (wi, wn) = (wmax(&directions.interests), wmax(&directions.negatives));
        (
            directions
                .interests
                .iter()
                .map(|d| 0.7 + 0.3 * d.weight / wi)
                .collect(),
            directions.negatives.iter().map(|d| d.weight / wn).collect(),
        )
    }

    /// Uses another popularity (one value in [0, 1] per item), e.g. counts the evaluation may see.
    pub fn with_popularity(mut self, popularity: &'a [f32]) -> Result<Self> {
        if popularity.len() != self.index.len() || popularity.iter().any(|p| !p.is_finite()) {
            return Err(Error::InvalidInput {
                what: "popularity",
                reason: format!(
                    "needs {} finite values, got {}",
                    self.index.len(),
                    popularity.len()
                ),
            });
        }
        self.popularity = popularity;
        Ok(self)
    }

    /// Grounds concepts in the catalogue's facet names too ([`crate::rec::concept::ConceptMatch`]),
    /// not only in its items (the [`crate::rec::recommender::Recommender`] embeds them).
    pub fn with_facet_names(mut self, names: &'a FacetNames) -> Self {
        self.facet_names = Some(names);
        self
    }

    /// The top `options.k` items for `profile`.
    pub fn rank(
        &self,
        profile: &IntentProfile,
        options: &RankOptions,
    ) -> Result<Vec<Recommendation>> {
        options.validate()?;
        profile.check_model(self.index.model_id(), self.index.dims())?;
        let mut excluded: BTreeSet<&str> =
            options.filters.exclude.iter().map(String::as_str).collect();
        excluded.extend(profile.not_interested().iter().map(String::as_str));
        if options.exclude_seen {
            excluded.extend(profile.seen().iter().map(String::as_str));
        }
        let (directions, kept_out, lift) = self.read_profile(profile, options.now);
        for (matched, _) in &kept_out {
            excluded.extend(
                matched
                    .items
                    .iter()
                    .enumerate()
                    .filter(|(_, &m)| m)
                    .map(|(i, _)| self.index.id(i)),
            );
        }
        let user = self.fold_in(profile);
        let chosen = self.select_lifted(&directions, user.as_ref(), &excluded, options, &lift);
        let signals = self.weighed_signals(profile, options.now);
        let kept_out_reasons: Vec<Reason> = kept_out
            .iter()
            .map(|(matched, rejection)| {
                let what = if matched.facets.is_empty() {
                    rejection.concept.clone()
                } else {
                    matched.facets.join(", ")
                };
                Reason {
                    kind: ReasonKind::KeptOut,
                    effect: Effect::Down,
                    evidence: format!(
                        "kept out: {what} (you said \u{201c}{}\u{201d})",
                        rejection.said
                    ),
                    item: None,
                    weight: 0.0,
                }
            })
            .collect();
        Ok(chosen
            .into_iter()
            .map(|(i, score, relevance)| {
                let mut why = self.explain(i, &signals, &directions, user.as_ref(), options);
                why.extend(kept_out_reasons.iter().cloned());
                Recommendation {
                    id: self.index.id(i).to_string(),
                    title: self.index.title(i).to_string(),
                    score,
                    relevance,
                    popularity: self.popularity[i],
                    why,
                    index: i,
                }
            })
            .collect())
    }

    /// The visitor folded into the index's collaborative space: their positive
    /// actions on items (likes, stars, purchases, views; the signal weights as
    /// strengths). `None` without knowledge or without such actions.
    pub fn fold_in(&self, profile: &IntentProfile) -> Option<UserFactors> {
        UserFactors::from_profile(self.index.collab()?, self.index, profile)
    }
}
