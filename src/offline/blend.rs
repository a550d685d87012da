//! Learning the blend weights offline, per catalogue: a grid over the simplex
//! (steps of 0.05) of `text·relevance + collaborative·collab + popularity·pop`,
//! scored by mean NDCG@k on validation users — each user's last training
//! positive, never a test held-out item.

use crate::offline::eval::metrics::Outcome;

use crate::rec::collab::Blend;

/// One validation user: the per-item evidence the ranker blends.
#[derive(Debug, Clone)]
pub struct ValidationCase<'a> {
    /// Text relevance per item, in [0, 1] (0.5 neutral).
    pub relevance: &'a [f32],
    /// Normalised collaborative score per item, in [0, 1] (all zero: no knowledge).
    pub collaborative: Vec<f32>,
    /// Items that may not be ranked (touched before), sorted.
    pub excluded: &'a [usize],
    /// The held-out item.
    pub held_out: usize,
}

/// Rank (1-based) of `case.held_out` under `blend` (ties: lower index first, as the ranker).
pub fn rank_of(case: &ValidationCase<'_>, popularity: &[f32], blend: &Blend) -> usize {
    let score = |i: usize| {
        blend.text * case.relevance[i]
            + blend.collaborative * case.collaborative[i]
            + blend.popularity * popularity[i]
    };
    let h = case.held_out;
    let sh = score(h);
    1 + (0..case.relevance.len())
        .filter(|&j| {
            j != h
                && case.excluded.binary_search(&j).is_err()
                && (score(j) > sh || (score(j) == sh && j < h))
        })
        .count()
}

/// Every blend on the 0.05 grid of the simplex.
pub fn grid() -> Vec<Blend> {
    let mut out = Vec::new();
    for t in 0..=20 {
        for c in 0..=(20 - t) {
            out.push(Blend {
                text: t as f32 / 20.0,
                collaborative: c as f32 / 20.0,
                popularity: (20 - t - c) as f32 / 20.0,
            });
        }
    }
    out
}

/// The blends without collaborative evidence: text · relevance + popularity ·
/// pop, text from 0 (popularity alone) to 1 (text alone) in steps of 0.05.
pub fn text_grid() -> Vec<Blend> {
    grid()
        .into_iter()
        .filter(|b| b.collaborative == 0.0)
        .collect()
}

/// The blend with the best mean NDCG@k over `cases` (ties: the earlier grid
/// point), and that NDCG. With no cases: the default blend and 0.
pub fn learn(cases: &[ValidationCase<'_>], popularity: &[f32], k: usize) -> (Blend, f64) {
    if cases.is_empty() {
        return (Blend::default(), 0.0);
    }
    learn_on(cases, popularity, k, &grid())
}

/// [`learn`] over the given candidate blends (the first, with no cases).
pub fn learn_on(
    cases: &[ValidationCase<'_>],
    popularity: &[f32],
    k: usize,
    candidates: &[Blend],
) -> (Blend, f64) {
    let fallback = candidates.first().copied().unwrap_or_default();
    if cases.is_empty() {
        return (fallback, 0.0);
    }
    let mut best = (fallback, f64::NEG_INFINITY);
    for &blend in candidates {
        let ndcg = cases
            .iter()
            .map(|c| {
                Outcome {
                    rank: Some(rank_of(c, popularity, &blend)),
                }
                .ndcg(k)
            })
            .sum::<f64>()
            / cases.len() as f64;
        if ndcg > best.1 + 1e-12 {
            best = (blend, ndcg);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_to_trust_the_signal_that_finds_the_item() {
        // Collaborative evidence points at the held-out item, text at another.
        let relevance: Vec<Vec<f32>> = (0..6)
            .map(|h| {
                (0..6)
                    .map(|i| if i == (h + 1) % 6 { 1.0 } else { 0.5 })
                    .collect()
            })
            .collect();
        let case = |h: usize| ValidationCase {
            relevance: &relevance[h],
            collaborative: (0..6).map(|i| if i == h { 1.0 } else { 0.0 }).collect(),
            excluded: &[],
            held_out: h,
        };
        let cases: Vec<_> = (0..6).map(case).collect();
        let (blend, ndcg) = learn(&cases, &[0.0; 6], 10);
        assert_eq!(ndcg, 1.0);
        assert!(blend.collaborative > blend.text, "{blend:?}");
        assert_eq!(grid().len(), 231);
        assert!(grid().iter().all(|b| b.validate().is_ok()));
        assert_eq!(learn(&[], &[], 10).0, Blend::default());
    }

    #[test]
    fn without_collaborative_evidence_the_weight_never_falls_below_popularity_or_text() {
        // Held-out items are the popular ones; text points at the wrong item.
        let n = 8;
        let popularity: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 / n as f32).collect();
        let relevance: Vec<Vec<f32>> = (0..3)
            .map(|h| {
                (0..n)
                    .map(|i| if i == n - 1 - h { 1.0 } else { 0.5 })
                    .collect()
            })
            .collect();
        let cases: Vec<ValidationCase> = (0..3)
            .map(|h| ValidationCase {
                relevance: &relevance[h],
                collaborative: vec![0.0; n],
                excluded: &[],
                held_out: h,
            })
            .collect();
        let grid = text_grid();
        assert_eq!(grid.len(), 21);
        assert!(grid.iter().all(|b| b.collaborative == 0.0));
        let (chosen, ndcg) = learn_on(&cases, &popularity, 10, &grid);
        let only = |text: f32| {
            let b = Blend {
                text,
                collaborative: 0.0,
                popularity: 1.0 - text,
            };
            learn_on(&cases, &popularity, 10, &[b]).1
        };
        assert!(ndcg >= only(0.0) && ndcg >= only(1.0));
        assert!(chosen.text < 0.5, "popularity wins here: {chosen:?}");
        // And where text finds the held-out items (the same relevance), text wins.
        let cases: Vec<ValidationCase> = (0..3)
            .map(|h| ValidationCase {
                relevance: &relevance[h],
                collaborative: vec![0.0; n],
                excluded: &[],
                held_out: n - 1 - h,
            })
            .collect();
        let (chosen, ndcg) = learn_on(&cases, &popularity, 10, &grid);
        assert_eq!(ndcg, 1.0);
        assert!(chosen.text > 0.5, "{chosen:?}");
    }
}
