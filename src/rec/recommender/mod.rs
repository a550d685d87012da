//! The recommender: encoder + catalogue index + polarity model. It turns
//! feedback into profile signals and ranks the catalogue for a profile.
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
//! model matches) and every embedding happens before the profile changes.

use crate::encoder::Encoder;
use crate::rec::concept::FacetNames;
use crate::rec::feedback::{Feedback, FeedbackKind};
use crate::rec::index::CatalogueIndex;
use crate::rec::intent::{self, Relative, Stance};
use crate::rec::polarity::PolarityModel;
use crate::rec::profile::{IntentProfile, ProfileSettings, Signal, SignalSource};
use crate::rec::ranker::{RankOptions, Ranker, Recommendation};
use crate::util::error::{Error, Result};

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
    /// The index's facet names embedded (see [`crate::rec::concept`]).
    facet_names: FacetNames,
}

impl Recommender {
    /// Checks the index was built with the encoder's model, and prepares the
    /// polarity anchors and the facet names (embedded here, with the anchors,
    /// so that no feedback pays for them: 81 short names on the film catalogue).
    pub fn new(encoder: Encoder, index: CatalogueIndex) -> Result<Self> {
        index.check_model(encoder.model_id(), encoder.dims())?;
        let polarity = PolarityModel::new(&encoder)?;
        let names = FacetNames::names(&index);
        let facet_names = FacetNames {
            vectors: encoder
                .embed_batch(&names)?
                .rows()
                .map(<[f32]>::to_vec)
                .collect(),
        };
        Ok(Self {
            encoder,
            index,
            polarity,
            facet_names,
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

    /// The index's facet names (tags, then categories), embedded.
    pub fn facet_names(&self) -> &FacetNames {
        &self.facet_names
    }

    /// The ranker for this recommender's index, with its facet names.
    pub fn ranker(&self) -> Ranker<'_> {
        Ranker::new(&self.index).with_facet_names(&self.facet_names)
    }

    /// An empty profile for this model.
    pub fn new_profile(&self, settings: ProfileSettings) -> Result<IntentProfile> {
        IntentProfile::new(self.encoder.model_id(), self.encoder.dims(), settings)
    }

    /// Folds one piece of feedback into `profile` (embedding its text, or the
    /// parts of it that [`intent::parse`] reads: see the module doc).
    pub fn record(&self, profile: &mut IntentProfile, feedback: &Feedback) -> Result<()> {
        let reading = feedback.text.as_deref().and_then(Reading::of);
        let text = feedback.text.as_deref().filter(|t| !t.trim().is_empty());
        let whole = match text {
            Some(t) if reading.is_none() => Some(self.encoder.embed(t)?),
            _ => None,
        };
        self.record_with(profile, feedback, whole.as_deref(), reading)
    }

    /// Like [`record`](Self::record), with the text's embedding already computed
    /// (e.g. in a batch); `text_vector` is ignored when the feedback has no text.
    pub fn record_embedded(
        &self,
        profile: &mut IntentProfile,
        feedback: &Feedback,
        text_vector: Option<&[f32]>,
    ) -> Result<()> {
        let has_text = feedback
            .text
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
        if has_text && text_vector.is_none() {
            return Err(Error::InvalidInput {
                what: "text vector",
                reason: "feedback has text but no embedding was given".into(),
            });
        }
        let reading = feedback.text.as_deref().and_then(Reading::of);
        self.record_with(profile, feedback, text_vector, reading)
    }

    /// Records `feedback`; `text_vector` is the whole text's embedding where
    /// the text is read whole (no cues), and is not needed where it is read in
    /// parts (`reading`, parsed once by the caller).
    fn record_with(
        &self,
        profile: &mut IntentProfile,
        feedback: &Feedback,
        text_vector: Option<&[f32]>,
        reading: Option<Reading>,
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
        if let (Some(reading), None) = (&reading, item) {
            let signals = self.read_signals(profile, feedback.ts, reading)?;
            for s in signals {
                profile.add_signal(s)?;
            }
            return Ok(());
        }
        // A review read in parts keeps each part's own polarity (below).
        let parts = match &reading {
            Some(reading) => Some(self.embed_parts(reading)?),
            None => None,
        };
        let text_vector = match (has_text, text_vector) {
            (true, Some(v)) if v.len() == self.encoder.dims() => Some(v),
            (true, Some(v)) => {
                return Err(Error::InvalidInput {
                    what: "text vector",
                    reason: format!("{} dims, the model has {}", v.len(), self.encoder.dims()),
                })
            }
            (true, None) if parts.is_none() => {
                return Err(Error::InvalidInput {
                    what: "text vector",
                    reason: "feedback has text but no embedding was given".into(),
                })
            }
            _ => None,
        };
        // Read in parts, the parts speak for the text (the whole vector is not used).
        let text_vector = if parts.is_some() { None } else { text_vector };
        let text_polarity = match &parts {
            Some(parts) => mean_polarity(parts, &self.polarity),
            None => text_vector.map(|v| self.polarity.polarity(v)),
        };
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
                } else if let Some(parts) = &parts {
                    // Each aspect toward or away by its own polarity ("loved the
                    // acting" up, "the plot dragged" down), at half weight.
                    for part in parts {
                        let w = 0.5 * part.polarity(&self.polarity);
                        if w != 0.0 {
                            signals.push(Signal::new(
                                feedback.ts,
                                w,
                                &part.vector,
                                SignalSource::Review {
                                    item: id.to_string(),
                                    text: part.said.clone(),
                                },
                            )?);
                        }
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
                profile.mark_seen(id);
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
        self.ranker().rank(profile, options)
    }
}

/// A feedback text read in parts ([`intent::parse`]): only texts with a cue
/// (a rejection, a wish phrase, "but", "more like these", …) are; a plain
/// phrase ("short quick reads") is embedded whole, as before.
struct Reading {
    clauses: Vec<intent::Clause>,
    text: String,
}

impl Reading {
    fn of(text: &str) -> Option<Self> {
        let parsed = intent::parse(text);
        let useful = parsed
            .clauses
            .iter()
            .any(|c| !c.target.is_empty() || c.relative.is_some());
        (parsed.has_cues() && useful).then(|| Self {
            clauses: parsed.clauses,
            text: text.to_string(),
        })
    }

    /// The words of clause `c`, for explanations.
    fn said(&self, c: &intent::Clause) -> String {
        self.text
            .get(c.span.clone())
            .unwrap_or(&self.text)
            .trim()
            .to_string()
    }
}

/// One embedded part of a reading.
struct Part {
    stance: Stance,
    vector: Vec<f32>,
    said: String,
    concept: String,
}

impl Part {
    /// −1 for a rejection, +1 for a wish, else the polarity model's reading of
    /// the concept.
    fn polarity(&self, model: &PolarityModel) -> f32 {
        match self.stance {
            Stance::Reject => -1.0,
            Stance::Want => 1.0,
            Stance::Unmarked => model.polarity(&self.vector),
        }
    }
}

/// The mean polarity of the parts (a review's overall leaning).
fn mean_polarity(parts: &[Part], model: &PolarityModel) -> Option<f32> {
    (!parts.is_empty())
        .then(|| parts.iter().map(|p| p.polarity(model)).sum::<f32>() / parts.len() as f32)
}

/// Words that name the kind of item rather than what is wished or rejected:
/// "war films" is about war, and in a shop that sells films and books it must
/// not keep every film out.
const KIND_NOUNS: &[&str] = &[
    "film",
    "films",
    "movie",
    "movies",
    "flick",
    "flicks",
    "book",
    "books",
    "read",
    "reads",
    "show",
    "shows",
    "series",
    "stuff",
    "things",
    "ones",
    "items",
    "products",
    "titles",
    "magazine",
    "magazines",
    "story",
    "stories",
    "novel",
    "novels",
];

/// The kind noun `target` ends in, when something comes before it.
fn kind_noun(target: &str) -> Option<&str> {
    let (before, last) = target.trim_end().rsplit_once(char::is_whitespace)?;
    let lower = last.to_lowercase();
    (!before.trim().is_empty() && KIND_NOUNS.contains(&lower.as_str())).then_some(last)
}

/// Takes the kind noun's direction `head` out of the concept `v`
/// (both unit vectors), so that what makes it "war" films weighs more than
/// what makes it films; `v` stays a unit vector.
fn without_kind(v: &mut [f32], head: &[f32]) {
    let along = crate::cpu::ops::dot(v, head);
    for (x, &h) in v.iter_mut().zip(head) {
        *x -= along * h;
    }
    let norm = crate::cpu::ops::dot(v, v).sqrt();
    if norm > 1e-6 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The most recent positive actions on items kept for "more like these" /
/// "something different from these".
const HISTORY_ITEMS: usize = 5;

impl Recommender {
    /// Embeds every concept of a reading in one batch.
    fn embed_parts(&self, reading: &Reading) -> Result<Vec<Part>> {
        let with_target: Vec<&intent::Clause> = reading
            .clauses
            .iter()
            .filter(|c| !c.target.is_empty() && c.relative.is_none())
            .collect();
        // Each target, and the kind noun it ends in, if any ("war films" → "films").
        let heads: Vec<Option<&str>> = with_target.iter().map(|c| kind_noun(&c.target)).collect();
        let mut texts: Vec<&str> = with_target.iter().map(|c| c.target.as_str()).collect();
        texts.extend(heads.iter().flatten());
        let vectors = self.encoder.embed_batch(&texts)?;
        let mut head_rows = vectors.rows().skip(with_target.len());
        Ok(with_target
            .iter()
            .zip(vectors.rows())
            .zip(&heads)
            .map(|((c, v), head)| {
                let mut vector = v.to_vec();
                if head.is_some() {
                    if let Some(h) = head_rows.next() {
                        without_kind(&mut vector, h);
                    }
                }
                Part {
                    stance: c.stance,
                    vector,
                    said: reading.said(c),
                    concept: c.target.clone(),
                }
            })
            .collect())
    }

    /// The signals free text read in parts adds: wishes toward their concept,
    /// rejections that keep theirs out, unmarked phrases by their polarity,
    /// and "more like these" / "something different" on the recent history.
    fn read_signals(
        &self,
        profile: &IntentProfile,
        ts: i64,
        reading: &Reading,
    ) -> Result<Vec<Signal>> {
        let mut signals = Vec::new();
        for part in self.embed_parts(reading)? {
            let signal = match part.stance {
                Stance::Reject => Signal::new(
                    ts,
                    -1.0,
                    &part.vector,
                    SignalSource::Rejected {
                        concept: part.concept,
                        said: reading.text.clone(),
                    },
                )?,
                Stance::Want => Signal::new(ts, 1.0, &part.vector, SignalSource::Said(part.said))?,
                Stance::Unmarked => {
                    let p = self.polarity.polarity(&part.vector);
                    let weight = if p <= WISH_NEGATIVE_BELOW { p } else { 1.0 };
                    Signal::new(ts, weight, &part.vector, SignalSource::Said(part.said))?
                }
            };
            signals.push(signal);
        }
        for c in reading.clauses.iter().filter(|c| c.relative.is_some()) {
            let Some(history) = recent_history(profile) else {
                continue; // "more like these" with nothing before it: nothing to follow
            };
            let said = reading.said(c);
            signals.push(match c.relative {
                Some(Relative::DifferentFromHistory) => Signal::new(
                    ts,
                    -1.0,
                    &history,
                    SignalSource::Rejected {
                        concept: said,
                        said: reading.text.clone(),
                    },
                )?,
                _ => Signal::new(ts, 1.0, &history, SignalSource::Said(said))?,
            });
        }
        Ok(signals)
    }
}

/// The mean direction of the visitor's most recent positive actions on items
/// (likes, stars, purchases), or of their recent wishes when they acted on none.
fn recent_history(profile: &IntentProfile) -> Option<Vec<f32>> {
    let positive = |items: bool| {
        profile
            .signals()
            .iter()
            .rev()
            .filter(move |s| {
                s.weight > 0.0 && !s.is_rejection() && s.source.item().is_some() == items
            })
            .take(HISTORY_ITEMS)
            .map(|s| s.vector())
            .collect::<Vec<_>>()
    };
    let mut recent = positive(true);
    if recent.is_empty() {
        recent = positive(false);
    }
    let first = recent.first()?;
    let mut sum = vec![0f32; first.len()];
    for v in &recent {
        crate::cpu::ops::add_in_place(&mut sum, v);
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bundle::Quant;
    use crate::rec::catalogue::CatalogueItem;
    use crate::testing::tiny_bundle;

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
            p.seen().contains("x1"),
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

    #[test]
    fn text_with_cues_is_read_in_parts() {
        let r = recommender();
        let mut p = r.new_profile(ProfileSettings::default()).unwrap();
        r.record(&mut p, &Feedback::text(1, "a quick read, no war please"))
            .unwrap();
        let sources: Vec<&SignalSource> = p.signals().iter().map(|s| &s.source).collect();
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert_eq!(sources[0], &SignalSource::Said("a quick read".into()));
        assert_eq!(
            sources[1],
            &SignalSource::Rejected {
                concept: "war".into(),
                said: "a quick read, no war please".into(),
            }
        );
        assert_eq!(p.signals()[1].weight, -1.0);
        // The rejection's direction is the concept alone, not the whole text.
        let war = r.encoder().embed("war").unwrap();
        let v = p.signals()[1].vector();
        assert!(crate::cpu::ops::dot(&v, &war) > 0.99);
        // A plain phrase is still one wish along the whole text.
        r.record(&mut p, &Feedback::text(2, "long film")).unwrap();
        assert_eq!(
            p.signals()[2].source,
            SignalSource::Said("long film".into())
        );
        assert_eq!(p.signals()[2].weight, 1.0);
    }

    #[test]
    fn more_like_these_and_something_different_follow_the_likes() {
        let r = recommender();
        let mut p = r.new_profile(ProfileSettings::default()).unwrap();
        // Nothing liked yet: "more like these" has nothing to follow.
        r.record(&mut p, &Feedback::text(1, "more like these"))
            .unwrap();
        assert!(p.signals().is_empty());
        for (ts, id) in [(2, "x1"), (3, "x4")] {
            r.record(&mut p, &Feedback::action(ts, id, FeedbackKind::Like))
                .unwrap();
        }
        r.record(&mut p, &Feedback::text(4, "more like these"))
            .unwrap();
        let mean: Vec<f32> = {
            let (a, b) = (r.index().vector(1), r.index().vector(4));
            let m: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            let n = crate::cpu::ops::dot(&m, &m).sqrt();
            m.into_iter().map(|x| x / n).collect()
        };
        let more = &p.signals()[2];
        assert_eq!(more.weight, 1.0);
        assert!(crate::cpu::ops::dot(&more.vector(), &mean) > 0.99);
        r.record(&mut p, &Feedback::text(5, "something different"))
            .unwrap();
        let different = &p.signals()[3];
        assert!(different.is_rejection() && different.weight < 0.0);
        assert!(crate::cpu::ops::dot(&different.vector(), &mean) > 0.99);
    }

    #[test]
    fn a_review_with_cues_keeps_each_aspect_s_polarity() {
        let r = recommender();
        let mut p = r.new_profile(ProfileSettings::default()).unwrap();
        let review = Feedback::rating(1, "x0", 4.0, Some("loved the story but not the war".into()));
        r.record(&mut p, &review).unwrap();
        let s = p.signals();
        assert_eq!(s[0].source, SignalSource::Item("x0".into()));
        assert_eq!(s[0].weight, 0.5, "the stars set the item's weight");
        let aspects: Vec<(f32, &str)> = s[1..]
            .iter()
            .map(|s| (s.weight, s.source.text().unwrap_or("")))
            .collect();
        assert_eq!(aspects.len(), 2, "{aspects:?}");
        assert_eq!(aspects[0], (0.5, "loved the story"));
        assert_eq!(aspects[1].0, -0.5, "{aspects:?}");
        // The same text recorded with a precomputed whole-text vector reads the same.
        let mut q = r.new_profile(ProfileSettings::default()).unwrap();
        let whole = r
            .encoder()
            .embed("loved the story but not the war")
            .unwrap();
        r.record_embedded(&mut q, &review, Some(&whole)).unwrap();
        assert_eq!(p.signals(), q.signals());
    }
}
