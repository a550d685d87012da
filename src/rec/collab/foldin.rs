//! On-device fold-in: the visitor's own interactions, solved against the
//! shipped item factors — one k×k system, nothing trained, nothing sent.
//!
//! With item factors `Y` fixed, the visitor's factors are the ALS user solve
//! `x = (YᵀY + λI + Σ_j (c_j − 1)·y_j·y_jᵀ)⁻¹ · Σ_j c_j·y_j` over the items `j`
//! they interacted with (`c_j = 1 + α·strength_j`; `λ·n` for `n` such items
//! when the factors were trained that way, as Spark's ALS does). Because `x` is linear in the
//! right-hand side, an item's score `y_i·x` splits exactly into one share per
//! interacted item, `y_i·(c_j·A⁻¹·y_j)`: the largest share names the item in
//! "people who liked X also liked this".

use crate::cpu::score::{Kernel, Query};
use crate::rec::index::CatalogueIndex;
use crate::rec::profile::{IntentProfile, SignalSource};

use super::linalg::{add_outer_lower, Cholesky};
use super::CollabModel;

/// A visitor's position in the collaborative space.
#[derive(Debug, Clone)]
pub struct UserFactors {
    vector: Vec<f32>,
    query: Query,
    /// Per interacted item with knowledge: (item position, its share `c_j·A⁻¹·y_j`).
    shares: Vec<(usize, Vec<f32>)>,
}

impl UserFactors {
    /// Solves the visitor's factors from `(item position, strength)` pairs
    /// (repeats add up; strengths ≤ 0 and items without factors are ignored).
    /// `None` when no interaction touches an item with collaborative knowledge:
    /// the ranking then stays on the text path.
    pub fn fold_in(model: &CollabModel, interactions: &[(usize, f32)]) -> Option<Self> {
        let k = model.k();
        let mut observed: Vec<(usize, f32)> = interactions
            .iter()
            .copied()
            .filter(|&(i, s)| s.is_finite() && s > 0.0 && model.has_factors(i))
            .collect();
        observed.sort_unstable_by_key(|&(i, _)| i);
        observed.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
        if observed.is_empty() {
            return None;
        }
        let mut a = model.regularized_gram().to_vec();
        // The Gram holds λI; λ scaled by the visitor's pairs adds the rest.
        let lambda = model.regularization();
        let extra = model.scaling().row_lambda(lambda, observed.len()) - f64::from(lambda);
        if extra > 0.0 {
            for d in 0..k {
                a[d * k + d] += extra;
            }
        }
        let mut b = vec![0.0f64; k];
        let alpha = f64::from(model.confidence());
        let ys: Vec<(usize, f64, Vec<f32>)> = observed
            .iter()
            .map(|&(i, s)| (i, 1.0 + alpha * f64::from(s), model.factor(i)))
            .collect();
        for (_, c, y) in &ys {
            add_outer_lower(&mut a, y, c - 1.0);
            for (bd, &yd) in b.iter_mut().zip(y) {
                *bd += c * f64::from(yd);
            }
        }
        let ch = Cholesky::factor(&a, k)?;
        ch.solve_in_place(&mut b);
        let vector: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let shares = ys
            .iter()
            .map(|(i, c, y)| {
                let mut w: Vec<f64> = y.iter().map(|&v| c * f64::from(v)).collect();
                ch.solve_in_place(&mut w);
                (*i, w.iter().map(|&v| v as f32).collect())
            })
            .collect();
        Some(Self {
            query: Query::new(&vector),
            vector,
            shares,
        })
    }

    /// Folds in a profile's positive actions on items of `index` (likes, stars,
    /// purchases, views: their signal weights are the strengths, as in training).
    pub fn from_profile(
        model: &CollabModel,
        index: &CatalogueIndex,
        profile: &IntentProfile,
    ) -> Option<Self> {
        let acted: Vec<(usize, f32)> = profile
            .signals()
            .iter()
            .filter_map(|s| match &s.source {
                SignalSource::Item(id) if s.weight > 0.0 => Some((index.position(id)?, s.weight)),
                _ => None,
            })
            .collect();
        Self::fold_in(model, &acted)
    }

    /// The solved factors.
    pub fn vector(&self) -> &[f32] {
        &self.vector
    }

    /// Predicted preference `y_i·x` of every item (int8 factors, one pass).
    pub fn scores(&self, model: &CollabModel, kernel: Kernel) -> Vec<f32> {
        let m = model.matrix();
        (0..m.rows())
            .map(|i| m.score(kernel, i, &self.query))
            .collect()
    }

    /// The collaborative score the ranker blends: `max(0, y_i·x) / max_j y_j·x`, in [0, 1].
    pub fn normalized_scores(&self, model: &CollabModel, kernel: Kernel) -> Vec<f32> {
        let mut s = self.scores(model, kernel);
        let max = s.iter().copied().fold(0f32, f32::max);
        for x in &mut s {
            *x = if max > 0.0 { x.max(0.0) / max } else { 0.0 };
        }
        s
    }

    /// The interacted item with the largest share in item `i`'s score, and that share.
    pub fn strongest_share(&self, model: &CollabModel, i: usize) -> Option<(usize, f32)> {
        let y = model.factor(i);
        self.shares
            .iter()
            .map(|(j, w)| (*j, y.iter().zip(w).map(|(a, b)| a * b).sum::<f32>()))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rec::collab::Blend;
    use crate::rec::collab::{AlsSettings, Factors, RegularizationScaling};

    fn model() -> CollabModel {
        model_with(RegularizationScaling::None)
    }

    fn model_with(scaling: RegularizationScaling) -> CollabModel {
        let (items, k) = (30, 6);
        let data = (0..items * k)
            .map(|x| (((x * 7919) % 97) as f32 / 97.0 - 0.5) * if x / k == 4 { 0.0 } else { 1.0 })
            .collect();
        let settings = AlsSettings {
            factors: k,
            regularization: 0.5,
            scaling,
            confidence: 15.0,
            ..AlsSettings::default()
        };
        CollabModel::new(&Factors { k, data }, &settings, Blend::default()).unwrap()
    }

    /// The weighted least-squares problem written out over every item
    /// (`min Σ_i c_i (p_i − y_i·x)² + λ|x|²`, unobserved items with c = 1, p = 0),
    /// its normal equations formed item by item and solved by Gauss–Jordan
    /// elimination with partial pivoting — no Gram shortcut, no Cholesky.
    fn direct_solve(m: &CollabModel, observed: &[(usize, f32)], lambda: f64) -> Vec<f64> {
        let k = m.k();
        let mut a = vec![vec![0.0f64; k + 1]; k];
        for i in 0..m.items() {
            let s: f32 = observed.iter().filter(|o| o.0 == i).map(|o| o.1).sum();
            let (c, p) = if s > 0.0 {
                (1.0 + f64::from(m.confidence()) * f64::from(s), 1.0)
            } else {
                (1.0, 0.0)
            };
            let y = m.factor(i);
            for r in 0..k {
                for col in 0..k {
                    a[r][col] += c * f64::from(y[r]) * f64::from(y[col]);
                }
                a[r][k] += c * p * f64::from(y[r]);
            }
        }
        for (d, row) in a.iter_mut().enumerate() {
            row[d] += lambda;
        }
        for col in 0..k {
            let pivot = (col..k)
                .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            let p = a[col][col];
            for v in a[col].iter_mut() {
                *v /= p;
            }
            for r in 0..k {
                if r != col {
                    let f = a[r][col];
                    let src = a[col].clone();
                    for (v, s) in a[r].iter_mut().zip(src) {
                        *v -= f * s;
                    }
                }
            }
        }
        a.iter().map(|row| row[k]).collect()
    }

    #[test]
    fn fold_in_matches_a_direct_least_squares_solve() {
        let m = model();
        let observed = [(3, 1.0), (7, 0.5), (3, 0.5), (12, 0.3), (4, 1.0), (29, 1.0)];
        let user = UserFactors::fold_in(&m, &observed).unwrap();
        let direct = direct_solve(&m, &[(3, 1.5), (7, 0.5), (12, 0.3), (29, 1.0)], 0.5);
        for (a, b) in user.vector().iter().zip(&direct) {
            assert!(
                (f64::from(*a) - b).abs() < 1e-4,
                "{:?} vs {direct:?}",
                user.vector()
            );
        }
        // The shares of the interacted items add up to each item's score.
        for i in 0..m.items() {
            let y = m.factor(i);
            let score: f32 = y.iter().zip(user.vector()).map(|(a, b)| a * b).sum();
            let shares: f32 = user
                .shares
                .iter()
                .map(|(_, w)| y.iter().zip(w).map(|(a, b)| a * b).sum::<f32>())
                .sum();
            assert!(
                (score - shares).abs() < 1e-4,
                "item {i}: {score} vs {shares}"
            );
        }
        let normalized = user.normalized_scores(&m, Kernel::detect());
        assert!(normalized.iter().all(|s| (0.0..=1.0).contains(s)));
        assert_eq!(normalized.iter().copied().fold(0.0, f32::max), 1.0);
    }

    #[test]
    fn scaled_regularization_grows_with_the_visitors_items() {
        let m = model_with(RegularizationScaling::PerInteraction);
        // Four distinct items with factors (item 4 has none): λ·4.
        let observed = [(3, 1.0), (7, 0.5), (3, 0.5), (12, 0.3), (4, 1.0), (29, 1.0)];
        let user = UserFactors::fold_in(&m, &observed).unwrap();
        let direct = direct_solve(&m, &[(3, 1.5), (7, 0.5), (12, 0.3), (29, 1.0)], 0.5 * 4.0);
        for (a, b) in user.vector().iter().zip(&direct) {
            assert!(
                (f64::from(*a) - b).abs() < 1e-4,
                "{:?} vs {direct:?}",
                user.vector()
            );
        }
        let unscaled = UserFactors::fold_in(&model(), &observed).unwrap();
        assert_ne!(unscaled.vector(), user.vector());
    }

    #[test]
    fn no_usable_interaction_means_no_factors() {
        let m = model();
        assert!(UserFactors::fold_in(&m, &[]).is_none());
        assert!(
            UserFactors::fold_in(&m, &[(4, 1.0)]).is_none(),
            "item 4 has no factors"
        );
        assert!(UserFactors::fold_in(&m, &[(3, -1.0), (5, f32::NAN), (999, 1.0)]).is_none());
    }
}
