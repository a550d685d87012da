//! Reading the profile at ranking time: weights decayed by age, signals
//! grouped into a few interests and negative directions (leader clustering),
//! rejections kept apart.

use super::{IntentProfile, Signal, SignalSource};

/// A direction derived from signals at ranking time: unit vector, total decayed weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    /// Unit vector.
    pub vector: Vec<f32>,
    /// Sum of the decayed weights that formed it (> 0).
    pub weight: f32,
}

/// A concept the user said to keep out, still in force (no newer wish asked for it).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The concept's unit vector.
    pub vector: Vec<f32>,
    /// The concept as written ("horror").
    pub concept: String,
    /// What the user said ("no horror please").
    pub said: String,
    /// When it was said.
    pub ts: i64,
    /// Its place among the profile's signals (time order; feedback given in
    /// the same second keeps the order it came in).
    pub at: usize,
}

/// Positive interests, negative directions and rejections at a moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directions {
    /// What the user wants (several interests, strongest first).
    pub interests: Vec<Direction>,
    /// What the user does not want.
    pub negatives: Vec<Direction>,
    /// Concepts to keep out of the lists, oldest first.
    pub rejections: Vec<Rejection>,
}

impl Directions {
    /// No signal at all: rank by popularity.
    pub fn is_empty(&self) -> bool {
        self.interests.is_empty() && self.negatives.is_empty() && self.rejections.is_empty()
    }
}

/// Cosine at or above which a newer wish asks again for a rejected concept
/// ("no horror" … later "actually, horror please"), lifting the rejection.
pub const ASKED_AGAIN_COSINE: f32 = 0.75;

impl IntentProfile {
    /// Interests and negative directions as of `now` (unix seconds).
    pub fn directions(&self, now: i64) -> Directions {
        self.directions_where(now, |_, _| true)
    }

    /// [`directions`](Self::directions) from the signals `keep` accepts, given
    /// their place and themselves (the ranker leaves out likes that a newer
    /// rejection covers, and rejections a newer wish lifted). A rejection is
    /// in force unless a newer wish said in words points the same way
    /// ([`ASKED_AGAIN_COSINE`]); one in force also pushes its neighbours down.
    pub fn directions_where(&self, now: i64, keep: impl Fn(usize, &Signal) -> bool) -> Directions {
        let hl = self.settings.half_life_days;
        let mut positive = Vec::new();
        let mut negative = Vec::new();
        let mut rejections = Vec::new();
        for (at, s) in self.signals.iter().enumerate() {
            if !keep(at, s) {
                continue;
            }
            let v = s.vector();
            if let SignalSource::Rejected { concept, said } = &s.source {
                let asked_again = self.signals[at + 1..].iter().any(|later| {
                    later.weight > 0.0
                        && matches!(later.source, SignalSource::Said(_))
                        && crate::cpu::ops::dot(&later.vector(), &v) >= ASKED_AGAIN_COSINE
                });
                if asked_again {
                    continue;
                }
                rejections.push(Rejection {
                    vector: v.clone(),
                    concept: concept.clone(),
                    said: said.clone(),
                    ts: s.ts,
                    at,
                });
            }
            let w = s.decayed(now, hl);
            if w > 0.0 {
                positive.push((v, w));
            } else if w < 0.0 {
                negative.push((v, -w));
            }
        }
        Directions {
            rejections,
            interests: cluster(
                &positive,
                self.settings.interest_threshold,
                self.settings.max_interests,
            ),
            // Rejections stay sharper: only near-duplicates merge.
            negatives: cluster(&negative, 0.8, self.settings.max_negatives),
        }
    }
}

/// Leader clustering of weighted unit vectors: each joins the closest group
/// if its cosine reaches `threshold`, else starts one; past `max` groups the two
/// closest merge. Returns unit centroids, strongest first.
fn cluster(vectors: &[(Vec<f32>, f32)], threshold: f32, max: usize) -> Vec<Direction> {
    let mut groups: Vec<(Vec<f32>, f32)> = Vec::new(); // (weighted sum, weight)
    let unit = |v: &[f32]| -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter().map(|x| x / n).collect()
    };
    let cos = |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    for (v, w) in vectors {
        let best = groups
            .iter()
            .enumerate()
            .map(|(i, (sum, _))| (i, cos(&unit(sum), v)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, c)) if c >= threshold => {
                let g = &mut groups[i];
                g.0.iter_mut().zip(v).for_each(|(s, x)| *s += w * x);
                g.1 += w;
            }
            _ => groups.push((v.iter().map(|x| w * x).collect(), *w)),
        }
        while groups.len() > max {
            let mut best = (0, 1, f32::NEG_INFINITY);
            for i in 0..groups.len() {
                for j in i + 1..groups.len() {
                    let c = cos(&unit(&groups[i].0), &unit(&groups[j].0));
                    if c > best.2 {
                        best = (i, j, c);
                    }
                }
            }
            let (i, j, _) = best;
            let (sum, w) = groups.remove(j);
            groups[i].0.iter_mut().zip(&sum).for_each(|(s, x)| *s += x);
            groups[i].1 += w;
        }
    }
    let mut out: Vec<Direction> = groups
        .into_iter()
        .filter(|(sum, w)| *w > 0.0 && sum.iter().any(|x| *x != 0.0))
        .map(|(sum, weight)| Direction {
            vector: unit(&sum),
            weight,
        })
        .collect();
    out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    out
}
