//! Choosing the top items: the blended score (text relevance, collaborative
//! knowledge, popularity, scene boosts, lifts), hard filters and keep-outs,
//! then maximal marginal relevance for diversity.

use crate::cpu::score::{top_k, Query};
use crate::rec::collab::UserFactors;
use crate::rec::profile::Directions;

use super::*;

impl<'a> Ranker<'a> {
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
    pub(super) fn select_lifted(
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
            options
                .alpha
                .or(index.text_blend().map(|t| t.alpha))
                .unwrap_or(super::options::DEFAULT_ALPHA)
        };

        let (gains, strengths) = Self::direction_weights(directions);
        let interests: Vec<(Query, f32)> = directions
            .interests
            .iter()
            .zip(gains)
            .map(|(d, g)| (index.query(&d.vector), g))
            .collect();
        let negatives: Vec<(Query, f32)> = directions
            .negatives
            .iter()
            .zip(strengths)
            .map(|(d, h)| (index.query(&d.vector), h))
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
    pub(super) fn mmr(
        &self,
        pool: Vec<(usize, f32, f32)>,
        k: usize,
        lambda: f32,
    ) -> Vec<(usize, f32, f32)> {
        let m = self.index.matrix();
        let queries: Vec<Query> = pool
            .iter()
            .map(|&(i, _, _)| self.index.query(&self.index.vector(i)))
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
}
