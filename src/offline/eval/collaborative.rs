//! Learning a catalogue's collaborative knowledge from a store's events: what
//! `localrec index build --interactions` ships and what `localrec eval
//! --collaborative` trains on the events before each held-out one.
//!
//! 1. Events are grouped by user in time order; events naming items the
//!    catalogue does not have are counted and skipped.
//! 2. Validation: each user's last positive interaction with a new item (the
//!    evaluation's own rule, applied to the events given — in `eval` these are
//!    already the training events, so test held-outs are never seen) is held
//!    out; ALS is trained on everything else.
//! 3. Per candidate ALS setting, each validation user's profile is replayed
//!    from their earlier events, folded in, and the blend weights are searched
//!    on the 0.05 simplex grid ([`crate::offline::blend`]) for the best NDCG@k.
//! 4. The best setting is retrained on all the events and shipped with its blend.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::offline::als::{self, Interactions};
use crate::offline::blend::{self, ValidationCase};
use crate::rec::collab::{interaction_strength, Blend, CollabModel, UserFactors};
use crate::rec::collab::{AlsSettings, Factors};
use crate::rec::feedback::Event;
use crate::rec::profile::ProfileSettings;
use crate::rec::ranker::{RankOptions, Ranker};
use crate::rec::recommender::Recommender;
use crate::util::error::{Error, Result};

/// Per-item floats the validation keeps at most (relevance and collaborative
/// score per validation user and item): 32M, about 128 MB.
pub const VALIDATION_FLOATS: usize = 32 << 20;

/// How to learn.
#[derive(Debug, Clone)]
pub struct LearnOptions {
    /// ALS settings to choose from on the validation users (at least one).
    pub candidates: Vec<AlsSettings>,
    /// Cut-off of the validation NDCG.
    pub k: usize,
    /// At most this many validation users (every n-th user when there are more);
    /// large catalogues take fewer, so that the per-item evidence kept for them
    /// stays under [`VALIDATION_FLOATS`].
    pub max_validation_users: usize,
    /// Profile settings for replaying validation users.
    pub profile: ProfileSettings,
}

impl LearnOptions {
    /// λ ∈ {0.1, 1, 10} × α ∈ {5, 20, 50} at `factors` factors and 15 sweeps.
    pub fn with_grid(factors: usize) -> Self {
        let mut candidates = Vec::new();
        for regularization in [0.1, 1.0, 10.0] {
            for confidence in [5.0, 20.0, 50.0] {
                candidates.push(AlsSettings {
                    factors,
                    regularization,
                    confidence,
                    ..AlsSettings::default()
                });
            }
        }
        Self {
            candidates,
            k: 10,
            max_validation_users: 2000,
            profile: ProfileSettings::default(),
        }
    }
}

/// What learning saw and chose.
#[derive(Debug, Clone, Serialize)]
pub struct CollabReport {
    /// Events given.
    pub events: usize,
    /// Events naming an item the catalogue does not have (skipped).
    pub unknown_item_events: usize,
    /// Users with at least one positive interaction.
    pub users: usize,
    /// Distinct (user, item) positive pairs trained on.
    pub interactions: usize,
    /// Items that got factors.
    pub items_with_factors: usize,
    /// Users the blend and settings were validated on.
    pub validation_users: usize,
    /// Chosen factors.
    pub factors: usize,
    /// Chosen λ.
    pub regularization: f32,
    /// Chosen α.
    pub confidence: f32,
    /// Learned blend.
    pub blend: Blend,
    /// Validation NDCG@k of the chosen setting and blend.
    pub validation_ndcg: f64,
}

/// Which users the blend is validated on and where each one's history is cut:
/// the grouping alone, no model needed (`localrec index holdout` writes it for
/// factors trained elsewhere).
pub struct ValidationSplit<'a> {
    /// Events per user in time order, with the item's position.
    by_user: BTreeMap<&'a str, Vec<(&'a Event, Option<usize>)>>,
    users: Vec<&'a str>,
    /// Per user: the held-out event's position in its list, if any.
    held: Vec<Option<usize>>,
    /// The users validated on (every n-th candidate when there are many).
    chosen: BTreeSet<usize>,
    /// Events naming items the catalogue does not have.
    unknown: usize,
}

impl<'a> ValidationSplit<'a> {
    /// Groups `events` by user in time order (events naming items `position`
    /// does not know are counted and skipped), holds out each user's last
    /// positive interaction with a new item, and keeps every n-th such user so
    /// that at most `max_users` (and per-item evidence under
    /// [`VALIDATION_FLOATS`] for `n` items) are validated on.
    pub fn new(
        position: impl Fn(&str) -> Option<usize>,
        n: usize,
        events: &[&'a Event],
        max_users: usize,
    ) -> Self {
        let mut by_user: BTreeMap<&str, Vec<(&Event, Option<usize>)>> = BTreeMap::new();
        let mut unknown = 0;
        for &e in events {
            let item = match e.feedback.item.as_deref() {
                Some(id) => match position(id) {
                    Some(p) => Some(p),
                    None => {
                        unknown += 1;
                        continue;
                    }
                },
                None => None,
            };
            by_user.entry(e.user.as_str()).or_default().push((e, item));
        }
        for list in by_user.values_mut() {
            list.sort_by_key(|(e, _)| e.feedback.ts);
        }
        let users: Vec<&str> = by_user.keys().copied().collect();
        let held: Vec<Option<usize>> = by_user
            .values()
            .map(|list| {
                (0..list.len()).rev().find(|&j| {
                    let f = &list[j].0.feedback;
                    f.is_positive_interaction()
                        && j > 0
                        && !list[..j].iter().any(|p| p.0.feedback.item == f.item)
                })
            })
            .collect();
        let candidates: Vec<usize> = (0..users.len()).filter(|&u| held[u].is_some()).collect();
        let most = max_users.min(VALIDATION_FLOATS / (2 * n).max(1)).max(1);
        let stride = candidates.len().div_ceil(most).max(1);
        let chosen: BTreeSet<usize> = candidates.iter().copied().step_by(stride).collect();
        Self {
            by_user,
            users,
            held,
            chosen,
            unknown,
        }
    }

    /// The validation users and the time from which each one's events are
    /// held out: factors trained elsewhere for learning the blend must not see
    /// a listed user's events at or after that time.
    pub fn holdout(&self) -> Holdout {
        Holdout {
            users: self
                .chosen
                .iter()
                .map(|&u| {
                    let h = self.held[u].unwrap_or(0);
                    (
                        self.users[u].to_string(),
                        self.by_user[self.users[u]][h].0.feedback.ts,
                    )
                })
                .collect(),
        }
    }
}

/// The validation users and where their held-out events begin, as `localrec
/// index holdout` writes them: a header `{"holdout": "sha256:…", "users": n}`,
/// then `{"user": …, "from_ts": …}` per user.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    /// (user, time of the held-out event), by user.
    pub users: Vec<(String, i64)>,
}

/// A holdout file's first line.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HoldoutHeader {
    /// [`Holdout::digest`].
    pub holdout: String,
    /// Users listed.
    pub users: usize,
}

/// One held-out user.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HoldoutUser {
    /// The user id.
    pub user: String,
    /// Their events at or after this time are held out.
    pub from_ts: i64,
}

impl Holdout {
    /// `sha256:` and the hex SHA-256 of the lines `user\tfrom_ts\n` in order:
    /// factors trained without this holdout carry it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (u, ts) in &self.users {
            h.update(format!("{u}\t{ts}\n").as_bytes());
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Reads what [`Holdout::write`] wrote; a list whose digest is not its
    /// header's (edited, truncated) is an error.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(reader: impl std::io::BufRead) -> Result<Self> {
        let bad = |line: usize, reason: String| Error::InvalidInput {
            what: "holdout",
            reason: format!("line {line}: {reason}"),
        };
        let mut header: Option<HoldoutHeader> = None;
        let mut users = Vec::new();
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| bad(n + 1, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            if header.is_none() {
                header = Some(serde_json::from_str(&line).map_err(|e| bad(n + 1, e.to_string()))?);
                continue;
            }
            let u: HoldoutUser =
                serde_json::from_str(&line).map_err(|e| bad(n + 1, e.to_string()))?;
            users.push((u.user, u.from_ts));
        }
        let header = header.ok_or_else(|| bad(1, "empty: no header".into()))?;
        let holdout = Self { users };
        if !holdout.users.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(Error::InvalidInput {
                what: "holdout",
                reason: "users must be listed once each, in order".into(),
            });
        }
        if holdout.digest() != header.holdout || holdout.users.len() != header.users {
            return Err(Error::InvalidInput {
                what: "holdout",
                reason: format!(
                    "{} users with digest {}, the header says {} users, {}",
                    holdout.users.len(),
                    holdout.digest(),
                    header.users,
                    header.holdout
                ),
            });
        }
        Ok(holdout)
    }

    /// Does the holdout keep `event` out of training (its user's events at or
    /// after the user's time)?
    pub fn holds_out(&self, user: &str, ts: i64) -> bool {
        self.users
            .binary_search_by(|(u, _)| u.as_str().cmp(user))
            .is_ok_and(|i| ts >= self.users[i].1)
    }

    /// Writes the header and one line per user.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn write(&self, mut out: impl std::io::Write) -> Result<()> {
        let io = |source| Error::Io {
            context: "cannot write the holdout".into(),
            source,
        };
        let mut line = |json: serde_json::Result<String>| -> Result<()> {
            let json = json.map_err(|e| io(std::io::Error::other(e)))?;
            out.write_all(json.as_bytes()).map_err(io)?;
            out.write_all(b"\n").map_err(io)
        };
        line(serde_json::to_string(&HoldoutHeader {
            holdout: self.digest(),
            users: self.users.len(),
        }))?;
        for (user, from_ts) in &self.users {
            line(serde_json::to_string(&HoldoutUser {
                user: user.clone(),
                from_ts: *from_ts,
            }))?;
        }
        out.flush().map_err(io)
    }
}

/// The validation split, and each chosen user's profile replayed from what
/// came before their held-out event: prepared once, then used to learn the
/// text weight and the collaborative blend alike.
pub struct Validation<'a> {
    split: ValidationSplit<'a>,
    /// Events given.
    events: usize,
    /// Per chosen user: profile, text relevance per item, excluded items, held-out item.
    replayed: Vec<(
        crate::rec::profile::IntentProfile,
        Vec<f32>,
        Vec<usize>,
        usize,
    )>,
}

impl<'a> Validation<'a> {
    /// Splits `events` ([`ValidationSplit`]) and replays each validation
    /// user's profile (texts not in `known` are embedded here) and their
    /// text relevance per item under `popularity`.
    pub fn prepare(
        rec: &Recommender,
        events: &[&'a Event],
        popularity: &[f32],
        known: &HashMap<&str, Vec<f32>>,
        options: &LearnOptions,
        mut progress: impl FnMut(&str, usize, usize),
    ) -> Result<Self> {
        validation(rec, events, popularity, known, options, &mut progress)
    }

    /// Users validated on.
    pub fn users(&self) -> usize {
        self.replayed.len()
    }

    /// The users and where their held-out events begin.
    pub fn holdout(&self) -> Holdout {
        self.split.holdout()
    }
}

fn validation<'a>(
    rec: &Recommender,
    events: &[&'a Event],
    popularity: &[f32],
    known: &HashMap<&str, Vec<f32>>,
    options: &LearnOptions,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<Validation<'a>> {
    let index = rec.index();
    let n = index.len();
    let split = ValidationSplit::new(
        |id| index.position(id),
        n,
        events,
        options.max_validation_users,
    );
    let ValidationSplit {
        by_user,
        users,
        held,
        chosen,
        ..
    } = &split;

    // Replay each validation user's profile and text relevance once.
    let mut texts: HashMap<String, Vec<f32>> = HashMap::new();
    let missing: Vec<&str> = {
        let mut seen = BTreeSet::new();
        chosen
            .iter()
            .flat_map(|&u| by_user[users[u]][..held[u].unwrap_or(0)].iter())
            .filter_map(|(e, _)| e.feedback.text.as_deref())
            .filter(|t| !t.trim().is_empty() && !known.contains_key(t) && seen.insert(*t))
            .collect()
    };
    for chunk in missing.chunks(256) {
        let e = rec.encoder().embed_batch(chunk)?;
        for (t, v) in chunk.iter().zip(e.rows()) {
            texts.insert(t.to_string(), v.to_vec());
        }
    }
    let text_ranker = Ranker::new(index).with_popularity(popularity)?;
    let mut replayed = Vec::with_capacity(chosen.len());
    for (done, &u) in chosen.iter().enumerate() {
        let list = &by_user[users[u]];
        let h = held[u].unwrap_or(0);
        let mut profile = rec.new_profile(options.profile)?;
        for (e, _) in &list[..h] {
            let v = e
                .feedback
                .text
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .and_then(|t| known.get(t).or_else(|| texts.get(t)))
                .map(Vec::as_slice);
            rec.record_embedded(&mut profile, &e.feedback, v)?;
        }
        let now = list[h].0.feedback.ts;
        let opts = RankOptions {
            k: n.max(1),
            alpha: Some(1.0),
            now,
            ..RankOptions::default()
        };
        let acted: BTreeSet<&str> = profile.seen().iter().map(String::as_str).collect();
        let mut relevance = vec![0.5; n];
        for (i, _, r) in text_ranker.select(&profile.directions(now), &acted, &opts) {
            relevance[i] = r;
        }
        let mut excluded: Vec<usize> = acted.iter().filter_map(|id| index.position(id)).collect();
        excluded.sort_unstable();
        let held_out = list[h].1.unwrap_or(0);
        replayed.push((profile, relevance, excluded, held_out));
        progress("validation profiles", done + 1, chosen.len());
    }

    Ok(Validation {
        split,
        events: events.len(),
        replayed,
    })
}

/// Item factors trained elsewhere (Spark MLlib, `localrec factors train`),
/// shipped as they are; only the blend weights are learned here.
#[derive(Debug, Clone, Copy)]
pub struct GivenFactors<'f> {
    /// The factors to ship, in catalogue order (trained on all the events).
    pub factors: &'f Factors,
    /// What they were trained with (the fold-in solves with the same).
    pub settings: AlsSettings,
    /// Factors trained the same way without the validation users' held-out
    /// events ([`ValidationSplit::holdout`]), to learn the blend on without
    /// leakage; `None` trains them here with `settings`.
    pub validation: Option<&'f Factors>,
}

/// Learns collaborative knowledge for `rec`'s catalogue from the events
/// `validation` was prepared on (with the same `popularity`): the ALS setting
/// and blend chosen on the validation users, ALS retrained on every event.
/// `progress(stage, done, total)` reports training.
pub fn learn_collab(
    rec: &Recommender,
    validation: &Validation<'_>,
    popularity: &[f32],
    options: &LearnOptions,
    progress: impl FnMut(&str, usize, usize),
) -> Result<(CollabModel, CollabReport)> {
    learn(rec, validation, popularity, options, None, progress)
}

/// Learns the blend weights for item factors trained elsewhere: the
/// validation users' collaborative scores come from `given.validation` (or
/// from ALS trained here at `given.settings` on everything but their held-out
/// events), never from the shipped factors, which have seen those events.
pub fn learn_blend_for(
    rec: &Recommender,
    validation: &Validation<'_>,
    popularity: &[f32],
    options: &LearnOptions,
    given: GivenFactors<'_>,
    progress: impl FnMut(&str, usize, usize),
) -> Result<(CollabModel, CollabReport)> {
    learn(rec, validation, popularity, options, Some(given), progress)
}

fn learn(
    rec: &Recommender,
    validation: &Validation<'_>,
    popularity: &[f32],
    options: &LearnOptions,
    given: Option<GivenFactors<'_>>,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<(CollabModel, CollabReport)> {
    let candidates = match &given {
        Some(g) => vec![g.settings],
        None => options.candidates.clone(),
    };
    let Some(first) = candidates.first().copied() else {
        return Err(Error::InvalidInput {
            what: "ALS settings",
            reason: "no candidate settings".into(),
        });
    };
    let index = rec.index();
    let n = index.len();
    if let Some(g) = &given {
        for (what, f) in [("shipped", Some(g.factors)), ("validation", g.validation)] {
            if let Some(f) = f {
                if f.k != g.settings.factors || f.rows() != n {
                    return Err(Error::InvalidInput {
                        what: "item factors",
                        reason: format!(
                            "the {what} factors are {} items × {}, the catalogue has {n} items and the settings say {} factors",
                            f.rows(),
                            f.k,
                            g.settings.factors
                        ),
                    });
                }
            }
        }
    }
    let Validation {
        split,
        events,
        replayed,
    } = validation;
    let ValidationSplit {
        by_user,
        users,
        held,
        chosen,
        unknown,
    } = split;
    let triples = |cut: &dyn Fn(usize) -> usize| -> Result<Interactions> {
        let mut t = Vec::new();
        for (u, list) in by_user.values().enumerate() {
            for (e, item) in &list[..cut(u)] {
                if let (Some(i), Some(s)) = (item, interaction_strength(&e.feedback)) {
                    t.push((u as u32, *i as u32, s));
                }
            }
        }
        Interactions::from_triples(users.len(), n, t)
    };
    let validation_train = || {
        triples(&|u| {
            if chosen.contains(&u) {
                held[u].unwrap_or(0)
            } else {
                by_user[users[u]].len()
            }
        })
    };

    // Choose the ALS setting and the blend on the validation users.
    let mut best: Option<(AlsSettings, Blend, f64)> = None;
    let mut train_here = None;
    for (c, settings) in candidates.iter().enumerate() {
        let factors = match given.and_then(|g| g.validation) {
            Some(f) => f.clone(),
            None => {
                if train_here.is_none() {
                    train_here = Some(validation_train()?);
                }
                let m = train_here.as_ref().ok_or_else(|| Error::InvalidInput {
                    what: "interactions",
                    reason: "no validation split".into(),
                })?;
                als::train(m, settings, |_, _| {})?
            }
        };
        let model = CollabModel::new(&factors, settings, Blend::default())?;
        let cases: Vec<ValidationCase> = replayed
            .iter()
            .map(|(profile, relevance, excluded, held_out)| ValidationCase {
                relevance,
                collaborative: UserFactors::from_profile(&model, index, profile).map_or_else(
                    || vec![0.0; n],
                    |u| u.normalized_scores(&model, crate::cpu::score::Kernel::detect()),
                ),
                excluded,
                held_out: *held_out,
            })
            .collect();
        let (blend, ndcg) = blend::learn(&cases, popularity, options.k);
        if best.as_ref().is_none_or(|b| ndcg > b.2 + 1e-12) {
            best = Some((*settings, blend, ndcg));
        }
        progress("choosing settings", c + 1, candidates.len());
    }
    let (settings, blend, validation_ndcg) = best.unwrap_or((first, Blend::default(), 0.0));

    let all = triples(&|u| by_user[users[u]].len())?;
    let model = match given {
        Some(g) => CollabModel::new(g.factors, &settings, blend)?,
        None => {
            let factors = als::train(&all, &settings, |d, t| progress("training ALS", d, t))?;
            CollabModel::new(&factors, &settings, blend)?
        }
    };
    let report = CollabReport {
        events: *events,
        unknown_item_events: *unknown,
        users: (0..all.rows())
            .filter(|&u| all.row(u).next().is_some())
            .count(),
        interactions: all.len(),
        items_with_factors: model.items_with_factors(),
        validation_users: replayed.len(),
        factors: settings.factors,
        regularization: settings.regularization,
        confidence: settings.confidence,
        blend,
        validation_ndcg,
    };
    Ok((model, report))
}

/// What learning the text / popularity weight saw and chose.
#[derive(Debug, Clone, Serialize)]
pub struct TextBlendReport {
    /// The weight of text relevance against popularity (the ranker's `alpha`).
    pub alpha: f32,
    /// Users it was validated on.
    pub validation_users: usize,
    /// Validation NDCG@k with that weight.
    pub validation_ndcg: f64,
    /// Validation NDCG@k of popularity alone (`alpha` 0) and of text alone (1):
    /// the chosen weight is never worse on validation than either.
    pub popularity_ndcg: f64,
    /// See `popularity_ndcg`.
    pub text_ndcg: f64,
}

/// Learns the text / popularity weight for a catalogue without collaborative
/// knowledge on `v`'s validation users (the same as [`learn_collab`]'s), the
/// blends of [`blend::text_grid`] (popularity alone to text alone, 0.05
/// apart), the best mean NDCG@k. With no validation user it keeps the
/// default `alpha`.
pub fn learn_text_blend(
    v: &Validation<'_>,
    popularity: &[f32],
    options: &LearnOptions,
) -> TextBlendReport {
    let n = popularity.len();
    if v.replayed.is_empty() {
        return TextBlendReport {
            alpha: crate::rec::ranker::DEFAULT_ALPHA,
            validation_users: 0,
            validation_ndcg: 0.0,
            popularity_ndcg: 0.0,
            text_ndcg: 0.0,
        };
    }
    let cases: Vec<ValidationCase> = v
        .replayed
        .iter()
        .map(|(_, relevance, excluded, held_out)| ValidationCase {
            relevance,
            collaborative: vec![0.0; n],
            excluded,
            held_out: *held_out,
        })
        .collect();
    let grid = blend::text_grid();
    let (chosen, validation_ndcg) = blend::learn_on(&cases, popularity, options.k, &grid);
    let only = |text: f32| {
        let b = Blend {
            text,
            collaborative: 0.0,
            popularity: 1.0 - text,
        };
        blend::learn_on(&cases, popularity, options.k, &[b]).1
    };
    TextBlendReport {
        alpha: chosen.text,
        validation_users: cases.len(),
        validation_ndcg,
        popularity_ndcg: only(0.0),
        text_ndcg: only(1.0),
    }
}

impl From<&TextBlendReport> for crate::rec::index::TextBlend {
    /// What the index stores of a learned text weight.
    fn from(t: &TextBlendReport) -> Self {
        Self {
            alpha: t.alpha,
            validation_users: t.validation_users as u32,
            validation_ndcg: t.validation_ndcg as f32,
            popularity_ndcg: t.popularity_ndcg as f32,
            text_ndcg: t.text_ndcg as f32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Encoder;
    use crate::model::bundle::Quant;
    use crate::rec::catalogue::CatalogueItem;
    use crate::rec::feedback::{Feedback, FeedbackKind};
    use crate::rec::index::CatalogueIndex;
    use crate::testing::tiny_bundle;

    #[test]
    fn the_holdout_round_trips_and_refuses_edits() {
        let like = |user: &str, ts: i64, item: &str| Event {
            user: user.into(),
            feedback: Feedback::action(ts, item, FeedbackKind::Like),
        };
        let events = [
            like("b", 1, "x"),
            like("b", 5, "y"),
            like("b", 5, "x"),
            like("a", 2, "x"),
            like("a", 3, "ghost"),
            like("a", 7, "z"),
            like("c", 4, "y"),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let position = |id: &str| ["x", "y", "z"].iter().position(|p| *p == id);
        let split = ValidationSplit::new(position, 3, &refs, 10);
        assert_eq!(split.unknown, 1);
        let holdout = split.holdout();
        // c has one event (nothing before it); b's last new item is y at 5.
        assert_eq!(holdout.users, [("a".to_string(), 7), ("b".to_string(), 5)]);
        assert!(holdout.holds_out("b", 5) && holdout.holds_out("a", 9));
        assert!(!holdout.holds_out("b", 4) && !holdout.holds_out("c", 9));
        let mut bytes = Vec::new();
        holdout.write(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(Holdout::read(text.as_bytes()).unwrap(), holdout);
        assert!(text.starts_with(&format!(
            "{{\"holdout\":\"{}\",\"users\":2}}",
            holdout.digest()
        )));
        for edited in [
            text.replace("\"from_ts\":7", "\"from_ts\":8"),
            text.lines().take(2).collect::<Vec<_>>().join("\n"),
            String::new(),
        ] {
            assert!(Holdout::read(edited.as_bytes()).is_err(), "{edited}");
        }
    }

    #[test]
    fn unknown_items_are_counted_not_fatal() {
        let encoder = Encoder::from_bundle(tiny_bundle(Quant::F32, 9)).unwrap();
        let items: Vec<CatalogueItem> = (0..6)
            .map(|i| CatalogueItem {
                id: format!("x{i}"),
                title: format!("item {i}"),
                text: Some(format!("text of item {i}")),
                category: None,
                tags: vec![],
                price: None,
                popularity: None,
                url: None,
                attributes: Default::default(),
            })
            .collect();
        let index = CatalogueIndex::build(&encoder, &items, 40, |_, _| {}).unwrap();
        let rec = Recommender::new(encoder, index).unwrap();
        let mut events = Vec::new();
        for u in 0..12 {
            let group = (u % 2) * 3;
            for (t, i) in [0, 1, 2].iter().enumerate() {
                events.push(Event {
                    user: format!("u{u}"),
                    feedback: Feedback::action(
                        (u * 10 + t) as i64,
                        format!("x{}", group + (i + u) % 3),
                        FeedbackKind::Like,
                    ),
                });
            }
        }
        for u in 0..2 {
            events.push(Event {
                user: format!("u{u}"),
                feedback: Feedback::rating(5, "ghost", 5.0, Some("not in the catalogue".into())),
            });
        }
        let refs: Vec<&Event> = events.iter().collect();
        let options = LearnOptions {
            candidates: vec![AlsSettings {
                factors: 2,
                ..AlsSettings::default()
            }],
            ..LearnOptions::with_grid(2)
        };
        let mut stages = BTreeSet::new();
        let v = Validation::prepare(
            &rec,
            &refs,
            &[0.0; 6],
            &HashMap::new(),
            &options,
            |_, _, _| {},
        )
        .unwrap();
        let (model, report) = learn_collab(&rec, &v, &[0.0; 6], &options, |stage, _, _| {
            stages.insert(stage.to_string());
        })
        .unwrap();
        assert_eq!(report.events, 38);
        assert_eq!(report.unknown_item_events, 2);
        assert_eq!(report.users, 12);
        assert_eq!(report.interactions, 36);
        assert_eq!(report.items_with_factors, 6);
        assert_eq!(report.validation_users, 12);
        assert_eq!(model.items(), 6);
        assert!(model.blend().validate().is_ok());
        assert!(stages.contains("training ALS"), "{stages:?}");
        assert!(learn_collab(
            &rec,
            &v,
            &[0.0; 6],
            &LearnOptions {
                candidates: vec![],
                ..options
            },
            |_, _, _| {}
        )
        .is_err());
    }
}
