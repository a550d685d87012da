//! Offline evaluation on real interactions, leave-last-positive-out.
//!
//! Per user, events are replayed in time order. The held-out event is the
//! user's last positive interaction (stars ≥ 4, like or purchase) with an item
//! they had not touched before; the profile is built from the events before it
//! only (so the held-out event's own text is never seen). The whole catalogue
//! is ranked, minus the items the user already touched, and the held-out
//! item's rank gives Recall@k, NDCG@k and reciprocal rank. Means come with 95%
//! bootstrap intervals over users; coverage is the share of the catalogue that
//! appears in any user's top k.
//!
//! In the same run: popularity (counts of every event except the held-out ones,
//! log-scaled: what the store knows), BM25 over item texts with the user's
//! earlier texts as the query — for a user who wrote none, the texts of the
//! items they liked earlier — (ties by popularity), and random. Localrec's
//! popularity term uses the same counts.
//!
//! With `collaborative` set (`localrec eval --collaborative`), a fifth method,
//! `localrec+collab`, adds collaborative knowledge trained on what the store's
//! server would have had: every event of every user *except* each evaluated
//! user's held-out event and everything that user did after it (a per-user
//! cut, the same leave-last-out split the peers get through `--export-split`;
//! other users' events may be later in time than a held-out one). The ALS
//! settings and blend weights are chosen on a validation split of those
//! training events (each user's last training positive), never on the test
//! held-outs ([`collaborative`]). Each user is then folded in on the device
//! from their own earlier events, as a visitor would be.
//!
//! Polarity is checked against stars on every review with text: ≥ 4 positive,
//! ≤ 2 negative.

pub mod bm25;
pub mod collaborative;
pub mod intent;
pub mod metrics;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::offline::index_build::normalise_popularity;
use crate::rec::catalogue::CatalogueItem;
use crate::rec::collab::interaction_strength;
use crate::rec::feedback::Event;
use crate::rec::profile::ProfileSettings;
use crate::rec::ranker::{RankOptions, Ranker};
use crate::rec::recommender::Recommender;
use crate::util::error::{Error, Result};
use crate::util::rng::SplitMix;
use bm25::Bm25;
use collaborative::{
    learn_collab, learn_text_blend, CollabReport, LearnOptions, TextBlendReport, Validation,
};
use metrics::{bootstrap, Estimate, Outcome};

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Cut-off for Recall and NDCG.
    pub k: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed for the bootstrap and the random baseline.
    pub seed: u64,
    /// Ranking options for localrec (k and filters are set by the protocol).
    pub rank: RankOptions,
    /// Profile settings for localrec.
    pub profile: ProfileSettings,
    /// Also evaluate localrec with collaborative knowledge learned on the training events.
    pub collaborative: Option<LearnOptions>,
    /// Learn localrec's text / popularity weight (`rank.alpha`) on validation
    /// users of the training events instead of using `rank.alpha` as given.
    pub learn_alpha: bool,
    /// Also evaluate localrec with the collaborative knowledge the index ships
    /// (`localrec+shipped`): factors trained elsewhere, which must not have
    /// seen the test held-outs (train them on the exported training events).
    pub shipped_collab: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            k: 10,
            resamples: 1000,
            seed: 42,
            rank: RankOptions::default(),
            profile: ProfileSettings::default(),
            collaborative: None,
            learn_alpha: true,
            shipped_collab: false,
        }
    }
}

/// One method's figures.
#[derive(Debug, Clone, Serialize)]
pub struct MethodReport {
    /// NDCG@k.
    #[serde(rename = "ndcg@10")]
    pub ndcg: Estimate,
    /// Recall@k.
    #[serde(rename = "recall@10")]
    pub recall: Estimate,
    /// Mean reciprocal rank over the full ranking.
    pub mrr: Estimate,
    /// Share of the catalogue in some user's top k.
    pub coverage: f64,
}

/// Polarity against stars.
#[derive(Debug, Clone, Serialize)]
pub struct PolarityReport {
    /// Reviews judged (text, and stars ≤ 2 or ≥ 4).
    pub reviews: usize,
    /// Of which positive (≥ 4 stars).
    pub positive: usize,
    /// Share judged right.
    pub accuracy: f64,
    /// Mean of the accuracy on positives and on negatives.
    pub balanced_accuracy: f64,
}

/// What `evaluate` found.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Users with a held-out item.
    pub users: usize,
    /// Users without a usable held-out item (no new positive interaction).
    pub skipped_users: usize,
    /// Catalogue size.
    pub catalogue: usize,
    /// Events read.
    pub events: usize,
    /// Events naming an item the catalogue does not have (ignored).
    pub unknown_item_events: usize,
    /// Users whose profile had some text.
    pub users_with_text: usize,
    /// Per method, in a fixed order: localrec, popularity, bm25, random.
    pub methods: BTreeMap<String, MethodReport>,
    /// Polarity accuracy.
    pub polarity: PolarityReport,
    /// The text / popularity weight localrec ranked with, as learned (with `learn_alpha`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_blend: Option<TextBlendReport>,
    /// What collaborative learning saw and chose (with `collaborative`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collaborative: Option<CollabReport>,
    /// The train / test split (with `collaborative`), for peers to train on.
    #[serde(skip)]
    pub split: Option<Split>,
}

/// The split `--collaborative` trains and tests on, as peers need it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Split {
    /// Training interactions: (user, item id, strength, ts), positive strengths only.
    pub train: Vec<SplitInteraction>,
    /// One test case per evaluated user.
    pub test: Vec<SplitCase>,
    /// The training events as they were read (ratings in stars), for jobs
    /// that train on events, not interactions (the Spark example).
    pub train_events: Vec<Event>,
}

/// One training interaction.
#[derive(Debug, Clone, Serialize)]
pub struct SplitInteraction {
    /// User.
    pub user: String,
    /// Item id.
    pub item: String,
    /// Strength (the profile's weight of the event).
    pub strength: f32,
    /// Time.
    pub ts: i64,
}

/// One test case.
#[derive(Debug, Clone, Serialize)]
pub struct SplitCase {
    /// User.
    pub user: String,
    /// The held-out item id.
    pub item: String,
    /// Items not to rank (touched before).
    pub exclude: Vec<String>,
}

struct Case<'a> {
    user: &'a str,
    history: Vec<&'a Event>,
    held_out: usize,
    now: i64,
}

/// Runs the protocol. `items` must be the catalogue the recommender's index was built from.
pub fn evaluate(
    rec: &Recommender,
    items: &[CatalogueItem],
    events: &[Event],
    options: &EvalOptions,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<EvalReport> {
    let index = rec.index();
    if items.len() != index.len() || items.iter().enumerate().any(|(i, a)| a.id != index.id(i)) {
        return Err(Error::InvalidInput {
            what: "catalogue",
            reason: "the items are not the ones the index was built from".into(),
        });
    }
    // Group by user, in time order (stable for equal times), dropping unknown items.
    let mut by_user: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    let mut unknown = 0;
    for e in events {
        if e.feedback
            .item
            .as_deref()
            .is_some_and(|i| index.position(i).is_none())
        {
            unknown += 1;
            continue;
        }
        by_user.entry(e.user.as_str()).or_default().push(e);
    }
    let mut cases = Vec::new();
    let mut skipped = 0;
    for list in by_user.values_mut() {
        list.sort_by_key(|e| e.feedback.ts);
        let held = (0..list.len()).rev().find(|&j| {
            let f = &list[j].feedback;
            f.is_positive_interaction() && !list[..j].iter().any(|p| p.feedback.item == f.item)
        });
        match held {
            Some(j) => cases.push(Case {
                user: list[j].user.as_str(),
                history: list[..j].to_vec(),
                held_out: index.require(list[j].feedback.item.as_deref().unwrap_or_default())?,
                now: list[j].feedback.ts,
            }),
            None => skipped += 1,
        }
    }
    // What the store knows: every interaction except the held-out ones.
    let mut counts = vec![0f64; index.len()];
    for list in by_user.values() {
        for e in list {
            if let Some(p) = e.feedback.item.as_deref().and_then(|i| index.position(i)) {
                counts[p] += 1.0;
            }
        }
    }
    for c in &cases {
        counts[c.held_out] -= 1.0;
    }
    let popularity = normalise_popularity(&counts);

    // Embed every distinct text once.
    let texts: Vec<&str> = {
        let mut seen = HashSet::new();
        events
            .iter()
            .filter_map(|e| e.feedback.text.as_deref())
            .filter(|t| !t.trim().is_empty() && seen.insert(*t))
            .collect()
    };
    let mut vectors: HashMap<&str, Vec<f32>> = HashMap::with_capacity(texts.len());
    for (n, chunk) in texts.chunks(256).enumerate() {
        let e = rec.encoder().embed_batch(chunk)?;
        for (t, v) in chunk.iter().zip(e.rows()) {
            vectors.insert(t, v.to_vec());
        }
        progress(
            "embedding texts",
            (n * 256 + chunk.len()).min(texts.len()),
            texts.len(),
        );
    }

    let bm25 = Bm25::new(
        &items
            .iter()
            .map(CatalogueItem::embedding_text)
            .collect::<Vec<_>>(),
    );
    let ranker = Ranker::new(index).with_popularity(&popularity)?;
    let n = index.len();
    // What the store knows to learn from: each evaluated user's history before
    // the held-out event, and every event of the others.
    let evaluated: HashSet<&str> = cases.iter().map(|c| c.user).collect();
    let training: Vec<&Event> = cases
        .iter()
        .flat_map(|c| c.history.iter().copied())
        .chain(
            by_user
                .iter()
                .filter(|(u, _)| !evaluated.contains(*u))
                .flat_map(|(_, l)| l.iter().copied()),
        )
        .collect();
    let mut rank = options.rank.clone();
    // The validation users' replays, shared by the text weight and the
    // collaborative blend when both replay with the same settings.
    let text_learn = LearnOptions {
        k: options.k,
        profile: options.profile,
        ..options
            .collaborative
            .clone()
            .unwrap_or_else(|| LearnOptions::with_grid(1))
    };
    let mut text_validation = None;
    let text_blend = if options.learn_alpha {
        let v = Validation::prepare(
            rec,
            &training,
            &popularity,
            &vectors,
            &text_learn,
            &mut progress,
        )?;
        let report = learn_text_blend(&v, &popularity, &text_learn);
        rank.alpha = Some(report.alpha);
        text_validation = Some(v);
        Some(report)
    } else {
        None
    };
    // Collaborative knowledge from the training events: each evaluated user's
    // history before the held-out event, and every event of the others.
    let (collab_index, collab_report, split) = match &options.collaborative {
        None => (None, None, None),
        Some(learn) => {
            let same = learn.profile == text_learn.profile
                && learn.max_validation_users == text_learn.max_validation_users;
            let v = match text_validation.take().filter(|_| same) {
                Some(v) => v,
                None => Validation::prepare(
                    rec,
                    &training,
                    &popularity,
                    &vectors,
                    learn,
                    &mut progress,
                )?,
            };
            let (model, report) = learn_collab(rec, &v, &popularity, learn, &mut progress)?;
            let split = Split {
                train: training
                    .iter()
                    .filter_map(|e| {
                        Some(SplitInteraction {
                            user: e.user.clone(),
                            item: e.feedback.item.clone()?,
                            strength: interaction_strength(&e.feedback)?,
                            ts: e.feedback.ts,
                        })
                    })
                    .collect(),
                test: Vec::new(),
                train_events: training.iter().map(|&e| e.clone()).collect(),
            };
            (
                Some(index.clone().with_collab(model)?),
                Some(report),
                Some(split),
            )
        }
    };
    let collab_ranker = match &collab_index {
        Some(ix) => Some(Ranker::new(ix).with_popularity(&popularity)?),
        None => None,
    };
    let shipped_ranker = if options.shipped_collab {
        if index.collab().is_none() {
            return Err(Error::InvalidInput {
                what: "index",
                reason: "has no collaborative knowledge to evaluate (build it with --interactions)"
                    .into(),
            });
        }
        Some(Ranker::new(index).with_popularity(&popularity)?)
    } else {
        None
    };
    let mut split = split;
    let mut names = vec!["localrec", "popularity", "bm25", "random"];
    if collab_ranker.is_some() {
        names.push("localrec+collab");
    }
    if shipped_ranker.is_some() {
        names.push("localrec+shipped");
    }
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); names.len()];
    let mut shown: Vec<HashSet<usize>> = vec![HashSet::new(); names.len()];
    let mut rng = SplitMix(options.seed);
    let mut users_with_text = 0;
    for (u, case) in cases.iter().enumerate() {
        let mut profile = rec.new_profile(options.profile)?;
        let mut wrote = false;
        for e in &case.history {
            let text = e.feedback.text.as_deref().filter(|t| !t.trim().is_empty());
            let v = text.and_then(|t| vectors.get(t)).map(Vec::as_slice);
            rec.record_embedded(&mut profile, &e.feedback, v)?;
            wrote |= text.is_some();
        }
        users_with_text += usize::from(wrote);
        let query = bm25_query(&case.history, |id| {
            index.position(id).map(|p| items[p].embedding_text())
        });
        let touched: BTreeSet<usize> = profile
            .seen()
            .iter()
            .chain(profile.not_interested())
            .filter_map(|id| index.position(id))
            .collect();
        let eligible: Vec<usize> = (0..n).filter(|i| !touched.contains(i)).collect();

        // localrec
        let excluded: BTreeSet<&str> = profile.seen().iter().map(String::as_str).collect();
        let opts = RankOptions {
            k: n,
            now: case.now,
            ..rank.clone()
        };
        let ranked: Vec<usize> = ranker
            .select(&profile.directions(case.now), &excluded, &opts)
            .into_iter()
            .map(|(i, _, _)| i)
            .collect();
        // popularity
        let mut by_pop = eligible.clone();
        by_pop.sort_by(|&a, &b| popularity[b].total_cmp(&popularity[a]).then(a.cmp(&b)));
        // bm25, ties by popularity
        let scores = bm25.scores(&query);
        let mut by_bm25 = eligible.clone();
        by_bm25.sort_by(|&a, &b| {
            scores[b]
                .total_cmp(&scores[a])
                .then(popularity[b].total_cmp(&popularity[a]))
                .then(a.cmp(&b))
        });
        // random
        let mut by_random = eligible.clone();
        for i in (1..by_random.len()).rev() {
            by_random.swap(i, rng.below(i + 1));
        }
        let mut lists = vec![ranked, by_pop, by_bm25, by_random];
        for cr in [&collab_ranker, &shipped_ranker].into_iter().flatten() {
            let user = cr.fold_in(&profile);
            let directions = profile.directions(case.now);
            lists.push(
                cr.select_blended(&directions, user.as_ref(), &excluded, &opts)
                    .into_iter()
                    .map(|(i, _, _)| i)
                    .collect(),
            );
        }
        if let Some(s) = split.as_mut() {
            s.test.push(SplitCase {
                user: case.user.to_string(),
                item: index.id(case.held_out).to_string(),
                exclude: excluded.iter().map(|x| x.to_string()).collect(),
            });
        }
        for (m, list) in lists.into_iter().enumerate() {
            let rank = list.iter().position(|&i| i == case.held_out).map(|p| p + 1);
            outcomes[m].push(Outcome { rank });
            shown[m].extend(list.iter().take(options.k));
        }
        if u % 25 == 0 || u + 1 == cases.len() {
            progress("ranking users", u + 1, cases.len());
        }
    }

    let methods = names
        .iter()
        .enumerate()
        .map(|(m, name)| {
            let o = &outcomes[m];
            let seed = options.seed.wrapping_add(m as u64);
            let est = |f: &dyn Fn(&Outcome) -> f64| {
                bootstrap(
                    &o.iter().map(f).collect::<Vec<_>>(),
                    options.resamples,
                    seed,
                )
            };
            (
                name.to_string(),
                MethodReport {
                    ndcg: est(&|x| x.ndcg(options.k)),
                    recall: est(&|x| x.recall(options.k)),
                    mrr: est(&|x| x.reciprocal_rank()),
                    coverage: shown[m].len() as f64 / n.max(1) as f64,
                },
            )
        })
        .collect();

    Ok(EvalReport {
        users: cases.len(),
        skipped_users: skipped,
        catalogue: n,
        events: events.len(),
        unknown_item_events: unknown,
        users_with_text,
        methods,
        polarity: polarity_report(rec, events, &vectors),
        text_blend,
        collaborative: collab_report,
        split,
    })
}

/// The BM25 baseline's query: the user's earlier texts, or, for a user who
/// wrote none, the texts (`item_text`) of the items they liked earlier.
fn bm25_query(history: &[&Event], item_text: impl Fn(&str) -> Option<String>) -> String {
    let mut query = String::new();
    for t in history
        .iter()
        .filter_map(|e| e.feedback.text.as_deref())
        .filter(|t| !t.trim().is_empty())
    {
        query.push_str(t);
        query.push('\n');
    }
    if query.is_empty() {
        for e in history
            .iter()
            .filter(|e| e.feedback.is_positive_interaction())
        {
            if let Some(t) = e.feedback.item.as_deref().and_then(&item_text) {
                query.push_str(&t);
                query.push('\n');
            }
        }
    }
    query
}

fn polarity_report(
    rec: &Recommender,
    events: &[Event],
    vectors: &HashMap<&str, Vec<f32>>,
) -> PolarityReport {
    let (mut pos_right, mut pos, mut neg_right, mut neg) = (0, 0, 0, 0);
    for e in events {
        let (Some(text), Some(stars)) = (e.feedback.text.as_deref(), e.feedback.rating) else {
            continue;
        };
        let Some(v) = vectors.get(text) else { continue };
        let p = rec.polarity().polarity(v);
        if stars >= 4.0 {
            pos += 1;
            pos_right += usize::from(p > 0.0);
        } else if stars <= 2.0 {
            neg += 1;
            neg_right += usize::from(p < 0.0);
        }
    }
    let rate = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    PolarityReport {
        reviews: pos + neg,
        positive: pos,
        accuracy: rate(pos_right + neg_right, pos + neg),
        balanced_accuracy: (rate(pos_right, pos) + rate(neg_right, neg)) / 2.0,
    }
}

/// Fits the polarity calibration (logistic regression on the raw anchor score)
/// to labelled texts: `(raw score, positive?)`. Returns (slope, offset).
pub fn fit_polarity(samples: &[(f32, bool)]) -> (f32, f32) {
    // Balance the classes by weighting, then Newton steps on (a, c) of σ(a·x + c).
    let npos = samples.iter().filter(|s| s.1).count().max(1) as f64;
    let nneg = samples.iter().filter(|s| !s.1).count().max(1) as f64;
    let (mut a, mut c) = (10.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gc, mut haa, mut hac, mut hcc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(x, y) in samples {
            let x = x as f64;
            let w = if y { 0.5 / npos } else { 0.5 / nneg };
            let p = 1.0 / (1.0 + (-(a * x + c)).exp());
            let r = p - if y { 1.0 } else { 0.0 };
            ga += w * r * x;
            gc += w * r;
            let s = w * p * (1.0 - p);
            haa += s * x * x;
            hac += s * x;
            hcc += s;
        }
        let (haa, hcc) = (haa + 1e-6, hcc + 1e-9);
        let det = haa * hcc - hac * hac;
        if det.abs() < 1e-18 {
            break;
        }
        a -= (hcc * ga - hac * gc) / det;
        c -= (haa * gc - hac * ga) / det;
    }
    let slope = a as f32;
    let offset = if a != 0.0 { (-c / a) as f32 } else { 0.0 };
    (slope, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bm25_queries_by_the_users_texts_else_by_the_items_they_liked() {
        let events: Vec<Event> = crate::rec::feedback::read_events(
            concat!(
                r#"{"user":"u","ts":1,"item":"a","kind":"purchase"}"#,
                "\n",
                r#"{"user":"u","ts":2,"item":"b","rating":1}"#,
                "\n",
                r#"{"user":"u","ts":3,"item":"c","rating":5}"#,
                "\n",
            )
            .as_bytes(),
        )
        .unwrap();
        let history: Vec<&Event> = events.iter().collect();
        let text = |id: &str| (id != "c").then(|| format!("text of {id}"));
        assert_eq!(bm25_query(&history, text), "text of a\n");
        let mut wrote = events.clone();
        wrote[1].feedback.text = Some("too loud".into());
        let history: Vec<&Event> = wrote.iter().collect();
        assert_eq!(bm25_query(&history, text), "too loud\n");
    }

    #[test]
    fn fits_a_separable_threshold() {
        let samples: Vec<(f32, bool)> = (0..100)
            .map(|i| (i as f32 / 100.0 - 0.3, i >= 30))
            .collect();
        let (slope, offset) = fit_polarity(&samples);
        assert!(slope > 0.0);
        assert!((offset - 0.0).abs() < 0.02, "{offset}");
    }
}
