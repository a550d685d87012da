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

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::collab::{Blend, CollabModel, UserFactors};
use crate::concept::{ConceptMatch, FacetNames};
use crate::error::{Error, Result};
use crate::index::{Attribute, CatalogueIndex};
use crate::profile::{Directions, IntentProfile, Rejection, Signal, SignalSource};
use crate::scoring::{top_k, Kernel, Query};

/// A numeric range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumericRange {
    /// Inclusive lower bound.
    #[serde(default)]
    pub min: Option<f64>,
    /// Inclusive upper bound.
    #[serde(default)]
    pub max: Option<f64>,
}

impl NumericRange {
    fn contains(&self, x: f64) -> bool {
        self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m)
    }
    fn validate(&self, what: &'static str) -> Result<()> {
        for b in [self.min, self.max].into_iter().flatten() {
            if !b.is_finite() {
                return Err(Error::InvalidInput {
                    what,
                    reason: format!("range bound {b} is not a finite number"),
                });
            }
        }
        Ok(())
    }
}

/// A filter on one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeFilter {
    /// Attribute name.
    pub key: String,
    /// Numeric range the value must fall in.
    #[serde(default)]
    pub range: Option<NumericRange>,
    /// Values (strings) one of which the attribute must equal.
    #[serde(default)]
    pub one_of: Vec<String>,
}

impl AttributeFilter {
    fn matches(&self, value: Option<Attribute<'_>>) -> bool {
        match value {
            None => false,
            Some(Attribute::Number(x)) => {
                self.range.is_none_or(|r| r.contains(x))
                    && (self.one_of.is_empty()
                        || self.one_of.iter().any(|v| v.parse::<f64>().ok() == Some(x)))
            }
            Some(Attribute::Text(s)) => {
                self.range.is_none()
                    && (self.one_of.is_empty() || self.one_of.iter().any(|v| v == s))
            }
        }
    }
}

/// Hard filters: an item must pass all of them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    /// Allowed categories (empty: any).
    #[serde(default)]
    pub categories: Vec<String>,
    /// The item must have at least one of these tags (empty: any).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Price range (items without a price fail a price filter).
    #[serde(default)]
    pub price: Option<NumericRange>,
    /// Attribute conditions.
    #[serde(default)]
    pub attributes: Vec<AttributeFilter>,
    /// Item ids never to return.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Filters {
    /// Does item `i` of `index` pass every filter (exclusions aside)?
    pub fn matches(&self, index: &CatalogueIndex, i: usize) -> bool {
        self.compile(index).matches(index, i)
    }

    /// Resolves names to the index's tables once, for many items.
    fn compile<'a>(&'a self, index: &CatalogueIndex) -> CompiledFilters<'a> {
        let ids = |names: &[String], f: &dyn Fn(&str) -> Option<u32>| -> Option<Vec<u32>> {
            (!names.is_empty()).then(|| names.iter().filter_map(|n| f(n)).collect())
        };
        CompiledFilters {
            categories: ids(&self.categories, &|n| index.category_named(n)),
            tags: ids(&self.tags, &|n| index.tag_named(n)),
            price: self.price,
            attributes: self
                .attributes
                .iter()
                .map(|a| (index.attribute_named(&a.key), a))
                .collect(),
        }
    }
}

/// Filters with names resolved to table indices (`None`: no condition).
struct CompiledFilters<'a> {
    categories: Option<Vec<u32>>,
    tags: Option<Vec<u32>>,
    price: Option<NumericRange>,
    attributes: Vec<(Option<u32>, &'a AttributeFilter)>,
}

impl CompiledFilters<'_> {
    fn matches(&self, index: &CatalogueIndex, i: usize) -> bool {
        self.categories
            .as_ref()
            .is_none_or(|c| index.category_id(i).is_some_and(|x| c.contains(&x)))
            && self
                .tags
                .as_ref()
                .is_none_or(|t| index.tag_ids(i).iter().any(|x| t.contains(x)))
            && self
                .price
                .is_none_or(|r| index.price(i).is_some_and(|p| r.contains(f64::from(p))))
            && self
                .attributes
                .iter()
                .all(|(key, f)| f.matches(key.and_then(|k| index.attribute(i, k))))
    }
}

/// What a scene boost applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoostTarget {
    /// Items of this category.
    Category(String),
    /// Items with this tag.
    Tag(String),
    /// Items whose attribute `key` lies in a range (numbers) or equals a value (strings).
    Attribute {
        /// Attribute name.
        key: String,
        /// Numeric range.
        #[serde(default)]
        range: Option<NumericRange>,
        /// String value.
        #[serde(default)]
        equals: Option<String>,
    },
}

/// One re-weighting rule of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boost {
    /// What it applies to.
    pub target: BoostTarget,
    /// Score multiplier (> 0; < 1 demotes).
    pub factor: f32,
}

/// A named context ("gift", "commute") that re-weights categories, tags or attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Name shown in explanations.
    pub name: String,
    /// Rules; every matching rule's factor multiplies the score.
    pub boosts: Vec<Boost>,
}

impl Scene {
    /// The product of the factors of the boosts that match item `i` of `index`.
    pub fn factor(&self, index: &CatalogueIndex, i: usize) -> f32 {
        self.boosts
            .iter()
            .filter(|b| match &b.target {
                BoostTarget::Category(c) => index.category(i) == Some(c.as_str()),
                BoostTarget::Tag(t) => index
                    .tag_named(t)
                    .is_some_and(|t| index.tag_ids(i).contains(&t)),
                BoostTarget::Attribute { key, range, equals } => {
                    match index
                        .attribute_named(key)
                        .and_then(|k| index.attribute(i, k))
                    {
                        Some(Attribute::Number(x)) => range.is_some_and(|r| r.contains(x)),
                        Some(Attribute::Text(s)) => equals.as_deref() == Some(s),
                        None => false,
                    }
                }
            })
            .map(|b| b.factor)
            .product()
    }
    fn validate(&self) -> Result<()> {
        for b in &self.boosts {
            if !(b.factor.is_finite() && b.factor > 0.0) {
                return Err(Error::InvalidInput {
                    what: "scene",
                    reason: format!(
                        "scene `{}` has factor {}: must be a positive number",
                        self.name, b.factor
                    ),
                });
            }
        }
        Ok(())
    }
}

/// What to rank and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(default)]
pub struct RankOptions {
    /// How many results.
    pub k: usize,
    /// Weight of relevance against popularity, in [0, 1].
    pub alpha: f32,
    /// MMR diversity λ in [0, 1] (0: off).
    pub diversity: f32,
    /// Leave out items the user already interacted with.
    pub exclude_seen: bool,
    /// Cosine to a rejected item under which it has no effect.
    pub negative_margin: f32,
    /// Hard filters.
    pub filters: Filters,
    /// Optional scene.
    pub scene: Option<Scene>,
    /// "Now" for time decay (unix seconds).
    pub now: i64,
    /// Blend weights for indexes with collaborative knowledge (default: the index's learned ones).
    pub blend: Option<Blend>,
}

impl Default for RankOptions {
    fn default() -> Self {
        Self {
            k: 10,
            alpha: 0.9,
            diversity: 0.0,
            exclude_seen: true,
            negative_margin: 0.25,
            filters: Filters::default(),
            scene: None,
            now: 0,
            blend: None,
        }
    }
}

impl RankOptions {
    /// Checks every number is in range.
    pub fn validate(&self) -> Result<()> {
        let unit = |what: &'static str, x: f32| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                Err(Error::InvalidInput {
                    what,
                    reason: format!("{x} is not in [0, 1]"),
                })
            }
        };
        unit("alpha", self.alpha)?;
        unit("diversity", self.diversity)?;
        if !(self.negative_margin.is_finite() && (-1.0..=1.0).contains(&self.negative_margin)) {
            return Err(Error::InvalidInput {
                what: "negative_margin",
                reason: format!("{} is not in [-1, 1]", self.negative_margin),
            });
        }
        if self.k == 0 || self.k > 10_000 {
            return Err(Error::InvalidInput {
                what: "k",
                reason: format!("{} is not between 1 and 10000", self.k),
            });
        }
        if let Some(p) = &self.filters.price {
            p.validate("price filter")?;
        }
        for a in &self.filters.attributes {
            if let Some(r) = &a.range {
                r.validate("attribute filter")?;
            }
        }
        if let Some(s) = &self.scene {
            s.validate()?;
        }
        if let Some(b) = &self.blend {
            b.validate()?;
        }
        Ok(())
    }
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Pulled this item up.
    Up,
    /// Pushed items like this one down.
    Down,
}

/// What kind of evidence a reason is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The user's own feedback (words or an item), by text similarity.
    #[default]
    Feedback,
    /// "People who liked X also liked this": the store's collaborative knowledge.
    Collaborative,
    /// Popularity (cold start).
    Popular,
    /// The scene's boosts.
    Scene,
    /// A concept the visitor rejected: its items are kept out of this list.
    KeptOut,
}

/// One reason a result is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// What kind of evidence.
    #[serde(default)]
    pub kind: ReasonKind,
    /// Up or down.
    pub effect: Effect,
    /// The user's words, an item title, "people who liked X also liked this", "popular", or the scene's name.
    pub feedback: String,
    /// The item the feedback was about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// How much it moved the score (signed).
    pub weight: f32,
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Item id.
    pub id: String,
    /// Item title.
    pub title: String,
    /// Final score (higher first).
    pub score: f32,
    /// Relevance to the profile in [0, 1] (0.5 = neutral).
    pub relevance: f32,
    /// Normalised popularity.
    pub popularity: f32,
    /// Why it is here.
    pub why: Vec<Reason>,
    /// Position in the index.
    #[serde(skip)]
    pub index: usize,
}

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
            |ds: &[crate::profile::Direction]| ds.iter().map(|d| d.weight).fold(0.0, f32::max);
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

    /// Grounds concepts in the catalogue's facet names too ([`ConceptMatch`]),
    /// not only in its items (the [`crate::Recommender`] embeds them).
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
            excluded.extend(profile.touched().iter().map(String::as_str));
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
                    feedback: format!(
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

    /// The profile's directions with the rejections in force matched to the
    /// catalogue ([`ConceptMatch`]). The newer word wins: a like older than a
    /// rejection that covers its item no longer pulls, and a rejection older
    /// than a wish in words naming one of its facets is lifted. Also the lift
    /// of each item from the facets the visitor's wishes name ([`WISH_FACET_LIFT`]).
    pub fn read_profile(
        &self,
        profile: &IntentProfile,
        now: i64,
    ) -> (Directions, Vec<(ConceptMatch, Rejection)>, Vec<f32>) {
        let find = |v: &[f32]| ConceptMatch::find(self.index, self.kernel, v, self.facet_names);
        // The newest wishes in words, matched once: they lift their facets and
        // lift older rejections of the same facets.
        let wishes: Vec<(usize, ConceptMatch)> = profile
            .signals()
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, s)| s.weight > 0.0 && matches!(s.source, SignalSource::Said(_)))
            .take(LIFTING_WISHES)
            .map(|(at, s)| (at, find(&s.vector())))
            .collect();
        let directions = profile.directions(now);
        let newest = directions
            .rejections
            .len()
            .saturating_sub(KEPT_OUT_REJECTIONS);
        type Matched = Vec<(ConceptMatch, Rejection)>;
        let (kept_out, asked_again): (Matched, Matched) = directions.rejections[newest..]
            .iter()
            .map(|r| (find(&r.vector), r.clone()))
            .partition(|(m, r)| {
                !wishes.iter().any(|(at, w)| {
                    *at > r.at
                        && !m.facets.is_empty()
                        && w.facets.iter().any(|f| m.facets.contains(f))
                })
            });
        let lifted = |at: usize| asked_again.iter().any(|(_, r)| r.at == at);
        let covered = |at: usize, s: &Signal| {
            s.weight > 0.0
                && s.source
                    .item()
                    .and_then(|id| self.index.position(id))
                    .is_some_and(|p| {
                        kept_out
                            .iter()
                            .any(|(m, r)| at < r.at && m.items.get(p).copied().unwrap_or(false))
                    })
        };
        let directions = if kept_out.is_empty() && asked_again.is_empty() {
            directions
        } else {
            profile.directions_where(now, |at, s| !covered(at, s) && !lifted(at))
        };
        let mut lift = vec![0f32; self.index.len()];
        for (_, matched) in &wishes {
            for ((l, &m), &hits) in lift
                .iter_mut()
                .zip(&matched.in_facets)
                .zip(&matched.facet_hits)
            {
                if m {
                    // Its best facet, and one more it names ("short" and "funny").
                    *l = l.max(WISH_FACET_LIFT * f32::from(hits.min(2)));
                }
            }
        }
        (directions, kept_out, lift)
    }

    /// The visitor folded into the index's collaborative space: their positive
    /// actions on items (likes, stars, purchases, views; the signal weights as
    /// strengths). `None` without knowledge or without such actions.
    pub fn fold_in(&self, profile: &IntentProfile) -> Option<UserFactors> {
        UserFactors::from_profile(self.index.collab()?, self.index, profile)
    }

    /// Ranks by directions alone (no explanations): (index, score, relevance), best first.
    pub fn select(
        &self,
        directions: &Directions,
        excluded: &BTreeSet<&str>,
        options: &RankOptions,
    ) -> Vec<(usize, f32, f32)> {
        self.select_blended(directions, None, excluded, options)
    }

    /// Ranks by directions and, when given, the visitor's collaborative factors
    /// (no explanations): (index, score, relevance), best first.
    pub fn select_blended(
        &self,
        directions: &Directions,
        user: Option<&UserFactors>,
        excluded: &BTreeSet<&str>,
        options: &RankOptions,
    ) -> Vec<(usize, f32, f32)> {
        self.select_lifted(directions, user, excluded, options, &[])
    }

    /// [`select_blended`](Self::select_blended) with a per-item lift of the
    /// text relevance (empty: none).
    fn select_lifted(
        &self,
        directions: &Directions,
        user: Option<&UserFactors>,
        excluded: &BTreeSet<&str>,
        options: &RankOptions,
        lift: &[f32],
    ) -> Vec<(usize, f32, f32)> {
        let index = self.index;
        let lift_of = |i: usize| lift.get(i).copied().unwrap_or(0.0);
        let collab: Option<(Vec<f32>, Blend)> = index.collab().zip(user).map(|(model, u)| {
            (
                u.normalized_scores(model, self.kernel),
                options.blend.unwrap_or(model.blend()),
            )
        });
        let m = index.matrix();
        let filters = options.filters.compile(index);
        let excluded_positions: BTreeSet<usize> = excluded
            .iter()
            .filter_map(|id| index.position(id))
            .collect();
        let eligible: Vec<usize> = (0..index.len())
            .filter(|&i| !excluded_positions.contains(&i) && filters.matches(index, i))
            .collect();
        let scene = |i: usize| options.scene.as_ref().map_or(1.0, |s| s.factor(index, i));
        let alpha = if directions.is_empty() {
            0.0
        } else {
            options.alpha
        };

        let (gains, strengths) = Self::direction_weights(directions);
        let interests: Vec<(Query, f32)> = directions
            .interests
            .iter()
            .zip(gains)
            .map(|(d, g)| (Query::new(&d.vector), g))
            .collect();
        let negatives: Vec<(Query, f32)> = directions
            .negatives
            .iter()
            .zip(strengths)
            .map(|(d, h)| (Query::new(&d.vector), h))
            .collect();
        let given = self.scores;
        let positive = |i: usize| -> f32 {
            if let Some(given) = given {
                return given.positive[i] + lift_of(i);
            }
            interests
                .iter()
                .map(|(q, g)| m.score(self.kernel, i, q) * g)
                .fold(
                    if interests.is_empty() {
                        0.0
                    } else {
                        f32::NEG_INFINITY
                    },
                    f32::max,
                )
                + lift_of(i)
        };
        let push = |i: usize| -> f32 {
            if let Some(given) = given {
                return given.push[i];
            }
            negatives
                .iter()
                .map(|(q, h)| m.score(self.kernel, i, q) * h - options.negative_margin)
                .fold(0.0, f32::max)
        };
        let combine = |i: usize, r: f32| -> (f32, f32) {
            let relevance = ((r + 1.0) / 2.0).clamp(0.0, 1.0);
            let blended = match &collab {
                Some((c, b)) => {
                    b.text * relevance + b.collaborative * c[i] + b.popularity * self.popularity[i]
                }
                None => alpha * relevance + (1.0 - alpha) * self.popularity[i],
            };
            (scene(i) * blended, relevance)
        };

        // Upper bounds ignore the push-away (it only lowers scores); exact scores are
        // computed for the best bounds until no unexamined bound can beat the pool.
        let pos: Vec<f32> = eligible.iter().map(|&i| positive(i)).collect();
        let upper: Vec<(usize, f32)> = eligible
            .iter()
            .zip(&pos)
            .map(|(&i, &p)| (i, combine(i, p).0))
            .collect();
        let pool = if options.diversity > 0.0 {
            (options.k * 5).max(50)
        } else {
            options.k
        };
        let pos_of = |i: usize| pos[eligible.partition_point(|&e| e < i)];
        let mut take = if negatives.is_empty() { pool } else { pool * 4 };
        let exact = loop {
            let best = top_k(upper.iter().copied(), take.saturating_add(1));
            let examined = &best[..best.len().min(take)];
            let mut exact: Vec<(usize, f32, f32)> = examined
                .iter()
                .map(|&(i, _)| {
                    let (s, r) = combine(i, pos_of(i) - push(i));
                    (i, s, r)
                })
                .collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let next_bound = best.get(take).map(|b| b.1);
            let settled = match (next_bound, exact.get(pool.saturating_sub(1))) {
                (None, _) => true,
                (Some(bound), Some(&(_, s, _))) => s >= bound,
                (Some(_), None) => false,
            };
            if settled || take >= upper.len() {
                exact.truncate(pool);
                break exact;
            }
            take = take.saturating_mul(4);
        };
        if options.diversity > 0.0 {
            self.mmr(exact, options.k, options.diversity)
        } else {
            exact.into_iter().take(options.k).collect()
        }
    }

    /// Greedy maximal marginal relevance over a scored pool.
    fn mmr(&self, pool: Vec<(usize, f32, f32)>, k: usize, lambda: f32) -> Vec<(usize, f32, f32)> {
        let m = self.index.matrix();
        let queries: Vec<Query> = pool
            .iter()
            .map(|&(i, _, _)| Query::new(&self.index.vector(i)))
            .collect();
        let mut max_sim = vec![f32::NEG_INFINITY; pool.len()];
        let mut taken = vec![false; pool.len()];
        let mut out = Vec::with_capacity(k);
        while out.len() < k.min(pool.len()) {
            let mut best: Option<(usize, f32)> = None;
            for (p, &(_, score, _)) in pool.iter().enumerate() {
                if taken[p] {
                    continue;
                }
                let penalty = if out.is_empty() { 0.0 } else { max_sim[p] };
                let value = (1.0 - lambda) * score - lambda * penalty;
                if best.is_none_or(|(_, v)| value > v) {
                    best = Some((p, value));
                }
            }
            let Some((p, _)) = best else { break };
            taken[p] = true;
            out.push(pool[p]);
            for (o, &(i, _, _)) in pool.iter().enumerate() {
                if !taken[o] {
                    max_sim[o] = max_sim[o].max(m.score(self.kernel, i, &queries[p]));
                }
            }
        }
        out
    }

    /// The feedback that pulled item `i` up most, and the rejection that pushed its neighbours down.
    /// What `explain` needs of each signal, prepared once per ranking.
    fn weighed_signals<'p>(
        &self,
        profile: &'p IntentProfile,
        now: i64,
    ) -> Vec<(f32, Query, &'p SignalSource)> {
        let hl = profile.settings().half_life_days;
        profile
            .signals()
            .iter()
            .map(|s| (s.decayed(now, hl), Query::new(&s.vector()), &s.source))
            .filter(|(w, _, _)| *w != 0.0)
            .collect()
    }

    /// The words or item title a signal shows in an explanation.
    fn describe(&self, source: &SignalSource) -> (String, Option<String>) {
        match source {
            SignalSource::Said(t) => (t.clone(), None),
            SignalSource::Rejected { said, .. } => (said.clone(), None),
            SignalSource::Review { item, text } => (text.clone(), Some(item.clone())),
            SignalSource::Item(id) => {
                let title = self
                    .index
                    .position(id)
                    .map(|p| self.index.title(p))
                    .filter(|t| !t.is_empty());
                (
                    title.map_or_else(|| id.clone(), str::to_string),
                    Some(id.clone()),
                )
            }
        }
    }

    fn explain(
        &self,
        i: usize,
        signals: &[(f32, Query, &SignalSource)],
        directions: &Directions,
        user: Option<&UserFactors>,
        options: &RankOptions,
    ) -> Vec<Reason> {
        let m = self.index.matrix();
        let mut ups: Vec<(f32, &SignalSource)> = Vec::new();
        let mut down: Option<(f32, &SignalSource)> = None;
        for &(w, ref q, source) in signals {
            let cos = m.score(self.kernel, i, q);
            if w > 0.0 && cos > 0.0 {
                ups.push((w * cos, source));
            } else if w < 0.0 && cos > options.negative_margin {
                let push = -w * (cos - options.negative_margin);
                if down.is_none_or(|(p, _)| push > p) {
                    down = Some((push, source));
                }
            }
        }
        ups.sort_by(|a, b| b.0.total_cmp(&a.0));
        let reason = |effect: Effect, weight: f32, source: &SignalSource| {
            let (feedback, item) = self.describe(source);
            Reason {
                kind: ReasonKind::Feedback,
                effect,
                feedback,
                item,
                weight,
            }
        };
        let mut why: Vec<Reason> = ups
            .into_iter()
            .take(2)
            .map(|(w, src)| reason(Effect::Up, w, src))
            .collect();
        if let Some(r) = self.index.collab().zip(user).and_then(|(model, u)| {
            let blend = options.blend.unwrap_or(model.blend());
            self.people_also_liked(model, u, blend, i)
        }) {
            why.push(r);
        }
        why.extend(down.map(|(p, src)| reason(Effect::Down, -p, src)));
        if directions.interests.is_empty() {
            why.push(Reason {
                kind: ReasonKind::Popular,
                effect: Effect::Up,
                feedback: "popular".into(),
                item: None,
                weight: self.popularity[i],
            });
        }
        if let Some(scene) = &options.scene {
            let f = scene.factor(self.index, i);
            if f != 1.0 {
                why.push(Reason {
                    kind: ReasonKind::Scene,
                    effect: if f > 1.0 { Effect::Up } else { Effect::Down },
                    feedback: format!("scene: {}", scene.name),
                    item: None,
                    weight: f.ln(),
                });
            }
        }
        why
    }

    /// "People who liked X also liked this": the visitor's item with the largest
    /// share in item `i`'s collaborative score, when that share is positive.
    fn people_also_liked(
        &self,
        model: &CollabModel,
        user: &UserFactors,
        blend: Blend,
        i: usize,
    ) -> Option<Reason> {
        let (j, share) = user.strongest_share(model, i)?;
        if share <= 0.0 || blend.collaborative <= 0.0 {
            return None;
        }
        let id = self.index.id(j);
        let title = Some(self.index.title(j))
            .filter(|t| !t.is_empty())
            .unwrap_or(id);
        Some(Reason {
            kind: ReasonKind::Collaborative,
            effect: Effect::Up,
            feedback: format!("people who liked {title} also liked this"),
            item: Some(id.to_string()),
            weight: share,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalogue::{AttributeValue, CatalogueItem};
    use crate::encoder::Embeddings;
    use crate::profile::{ProfileSettings, Signal};

    pub const DIMS: usize = 8;

    /// A unit vector mostly along `axis`, tilted toward `axis + 1` by `tilt`.
    pub fn dir(axis: usize, tilt: f32) -> Vec<f32> {
        let mut v = [0.0; DIMS];
        v[axis % DIMS] = 1.0;
        v[(axis + 1) % DIMS] = tilt;
        let n = (1.0 + tilt * tilt).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// 16 items: two per axis (a slightly tilted twin), categories by axis parity,
    /// price = index, popularity rising with index.
    pub fn index() -> CatalogueIndex {
        let mut items = Vec::new();
        let mut data = Vec::new();
        for i in 0..16 {
            let axis = i / 2;
            items.push(CatalogueItem {
                id: format!("i{i}"),
                title: format!("Item {i}"),
                text: Some(format!("text {i}")),
                category: Some(if axis % 2 == 0 { "even" } else { "odd" }.into()),
                tags: vec![format!("axis{axis}")],
                price: Some(i as f64),
                popularity: Some(i as f64),
                url: None,
                attributes: [(
                    "year".to_string(),
                    AttributeValue::Number(1990.0 + i as f64),
                )]
                .into_iter()
                .collect(),
            });
            data.extend(dir(axis, if i % 2 == 0 { 0.0 } else { 0.2 }));
        }
        CatalogueIndex::from_embeddings(
            &items,
            &Embeddings::from_rows(DIMS, data).unwrap(),
            "m",
            50,
        )
        .unwrap()
    }

    pub fn profile() -> IntentProfile {
        IntentProfile::new("m", DIMS, ProfileSettings::default()).unwrap()
    }

    fn ids(r: &[Recommendation]) -> Vec<String> {
        r.iter().map(|x| x.id.clone()).collect()
    }

    #[test]
    fn a_rejection_keeps_its_facet_out_and_says_so_until_a_newer_wish() {
        use crate::concept::tests::{index as faceted, near, DIMS as FDIMS};
        let index = faceted();
        let mut p = IntentProfile::new("m", FDIMS, ProfileSettings::default()).unwrap();
        // A like of an item the rejection will cover, then the rejection.
        p.add_signal(
            Signal::new(1, 1.0, &index.vector(21), SignalSource::Item("i21".into())).unwrap(),
        )
        .unwrap();
        let rejected = SignalSource::Rejected {
            concept: "two".into(),
            said: "no two please".into(),
        };
        p.add_signal(Signal::new(2, -1.0, &near(2, 0), rejected).unwrap())
            .unwrap();
        let ranker = Ranker::new(&index);
        let (directions, kept_out, _) = ranker.read_profile(&p, 3);
        assert!(
            directions.interests.is_empty(),
            "the covered like no longer pulls"
        );
        assert_eq!(kept_out.len(), 1);
        let opts = RankOptions {
            k: 30,
            now: 3,
            ..RankOptions::default()
        };
        let r = ranker.rank(&p, &opts).unwrap();
        assert_eq!(r.len(), 30);
        for rec in &r {
            assert!(
                !(20..30).contains(&rec.index) && rec.index != 59,
                "{} is of the rejected facet",
                rec.id
            );
            let kept = rec
                .why
                .iter()
                .find(|w| w.kind == ReasonKind::KeptOut)
                .unwrap();
            assert_eq!(
                kept.feedback,
                "kept out: t2 (you said \u{201c}no two please\u{201d})"
            );
            assert_eq!(kept.effect, Effect::Down);
        }
        // Asked for again in words: the rejection lifts and the facet returns.
        p.add_signal(
            Signal::new(4, 1.0, &near(2, 1), SignalSource::Said("two again".into())).unwrap(),
        )
        .unwrap();
        let opts = RankOptions { now: 5, ..opts };
        let r = ranker.rank(&p, &opts).unwrap();
        assert!((20..30).contains(&r[0].index), "{}", r[0].id);
        assert!(r
            .iter()
            .all(|x| x.why.iter().all(|w| w.kind != ReasonKind::KeptOut)));
    }

    #[test]
    fn a_wish_naming_a_rejected_facet_lifts_it_even_in_the_same_second() {
        use crate::concept::tests::{index as faceted, near, DIMS as FDIMS};
        let index = faceted();
        let ranker = Ranker::new(&index);
        let mut p = IntentProfile::new("m", FDIMS, ProfileSettings::default()).unwrap();
        let rejected = SignalSource::Rejected {
            concept: "two".into(),
            said: "no two".into(),
        };
        p.add_signal(Signal::new(7, -1.0, &near(2, 0), rejected).unwrap())
            .unwrap();
        // Between facets two and four: under the cosine that lifts by direction
        // alone, but naming facet two among its facets.
        let mut between = vec![0f32; FDIMS];
        between[2] = 0.7;
        between[4] = 0.714;
        let n = crate::ops::dot(&between, &between).sqrt();
        between.iter_mut().for_each(|x| *x /= n);
        assert!(crate::ops::dot(&between, &near(2, 0)) < crate::profile::ASKED_AGAIN_COSINE);
        // The facet name "t2" reads like the wish.
        let names = crate::concept::FacetNames {
            vectors: crate::concept::FacetNames::names(&index)
                .iter()
                .map(|n| {
                    if *n == "t2" {
                        between.clone()
                    } else {
                        near(12, 0)
                    }
                })
                .collect(),
        };
        let ranker = ranker.with_facet_names(&names);
        let (_, kept_out, _) = ranker.read_profile(&p, 8);
        assert_eq!(kept_out.len(), 1);
        p.add_signal(
            Signal::new(7, 1.0, &between, SignalSource::Said("two or four".into())).unwrap(),
        )
        .unwrap();
        let (directions, kept_out, _) = ranker.read_profile(&p, 8);
        let wish = ConceptMatch::find(&index, Kernel::detect(), &between, Some(&names));
        assert!(
            kept_out.is_empty(),
            "lifted by the newer wish naming {:?}",
            wish.facets
        );
        assert!(
            directions.negatives.is_empty(),
            "and no longer pushes either"
        );
    }

    #[test]
    fn cold_start_is_popularity() {
        let index = index();
        let r = Ranker::new(&index)
            .rank(
                &profile(),
                &RankOptions {
                    k: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&r), ["i15", "i14", "i13"]);
        assert!(r[0].why.iter().any(|w| w.feedback == "popular"));
    }

    #[test]
    fn a_wish_pulls_its_items_up_and_says_why() {
        let index = index();
        let mut p = profile();
        p.add_signal(
            Signal::new(
                0,
                1.0,
                &dir(2, 0.0),
                SignalSource::Said("axis two please".into()),
            )
            .unwrap(),
        )
        .unwrap();
        let r = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 2,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&r), ["i4", "i5"]);
        assert_eq!(r[0].why[0].feedback, "axis two please");
        assert_eq!(r[0].why[0].effect, Effect::Up);
        assert!(r[0].score >= r[1].score);
    }

    #[test]
    fn two_interests_both_show() {
        let index = index();
        let mut p = profile();
        for t in 0..3 {
            p.add_signal(
                Signal::new(t, 1.0, &dir(1, 0.0), SignalSource::Said("cooking".into())).unwrap(),
            )
            .unwrap();
        }
        p.add_signal(
            Signal::new(3, 1.0, &dir(5, 0.0), SignalSource::Said("cycling".into())).unwrap(),
        )
        .unwrap();
        let r = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 4,
                    ..Default::default()
                },
            )
            .unwrap();
        let got = ids(&r);
        assert!(
            got.contains(&"i2".to_string()) && got.contains(&"i10".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn a_rejection_pushes_the_item_and_its_neighbours_down() {
        let index = index();
        let mut p = profile();
        // Wants axis 3 or axis 4 equally; rejects item i6 (axis 3).
        p.add_signal(
            Signal::new(
                0,
                1.0,
                &dir(3, 1.0),
                SignalSource::Said("three or four".into()),
            )
            .unwrap(),
        )
        .unwrap();
        let before = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 4,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(
            ids(&before)[..2].contains(&"i6".to_string())
                || ids(&before)[..2].contains(&"i7".to_string())
        );
        p.add_signal(
            Signal::new(1, -1.0, &index.vector(6), SignalSource::Item("i6".into())).unwrap(),
        )
        .unwrap();
        p.mark_touched("i6");
        let after = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        let got = ids(&after);
        assert!(!got.contains(&"i6".to_string()));
        assert_eq!(&got[..2], ["i8", "i9"], "axis 4 now wins: {got:?}");
        let i7 = after.iter().find(|r| r.id == "i7");
        if let Some(r) = i7 {
            assert!(r
                .why
                .iter()
                .any(|w| w.effect == Effect::Down && w.item.as_deref() == Some("i6")));
        }
    }

    #[test]
    fn filters_exclusions_and_seen_items() {
        let index = index();
        let mut p = profile();
        p.mark_touched("i15");
        p.mark_not_interested("i14");
        let opts = RankOptions {
            k: 20,
            filters: Filters {
                categories: vec!["even".into()],
                price: Some(NumericRange {
                    min: Some(2.0),
                    max: None,
                }),
                attributes: vec![AttributeFilter {
                    key: "year".into(),
                    range: Some(NumericRange {
                        min: None,
                        max: Some(2003.0),
                    }),
                    one_of: vec![],
                }],
                exclude: vec!["i12".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let got = ids(&Ranker::new(&index).rank(&p, &opts).unwrap());
        assert_eq!(got, ["i13", "i9", "i8", "i5", "i4"]);
        let all = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 20,
                    exclude_seen: false,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(ids(&all).contains(&"i15".to_string()));
        assert!(
            !ids(&all).contains(&"i14".to_string()),
            "not interested is never shown"
        );
        let tagged = Filters {
            tags: vec!["axis0".into()],
            ..Default::default()
        };
        let got = ids(&Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    filters: tagged,
                    ..Default::default()
                },
            )
            .unwrap());
        assert_eq!(got, ["i1", "i0"]);
    }

    #[test]
    fn scenes_reweight_and_explain() {
        let index = index();
        let scene = Scene {
            name: "commute".into(),
            boosts: vec![Boost {
                target: BoostTarget::Category("even".into()),
                factor: 3.0,
            }],
        };
        let r = Ranker::new(&index)
            .rank(
                &profile(),
                &RankOptions {
                    k: 2,
                    scene: Some(scene),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            ids(&r),
            ["i13", "i12"],
            "even items, boosted past the most popular odd ones"
        );
        assert!(r
            .iter()
            .all(|x| index.item(x.index).unwrap().category.as_deref() == Some("even")));
        assert!(r[0].why.iter().any(|w| w.feedback == "scene: commute"));
    }

    #[test]
    fn diversity_spreads_the_list() {
        let index = index();
        let mut p = profile();
        p.add_signal(
            Signal::new(0, 1.0, &dir(0, 0.5), SignalSource::Said("zero-ish".into())).unwrap(),
        )
        .unwrap();
        let plain = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 2,
                    alpha: 1.0,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&plain), ["i1", "i0"], "the twins");
        let diverse = Ranker::new(&index)
            .rank(
                &p,
                &RankOptions {
                    k: 2,
                    alpha: 1.0,
                    diversity: 0.7,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(diverse[0].id, "i1");
        assert_ne!(diverse[1].id, "i0", "a twin is not a diverse second pick");
    }

    /// The test index with collaborative factors: items 0–5 co-liked (factor
    /// axis 0), items 6–13 co-liked (axis 1), items 14–15 never interacted with.
    fn collab_index() -> CatalogueIndex {
        use crate::collab::{AlsSettings, Blend, CollabModel, Factors};
        let data = (0..16)
            .flat_map(|i| match i {
                0..=5 => [1.0, 0.1 * i as f32],
                6..=13 => [0.1 * i as f32 - 0.6, 1.0],
                _ => [0.0, 0.0],
            })
            .collect();
        let model = CollabModel::new(
            &Factors { k: 2, data },
            &AlsSettings::default(),
            Blend::default(),
        )
        .unwrap();
        index().with_collab(model).unwrap()
    }

    #[test]
    fn text_only_visitors_and_plain_indexes_rank_as_before() {
        let (plain, rich) = (index(), collab_index());
        let mut p = profile();
        p.add_signal(
            Signal::new(0, 1.0, &dir(3, 0.4), SignalSource::Said("three".into())).unwrap(),
        )
        .unwrap();
        let opts = RankOptions {
            k: 16,
            ..Default::default()
        };
        assert!(
            Ranker::new(&rich).fold_in(&p).is_none(),
            "free text only: the text path"
        );
        assert_eq!(
            Ranker::new(&plain).rank(&p, &opts).unwrap(),
            Ranker::new(&rich).rank(&p, &opts).unwrap()
        );
        // An old (version 1) file of the same catalogue loads and ranks the same.
        let old = CatalogueIndex::from_bytes(plain.as_bytes().to_vec()).unwrap();
        assert_eq!(old.format_version(), 1);
        assert_eq!(
            Ranker::new(&old).rank(&profile(), &opts).unwrap(),
            Ranker::new(&plain).rank(&profile(), &opts).unwrap()
        );
    }

    #[test]
    fn liked_items_pull_up_what_people_also_liked_and_say_so() {
        let index = collab_index();
        let mut p = profile();
        // Liked item 7 (axis 3 in text, the 6–13 group in behaviour).
        p.add_signal(
            Signal::new(0, 1.0, &index.vector(7), SignalSource::Item("i7".into())).unwrap(),
        )
        .unwrap();
        p.mark_touched("i7");
        let ranker = Ranker::new(&index);
        assert!(ranker.fold_in(&p).is_some());
        let collab_only = RankOptions {
            k: 8,
            blend: Some(crate::collab::Blend {
                text: 0.0,
                collaborative: 1.0,
                popularity: 0.0,
            }),
            ..Default::default()
        };
        let r = ranker.rank(&p, &collab_only).unwrap();
        assert!(
            r.iter().take(7).all(|x| (6..=13).contains(&x.index)),
            "{:?}",
            ids(&r)
        );
        let because = r[0]
            .why
            .iter()
            .find(|w| w.kind == ReasonKind::Collaborative)
            .expect("a collaborative reason");
        assert_eq!(because.feedback, "people who liked Item 7 also liked this");
        assert_eq!(because.item.as_deref(), Some("i7"));
        let top = |k: usize| {
            let opts = RankOptions {
                k,
                ..Default::default()
            };
            ranker.rank(&p, &opts).unwrap()
        };
        // The learned (default) blend still finds the text neighbour and the co-liked items.
        assert!(
            ids(&top(4)).contains(&"i6".to_string()),
            "{:?}",
            ids(&top(4))
        );
        // Items nobody interacted with fall back to text and popularity: still ranked.
        let all = top(16);
        assert!(all.iter().any(|x| x.index == 14) && all.iter().any(|x| x.index == 15));
        let blended = |text: f32, collaborative: f32, popularity: f32| RankOptions {
            blend: Some(crate::collab::Blend {
                text,
                collaborative,
                popularity,
            }),
            ..Default::default()
        };
        assert!(matches!(
            ranker.rank(&p, &blended(0.9, 0.9, 0.0)),
            Err(Error::InvalidInput { .. })
        ));
        // Without collaborative weight, no "people who liked" reason.
        assert!(ranker
            .rank(&p, &blended(0.9, 0.0, 0.1))
            .unwrap()
            .iter()
            .all(|r| r.why.iter().all(|w| w.kind != ReasonKind::Collaborative)));
    }

    #[test]
    fn bad_options_and_foreign_profiles_are_errors() {
        let index = index();
        let r = Ranker::new(&index);
        for opts in [
            RankOptions {
                alpha: f32::NAN,
                ..Default::default()
            },
            RankOptions {
                alpha: 1.5,
                ..Default::default()
            },
            RankOptions {
                diversity: -0.1,
                ..Default::default()
            },
            RankOptions {
                k: 0,
                ..Default::default()
            },
            RankOptions {
                filters: Filters {
                    price: Some(NumericRange {
                        min: Some(f64::NAN),
                        max: None,
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
            RankOptions {
                scene: Some(Scene {
                    name: "x".into(),
                    boosts: vec![Boost {
                        target: BoostTarget::Tag("t".into()),
                        factor: 0.0,
                    }],
                }),
                ..Default::default()
            },
        ] {
            assert!(
                matches!(r.rank(&profile(), &opts), Err(Error::InvalidInput { .. })),
                "{opts:?}"
            );
        }
        let foreign = IntentProfile::new("other", DIMS, ProfileSettings::default()).unwrap();
        assert!(matches!(
            r.rank(&foreign, &RankOptions::default()),
            Err(Error::ModelMismatch { .. })
        ));
        assert!(r.clone().with_popularity(&[0.5]).is_err());
    }

    #[test]
    fn options_read_from_camel_case_json() {
        let json = r#"{"k": 3, "excludeSeen": false, "diversity": 0.2,
            "filters": {"tags": ["Comedy"], "attributes": [{"key": "decade", "oneOf": ["1990s"]}],
                        "price": {"max": 9.5}},
            "scene": {"name": "date", "boosts": [{"target": {"tag": "Romance"}, "factor": 1.5},
                      {"target": {"attribute": {"key": "year", "range": {"min": 2015}}}, "factor": 2}]}}"#;
        let o: RankOptions = serde_json::from_str(json).unwrap();
        assert_eq!(o.k, 3);
        assert!(!o.exclude_seen);
        assert_eq!(
            o.alpha,
            RankOptions::default().alpha,
            "missing fields keep their defaults"
        );
        assert_eq!(o.filters.attributes[0].one_of, vec!["1990s".to_string()]);
        assert_eq!(o.filters.price.unwrap().max, Some(9.5));
        assert_eq!(o.scene.as_ref().unwrap().boosts.len(), 2);
        assert!(serde_json::from_str::<RankOptions>(r#"{"alpha": "high"}"#).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn rankings_respect_filters_never_repeat_and_are_sorted(
                signals in proptest::collection::vec((0usize..8, -1.0f32..1.0, 0.0f32..1.0), 0..6),
                k in 1usize..20,
                alpha in 0.0f32..=1.0,
                min_price in 0.0f64..16.0,
                even in any::<bool>(),
                touched in proptest::collection::vec(0usize..16, 0..4),
            ) {
                let index = index();
                let mut p = profile();
                for (t, (axis, w, tilt)) in signals.iter().enumerate() {
                    if *w != 0.0 {
                        p.add_signal(Signal::new(t as i64, *w, &dir(*axis, *tilt), SignalSource::Said("s".into())).unwrap()).unwrap();
                    }
                }
                for t in &touched { p.mark_touched(&format!("i{t}")); }
                let category = if even { "even" } else { "odd" };
                let opts = RankOptions {
                    k, alpha,
                    filters: Filters { categories: vec![category.into()], price: Some(NumericRange { min: Some(min_price), max: None }), ..Default::default() },
                    ..Default::default()
                };
                let r = Ranker::new(&index).rank(&p, &opts).unwrap();
                prop_assert!(r.len() <= k);
                let mut seen = std::collections::HashSet::new();
                for (n, x) in r.iter().enumerate() {
                    let item = index.item(x.index).unwrap();
                    prop_assert_eq!(item.category.as_deref(), Some(category));
                    prop_assert!(f64::from(item.price.unwrap()) >= min_price);
                    prop_assert!(!p.touched().contains(&x.id));
                    prop_assert!(seen.insert(x.id.clone()), "repeated {}", x.id);
                    prop_assert!(x.score.is_finite());
                    if n > 0 { prop_assert!(r[n - 1].score >= x.score); }
                }
                // Every eligible item that is missing scores no higher than the last returned.
                let eligible = (0..16).filter(|&i| {
                    let it = index.item(i).unwrap();
                    it.category.as_deref() == Some(category) && f64::from(it.price.unwrap()) >= min_price && !p.touched().contains(&it.id)
                }).count();
                prop_assert_eq!(r.len(), k.min(eligible));
            }
        }
    }
}
