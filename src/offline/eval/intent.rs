//! The intent benchmark: does free-text feedback move the top 10 the way a
//! person meant it? Each query clears the profile, optionally likes the most
//! popular items carrying some tags, records its texts, and measures the share
//! of the top 10 carrying the wished (`want`) or rejected (`avoid`) tags; the
//! catalogue's own tags and categories are the ground truth. The queries are
//! JSONL (`../shared/intent/queries.jsonl`):
//!
//! ```json
//! {"id": "v003", "type": "neg", "events": [{"text": "no horror films please"}], "avoid": ["Horror"]}
//! {"id": "v170", "type": "history-pos", "like_top": {"tags": ["Horror"], "n": 3}, "events": [{"text": "I want more of this kind"}], "want": ["Horror"]}
//! ```

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::offline::eval::metrics::{bootstrap, Estimate};
use crate::rec::feedback::{Feedback, FeedbackKind};
use crate::rec::profile::ProfileSettings;
use crate::rec::ranker::RankOptions;
use crate::rec::recommender::Recommender;
use crate::util::error::{Error, Result};

/// One text of a query.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryEvent {
    /// What the visitor types.
    pub text: String,
}

/// Likes recorded before the query's texts.
#[derive(Debug, Clone, Deserialize)]
pub struct LikeTop {
    /// Like the most popular items carrying one of these tags…
    pub tags: Vec<String>,
    /// …this many of them.
    pub n: usize,
}

/// One benchmark query.
#[derive(Debug, Clone, Deserialize)]
pub struct IntentQuery {
    /// Its id.
    pub id: String,
    /// `pos`, `neg`, `combo`, `history-neg` or `history-pos`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The texts, in order.
    pub events: Vec<QueryEvent>,
    /// Tags the top 10 should carry.
    #[serde(default)]
    pub want: Vec<String>,
    /// Tags the top 10 should not carry.
    #[serde(default)]
    pub avoid: Vec<String>,
    /// Likes first.
    #[serde(default)]
    pub like_top: Option<LikeTop>,
}

/// Reads queries, one JSON object a line (blank lines skipped).
pub fn read_queries(reader: impl BufRead) -> Result<Vec<IntentQuery>> {
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::Io {
            context: format!("reading queries line {}", n + 1),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).map_err(|e| Error::InvalidInput {
                what: "intent query",
                reason: format!("line {}: {e}", n + 1),
            })?,
        );
    }
    Ok(out)
}

/// One query's result.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    /// Query id.
    pub id: String,
    /// Query type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its texts joined by " / ".
    pub text: String,
    /// The top 3 ids.
    pub top3: Vec<String>,
    /// Share of the top 10 carrying a wished tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub want: Option<f64>,
    /// Share of the top 10 carrying a rejected tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avoid: Option<f64>,
    /// The rejected share with no feedback at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avoid_cold: Option<f64>,
    /// The rejected share after the likes, before the texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avoid_before: Option<f64>,
}

/// The benchmark's figures: means over queries of a type, with 95% bootstrap intervals.
#[derive(Debug, Clone, Serialize)]
pub struct IntentSummary {
    /// Wishes: wished share.
    pub pos_want: Estimate,
    /// Rejections: rejected share.
    pub neg_avoid: Estimate,
    /// Rejections: rejected share with no feedback.
    pub neg_avoid_cold: Estimate,
    /// Wish + rejection: wished share.
    pub combo_want: Estimate,
    /// Wish + rejection: rejected share.
    pub combo_avoid: Estimate,
    /// Rejection after likes: rejected share before the text.
    pub hist_neg_avoid_before: Estimate,
    /// Rejection after likes: rejected share after it.
    pub hist_neg_avoid_after: Estimate,
    /// "More of this kind" after likes: wished share.
    pub hist_pos_want: Estimate,
    /// Queries run.
    pub queries: usize,
}

/// Runs every query on `rec` and returns the per-query rows and the summary.
pub fn run_intent_bench(
    rec: &Recommender,
    queries: &[IntentQuery],
) -> Result<(Vec<QueryResult>, IntentSummary)> {
    let index = rec.index();
    let facets = |i: usize| -> Vec<&str> {
        let mut f: Vec<&str> = index
            .tag_ids(i)
            .iter()
            .filter_map(|&t| index.tags().get(t as usize).map(String::as_str))
            .collect();
        f.extend(index.category(i));
        f
    };
    let share = |ids: &[usize], tags: &[String]| -> f64 {
        let hits = ids
            .iter()
            .filter(|&&i| facets(i).iter().any(|f| tags.iter().any(|t| t == f)))
            .count();
        hits as f64 / ids.len().max(1) as f64
    };
    // Most popular first; ties in index order.
    let mut by_popularity: Vec<usize> = (0..index.len()).collect();
    by_popularity.sort_by(|&a, &b| index.popularity()[b].total_cmp(&index.popularity()[a]));
    let mut ts: i64 = 1_700_000_000;
    let options = |now: i64| RankOptions {
        k: 10,
        now,
        ..RankOptions::default()
    };
    let top = |profile: &crate::rec::profile::IntentProfile, now: i64| -> Result<Vec<usize>> {
        Ok(rec
            .recommend(profile, &options(now))?
            .into_iter()
            .map(|r| r.index)
            .collect())
    };
    let empty = rec.new_profile(ProfileSettings::default())?;
    let cold = top(&empty, ts)?;
    let mut rows = Vec::with_capacity(queries.len());
    for q in queries {
        let mut profile = rec.new_profile(ProfileSettings::default())?;
        let mut before = None;
        if let Some(like) = &q.like_top {
            let liked: Vec<usize> = by_popularity
                .iter()
                .copied()
                .filter(|&i| facets(i).iter().any(|f| like.tags.iter().any(|t| t == f)))
                .take(like.n)
                .collect();
            for i in liked {
                rec.record(
                    &mut profile,
                    &Feedback::action(ts, index.id(i), FeedbackKind::Like),
                )?;
                ts += 1;
            }
            before = Some(top(&profile, ts)?);
        }
        for e in &q.events {
            rec.record(&mut profile, &Feedback::text(ts, e.text.clone()))?;
            ts += 1;
        }
        let ids = top(&profile, ts)?;
        let has = |tags: &[String]| !tags.is_empty();
        rows.push(QueryResult {
            id: q.id.clone(),
            kind: q.kind.clone(),
            text: q
                .events
                .iter()
                .map(|e| e.text.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
            top3: ids
                .iter()
                .take(3)
                .map(|&i| index.id(i).to_string())
                .collect(),
            want: has(&q.want).then(|| share(&ids, &q.want)),
            avoid: has(&q.avoid).then(|| share(&ids, &q.avoid)),
            avoid_cold: has(&q.avoid).then(|| share(&cold, &q.avoid)),
            avoid_before: before
                .as_ref()
                .filter(|_| has(&q.avoid))
                .map(|b| share(b, &q.avoid)),
        });
    }
    let est = |kind: &str, field: fn(&QueryResult) -> Option<f64>| -> Estimate {
        let values: Vec<f64> = rows
            .iter()
            .filter(|r| r.kind == kind)
            .filter_map(field)
            .collect();
        bootstrap(&values, 1000, 7)
    };
    let summary = IntentSummary {
        pos_want: est("pos", |r| r.want),
        neg_avoid: est("neg", |r| r.avoid),
        neg_avoid_cold: est("neg", |r| r.avoid_cold),
        combo_want: est("combo", |r| r.want),
        combo_avoid: est("combo", |r| r.avoid),
        hist_neg_avoid_before: est("history-neg", |r| r.avoid_before),
        hist_neg_avoid_after: est("history-neg", |r| r.avoid),
        hist_pos_want: est("history-pos", |r| r.want),
        queries: rows.len(),
    };
    Ok((rows, summary))
}
