//! Feedback → profile signals: what one piece of feedback adds to a profile
//! (the weights are in the [parent module's doc](super)), read with the
//! catalogue index and, for text, the encoder and polarity model.
//!
//! Recording is all-or-nothing: every check (item known, rating in range,
//! model matches, the model loaded where text needs it) and every embedding
//! happens before the profile changes.

use super::{TextModel, WISH_NEGATIVE_BELOW};
use crate::rec::feedback::{Feedback, FeedbackKind};
use crate::rec::index::CatalogueIndex;
use crate::rec::intent::{self, Relative, Stance};
use crate::rec::polarity::PolarityModel;
use crate::rec::profile::{IntentProfile, Signal, SignalSource};
use crate::util::error::{Error, Result};

/// What recording reads: the catalogue index, and the text model once one is
/// loaded (without it, feedback with text is [`Error::ModelNotLoaded`]).
#[derive(Clone, Copy)]
pub(super) struct Learner<'a> {
    pub(super) index: &'a CatalogueIndex,
    pub(super) text: Option<&'a TextModel>,
}

impl<'a> Learner<'a> {
    /// The text model, or the error that says text came before it.
    fn text_model(&self) -> Result<&'a TextModel> {
        self.text.ok_or(Error::ModelNotLoaded {
            what: "feedback text",
        })
    }

    /// Folds one piece of feedback into `profile` (embedding its text, or the
    /// parts of it that [`intent::parse`] reads: see the [parent module](super)).
    pub(super) fn record(&self, profile: &mut IntentProfile, feedback: &Feedback) -> Result<()> {
        let reading = feedback.text.as_deref().and_then(Reading::of);
        let text = feedback.text.as_deref().filter(|t| !t.trim().is_empty());
        let whole = match text {
            Some(t) if reading.is_none() => Some(self.text_model()?.encoder.embed(t)?),
            _ => None,
        };
        self.record_with(profile, feedback, whole.as_deref(), reading)
    }

    /// Like [`record`](Self::record), with the text's embedding already computed
    /// (e.g. in a batch); `text_vector` is ignored when the feedback has no text.
    pub(super) fn record_embedded(
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
        profile.check_model(self.index.model_id(), self.index.dims())?;
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
            (true, Some(v)) if v.len() == self.index.dims() => Some(v),
            (true, Some(v)) => {
                return Err(Error::InvalidInput {
                    what: "text vector",
                    reason: format!("{} dims, the model has {}", v.len(), self.index.dims()),
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
        let text_polarity = match (&parts, text_vector) {
            (Some(parts), _) => mean_polarity(parts, &self.text_model()?.polarity),
            (None, Some(v)) => Some(self.text_model()?.polarity.polarity(v)),
            (None, None) => None,
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
                        let w = 0.5 * part.polarity(&self.text_model()?.polarity);
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

impl Learner<'_> {
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
        let vectors = self.text_model()?.encoder.embed_batch(&texts)?;
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
                    let p = self.text_model()?.polarity.polarity(&part.vector);
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
