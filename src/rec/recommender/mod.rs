//! The recommender: catalogue index + encoder + polarity model. It turns
//! feedback into profile signals ([`learn`]) and ranks the catalogue for a
//! profile.
//!
//! Only text needs the encoder. Popularity, scenes, filters, stars, likes,
//! "not interested" and a stored profile need the catalogue index alone, so an
//! [`IndexRecommender`] made from the index ranks and learns from items while
//! the model is still on its way (text is then
//! [`Error::ModelNotLoaded`](crate::Error::ModelNotLoaded));
//! [`IndexRecommender::with_encoder`] gives the full [`Recommender`] once it
//! has arrived, which ranks the same profile the same way.
//!
//! How feedback becomes signals (weights before time decay):
//! - free text with a cue ("no horror please", "funny movies but not horror",
//!   "more like these") is read in parts by [`intent::parse`]: each wish's
//!   concept, embedded without its cue words, weight +1; each rejection's
//!   concept a [`SignalSource::Rejected`] signal (−1), which the ranker turns
//!   into a keep-out of the concept's items; an unmarked phrase as below;
//!   "more like these" +1 and "something different" a rejection, both along
//!   the mean of the recent likes;
//! - other free text, no item: the text's direction, weight +1 — a wish — unless its
//!   polarity says it clearly rejects something (≤ [`WISH_NEGATIVE_BELOW`]), then that
//!   polarity (down to −1);
//! - stars on an item: the item's direction, weight `(stars − 3) / 2`;
//! - a review (text on an item): the item's direction with the stars' weight,
//!   or the text's polarity when there are no stars, plus the text's own
//!   direction at half that weight (it names the aspects the user cares about);
//!   a review with cues ("loved the acting but the plot dragged") gives each
//!   aspect its own direction and polarity instead, and its mean polarity;
//! - like / purchase: +1; view: +0.3; dislike: −1; not interested: −1 and the
//!   item is never shown again.
//!
//! Recording is all-or-nothing: every check (item known, rating in range,
//! model matches, the model loaded where text needs it) and every embedding
//! happens before the profile changes.

mod learn;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::encoder::Encoder;
use crate::rec::concept::FacetNames;
use crate::rec::feedback::Feedback;
use crate::rec::index::CatalogueIndex;
use crate::rec::polarity::PolarityModel;
use crate::rec::profile::{IntentProfile, ProfileSettings};
use crate::rec::ranker::{RankOptions, Ranker, Recommendation};
use crate::util::error::Result;
use learn::Learner;

/// Polarity at or below which free text (no item) pushes away instead of toward.
/// The review-calibrated polarity reads neutral wishes ("a short, light, funny
/// comedy") as slightly negative; clear rejections ("I don't want war films",
/// "I hate musicals") score below −0.85.
pub const WISH_NEGATIVE_BELOW: f32 = -0.8;

/// Ranks one catalogue and learns from feedback on its items, with the
/// catalogue index alone: no encoder, so feedback text is
/// [`Error::ModelNotLoaded`](crate::Error::ModelNotLoaded) until
/// [`with_encoder`](Self::with_encoder) adds one. Cheap to clone (the index is
/// shared).
#[derive(Debug, Clone)]
pub struct IndexRecommender {
    index: Arc<CatalogueIndex>,
    /// The index's facet names embedded, once an encoder did it (see
    /// [`crate::rec::concept`]): they help ground rejected concepts in facets.
    facet_names: Option<Arc<FacetNames>>,
}

impl IndexRecommender {
    /// A recommender for `index` that needs no model: ranking, and feedback on items.
    pub fn new(index: CatalogueIndex) -> Self {
        Self {
            index: Arc::new(index),
            facet_names: None,
        }
    }

    /// The full recommender, with `encoder` to read text: checks the index was
    /// built with the encoder's model, and prepares the polarity anchors and
    /// the facet names (embedded here, with the anchors, so that no feedback
    /// pays for them: 81 short names on the film catalogue). The index is
    /// shared, not copied; on error `self` is unchanged.
    pub fn with_encoder(&self, encoder: Encoder) -> Result<Recommender> {
        self.index.check_model(encoder.model_id(), encoder.dims())?;
        let polarity = PolarityModel::new(&encoder)?;
        let names = FacetNames::names(&self.index);
        let facet_names = Arc::new(FacetNames {
            vectors: encoder
                .embed_batch(&names)?
                .rows()
                .map(<[f32]>::to_vec)
                .collect(),
        });
        Ok(Recommender {
            base: Self {
                index: self.index.clone(),
                facet_names: Some(facet_names.clone()),
            },
            text: TextModel { encoder, polarity },
            facet_names,
        })
    }

    /// The catalogue index.
    pub fn index(&self) -> &CatalogueIndex {
        &self.index
    }

    /// The index's facet names, embedded: `None` until an encoder embedded them.
    pub fn facet_names(&self) -> Option<&FacetNames> {
        self.facet_names.as_deref()
    }

    /// The ranker for this index, with its facet names when they are known.
    pub fn ranker(&self) -> Ranker<'_> {
        let ranker = Ranker::new(&self.index);
        match self.facet_names() {
            Some(names) => ranker.with_facet_names(names),
            None => ranker,
        }
    }

    /// An empty profile for the index's model.
    pub fn new_profile(&self, settings: ProfileSettings) -> Result<IntentProfile> {
        IntentProfile::new(self.index.model_id(), self.index.dims(), settings)
    }

    /// Folds one piece of feedback on an item (stars, like, view, purchase,
    /// dislike, not interested) into `profile`. Feedback with text needs the
    /// model: [`Error::ModelNotLoaded`](crate::Error::ModelNotLoaded), and the
    /// profile is unchanged.
    pub fn record(&self, profile: &mut IntentProfile, feedback: &Feedback) -> Result<()> {
        self.learner().record(profile, feedback)
    }

    /// The top items for `profile`.
    pub fn recommend(
        &self,
        profile: &IntentProfile,
        options: &RankOptions,
    ) -> Result<Vec<Recommendation>> {
        self.ranker().rank(profile, options)
    }

    fn learner(&self) -> Learner<'_> {
        Learner {
            index: &self.index,
            text: None,
        }
    }
}

impl AsRef<IndexRecommender> for IndexRecommender {
    fn as_ref(&self) -> &IndexRecommender {
        self
    }
}

/// What reading text takes: the encoder and the polarity model built on it.
#[derive(Debug)]
struct TextModel {
    encoder: Encoder,
    polarity: PolarityModel,
}

/// Everything needed to learn from feedback, text included, and rank one
/// catalogue: an [`IndexRecommender`] with its encoder.
#[derive(Debug)]
pub struct Recommender {
    /// The index and its facet names (always embedded here).
    base: IndexRecommender,
    text: TextModel,
    facet_names: Arc<FacetNames>,
}

impl Recommender {
    /// Checks the index was built with the encoder's model, and prepares the
    /// polarity anchors and the facet names (see [`IndexRecommender::with_encoder`]).
    pub fn new(encoder: Encoder, index: CatalogueIndex) -> Result<Self> {
        IndexRecommender::new(index).with_encoder(encoder)
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.text.encoder
    }
    /// The catalogue index.
    pub fn index(&self) -> &CatalogueIndex {
        self.base.index()
    }
    /// The polarity model.
    pub fn polarity(&self) -> &PolarityModel {
        &self.text.polarity
    }

    /// The index's facet names (tags, then categories), embedded.
    pub fn facet_names(&self) -> &FacetNames {
        &self.facet_names
    }

    /// The recommender without its encoder (it shares the index): what ranks
    /// and learns from items.
    pub fn index_recommender(&self) -> &IndexRecommender {
        &self.base
    }

    /// The ranker for this recommender's index, with its facet names.
    pub fn ranker(&self) -> Ranker<'_> {
        self.base.ranker()
    }

    /// An empty profile for this model.
    pub fn new_profile(&self, settings: ProfileSettings) -> Result<IntentProfile> {
        self.base.new_profile(settings)
    }

    /// Folds one piece of feedback into `profile` (embedding its text, or the
    /// parts of it that [`crate::rec::intent::parse`] reads: see the module doc).
    pub fn record(&self, profile: &mut IntentProfile, feedback: &Feedback) -> Result<()> {
        self.learner().record(profile, feedback)
    }

    /// Like [`record`](Self::record), with the text's embedding already computed
    /// (e.g. in a batch); `text_vector` is ignored when the feedback has no text.
    pub fn record_embedded(
        &self,
        profile: &mut IntentProfile,
        feedback: &Feedback,
        text_vector: Option<&[f32]>,
    ) -> Result<()> {
        self.learner()
            .record_embedded(profile, feedback, text_vector)
    }

    /// The top items for `profile`.
    pub fn recommend(
        &self,
        profile: &IntentProfile,
        options: &RankOptions,
    ) -> Result<Vec<Recommendation>> {
        self.base.recommend(profile, options)
    }

    fn learner(&self) -> Learner<'_> {
        Learner {
            index: self.base.index(),
            text: Some(&self.text),
        }
    }
}

impl AsRef<IndexRecommender> for Recommender {
    fn as_ref(&self) -> &IndexRecommender {
        &self.base
    }
}
