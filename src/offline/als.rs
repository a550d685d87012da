//! Implicit-feedback matrix factorisation by alternating least squares (Hu,
//! Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets",
//! ICDM 2008): every user–item pair has a preference `p` (1 when the user
//! interacted, else 0) and a confidence `c = 1 + α·r` (`r`: the summed strength
//! of the interactions, 0 for unobserved pairs). With item factors `Y` fixed,
//! a user's factors solve `(YᵀY + Σ_observed (c − 1)·y·yᵀ + λI)·x = Σ_observed c·y`
//! — the unobserved pairs only enter through the shared Gram `YᵀY` — and the
//! same for items with user factors fixed. Each solve is a k×k Cholesky;
//! rows are split over all cores. Memory is the sparse interactions (both orientations) plus the
//! two factor matrices.

use crate::util::error::{Error, Result};
use crate::util::rng::SplitMix;

use crate::rec::collab::linalg::{add_outer_lower, Cholesky};
use crate::rec::collab::{AlsSettings, Factors};

/// Sparse user × item interaction strengths (CSR by rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    columns: usize,
    row_start: Vec<usize>,
    column: Vec<u32>,
    strength: Vec<f32>,
}

impl Interactions {
    /// Aggregates `(user, item, strength)` triples (repeated pairs add up;
    /// strengths ≤ 0 or not finite are dropped) into a `users × items` matrix.
    pub fn from_triples(
        users: usize,
        items: usize,
        triples: impl IntoIterator<Item = (u32, u32, f32)>,
    ) -> Result<Self> {
        let mut all: Vec<(u32, u32, f32)> = Vec::new();
        for (u, i, s) in triples {
            if u as usize >= users || i as usize >= items {
                return Err(Error::InvalidInput {
                    what: "interactions",
                    reason: format!("pair ({u}, {i}) is outside {users} users × {items} items"),
                });
            }
            if s.is_finite() && s > 0.0 {
                all.push((u, i, s));
            }
        }
        all.sort_unstable_by_key(|&(u, i, _)| (u, i));
        let mut row_start = vec![0usize; users + 1];
        let (mut column, mut strength) = (Vec::new(), Vec::new());
        let mut last: Option<(u32, u32)> = None;
        for (u, i, s) in all {
            if last == Some((u, i)) {
                if let Some(x) = strength.last_mut() {
                    *x += s;
                }
                continue;
            }
            last = Some((u, i));
            row_start[u as usize + 1] += 1;
            column.push(i);
            strength.push(s);
        }
        for r in 0..users {
            row_start[r + 1] += row_start[r];
        }
        Ok(Self {
            columns: items,
            row_start,
            column,
            strength,
        })
    }

    /// Number of rows (users).
    pub fn rows(&self) -> usize {
        self.row_start.len() - 1
    }
    /// Number of columns (items).
    pub fn columns(&self) -> usize {
        self.columns
    }
    /// Number of distinct observed pairs.
    pub fn len(&self) -> usize {
        self.column.len()
    }
    /// True when nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.column.is_empty()
    }
    /// Row `r`'s (column, strength) pairs.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = self.row_start[r]..self.row_start[r + 1];
        self.column[span.clone()]
            .iter()
            .zip(&self.strength[span])
            .map(|(&c, &s)| (c as usize, s))
    }
    /// The same pairs, items × users.
    pub fn transpose(&self) -> Self {
        let mut row_start = vec![0usize; self.columns + 1];
        for &c in &self.column {
            row_start[c as usize + 1] += 1;
        }
        for r in 0..self.columns {
            row_start[r + 1] += row_start[r];
        }
        let mut next = row_start.clone();
        let mut column = vec![0u32; self.len()];
        let mut strength = vec![0f32; self.len()];
        for r in 0..self.rows() {
            for (c, s) in self.row(r) {
                let at = next[c];
                column[at] = r as u32;
                strength[at] = s;
                next[c] += 1;
            }
        }
        Self {
            columns: self.rows(),
            row_start,
            column,
            strength,
        }
    }
}

/// Trains item factors on `interactions` (users × items).
/// `progress(done, total)` is called after each sweep.
pub fn train(
    interactions: &Interactions,
    settings: &AlsSettings,
    mut progress: impl FnMut(usize, usize),
) -> Result<Factors> {
    settings.validate()?;
    let k = settings.factors;
    let by_item = interactions.transpose();
    let mut rng = SplitMix(settings.seed);
    let init = 0.1 / (k as f32).sqrt();
    let mut items = Factors {
        k,
        data: (0..interactions.columns() * k)
            .map(|_| ((rng.next_u64() % 20_001) as f32 / 10_000.0 - 1.0) * init)
            .collect(),
    };
    let mut users = Factors {
        k,
        data: vec![0.0; interactions.rows() * k],
    };
    for sweep in 0..settings.iterations {
        solve_side(interactions, &items, &mut users, settings);
        solve_side(&by_item, &users, &mut items, settings);
        progress(sweep + 1, settings.iterations);
    }
    // Items nobody interacted with keep no collaborative knowledge (their text speaks for them).
    for r in 0..by_item.rows() {
        if by_item.row(r).next().is_none() {
            items.data[r * k..(r + 1) * k].fill(0.0);
        }
    }
    Ok(items)
}

/// Solves every row of `out` against the fixed factors `fixed`.
fn solve_side(rows: &Interactions, fixed: &Factors, out: &mut Factors, settings: &AlsSettings) {
    let k = fixed.k;
    let mut base = fixed.gram();
    for d in 0..k {
        base[d * k + d] += f64::from(settings.regularization);
    }
    let alpha = f64::from(settings.confidence);
    let solve_row = |r: usize, x: &mut [f32]| {
        let mut a = base.clone();
        let extra = settings
            .scaling
            .row_lambda(settings.regularization, rows.row(r).count())
            - f64::from(settings.regularization);
        if extra > 0.0 {
            for d in 0..k {
                a[d * k + d] += extra;
            }
        }
        let mut b = vec![0.0f64; k];
        let mut any = false;
        for (c, s) in rows.row(r) {
            any = true;
            let y = fixed.row(c);
            let conf = 1.0 + alpha * f64::from(s);
            add_outer_lower(&mut a, y, conf - 1.0);
            for (bd, &yd) in b.iter_mut().zip(y) {
                *bd += conf * f64::from(yd);
            }
        }
        x.fill(0.0);
        if !any {
            return;
        }
        if let Some(ch) = Cholesky::factor(&a, k) {
            ch.solve_in_place(&mut b);
            for (xd, bd) in x.iter_mut().zip(&b) {
                *xd = *bd as f32;
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = rows.rows();
    if threads <= 1 || n < 256 {
        for (r, x) in out.data.chunks_mut(k).enumerate() {
            solve_row(r, x);
        }
        return;
    }
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        for (t, chunk) in out.data.chunks_mut(per * k).enumerate() {
            let solve_row = &solve_row;
            scope.spawn(move || {
                for (j, x) in chunk.chunks_mut(k).enumerate() {
                    solve_row(t * per + j, x);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rec::collab::RegularizationScaling;

    #[test]
    fn interactions_aggregate_and_transpose() {
        let m = Interactions::from_triples(
            3,
            4,
            [
                (0, 1, 1.0),
                (0, 1, 0.5),
                (2, 3, 1.0),
                (1, 0, -1.0),
                (2, 0, 0.3),
            ],
        )
        .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m.row(0).collect::<Vec<_>>(), [(1, 1.5)]);
        assert_eq!(m.row(1).count(), 0, "non-positive strengths are dropped");
        let t = m.transpose();
        assert_eq!((t.rows(), t.columns()), (4, 3));
        assert_eq!(t.row(0).collect::<Vec<_>>(), [(2, 0.3)]);
        assert_eq!(t.transpose(), m);
        assert!(Interactions::from_triples(1, 1, [(0, 1, 1.0)]).is_err());
    }

    /// Two groups of users, each liking three of the five items of its own
    /// block: a new visitor who liked two items of block 0 must get the other
    /// items of block 0 above every item of block 1 (ALS, then fold-in).
    #[test]
    fn recovers_co_occurrence_blocks() {
        let mut rng = SplitMix(3);
        let mut triples = Vec::new();
        for u in 0..300u32 {
            let block = u % 2;
            let mut picked = std::collections::BTreeSet::new();
            while picked.len() < 3 {
                picked.insert(rng.below(5) as u32);
            }
            triples.extend(picked.into_iter().map(|i| (u, block * 5 + i, 1.0)));
        }
        let m = Interactions::from_triples(300, 12, triples).unwrap();
        // Both ways λ can enter, Hu et al.'s and Spark's λ·n (the fold-in follows).
        for (scaling, regularization) in [
            (RegularizationScaling::None, 1.0),
            (RegularizationScaling::PerInteraction, 0.3),
        ] {
            let settings = AlsSettings {
                factors: 4,
                iterations: 10,
                regularization,
                scaling,
                confidence: 10.0,
                seed: 1,
            };
            let mut sweeps = 0;
            let y = train(&m, &settings, |_, _| sweeps += 1).unwrap();
            assert_eq!(sweeps, 10);
            assert!(
                y.row(10).iter().chain(y.row(11)).all(|&v| v == 0.0),
                "no data, no factors"
            );
            let model = crate::rec::collab::CollabModel::new(
                &y,
                &settings,
                crate::rec::collab::Blend::default(),
            )
            .unwrap();
            let user =
                crate::rec::collab::UserFactors::fold_in(&model, &[(0, 1.0), (1, 1.0)]).unwrap();
            let s = user.scores(&model, crate::cpu::score::Kernel::detect());
            let worst_own = s[2..5].iter().copied().fold(f32::INFINITY, f32::min);
            let best_other = s[5..10].iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert!(worst_own > best_other, "{scaling:?}: {s:?}");
            assert_eq!(s[10], 0.0, "an item without factors scores nothing");
        }
    }
}
