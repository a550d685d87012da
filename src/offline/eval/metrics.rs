//! Ranking metrics per user and bootstrap confidence intervals over users.

use serde::Serialize;

use crate::util::rng::SplitMix;

/// One user's outcome: the 1-based rank of the held-out item in the full ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Rank of the held-out item (1 = first), or `None` if it was not ranked.
    pub rank: Option<usize>,
}

impl Outcome {
    /// 1 if the item is in the top `k`.
    pub fn recall(&self, k: usize) -> f64 {
        match self.rank {
            Some(r) if r <= k => 1.0,
            _ => 0.0,
        }
    }
    /// 1 / log2(rank + 1) inside the top `k` (one relevant item, so IDCG = 1).
    pub fn ndcg(&self, k: usize) -> f64 {
        match self.rank {
            Some(r) if r <= k => 1.0 / ((r + 1) as f64).log2(),
            _ => 0.0,
        }
    }
    /// 1 / rank.
    pub fn reciprocal_rank(&self) -> f64 {
        self.rank.map_or(0.0, |r| 1.0 / r as f64)
    }
}

/// A mean with its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean over users.
    pub mean: f64,
    /// 2.5th percentile of bootstrap means.
    pub low: f64,
    /// 97.5th percentile of bootstrap means.
    pub high: f64,
}

/// Mean and percentile bootstrap interval (`resamples` draws of users with replacement).
pub fn bootstrap(values: &[f64], resamples: usize, seed: u64) -> Estimate {
    let n = values.len();
    if n == 0 {
        return Estimate {
            mean: 0.0,
            low: 0.0,
            high: 0.0,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = SplitMix(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        means
            .get(((q * resamples as f64) as usize).min(resamples.saturating_sub(1)))
            .copied()
            .unwrap_or(mean)
    };
    Estimate {
        mean,
        low: pick(0.025),
        high: pick(0.975),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_known_ranks() {
        let first = Outcome { rank: Some(1) };
        let third = Outcome { rank: Some(3) };
        let far = Outcome { rank: Some(50) };
        assert_eq!(
            (first.recall(10), first.ndcg(10), first.reciprocal_rank()),
            (1.0, 1.0, 1.0)
        );
        assert!((third.ndcg(10) - 0.5).abs() < 1e-12);
        assert_eq!((far.recall(10), far.ndcg(10)), (0.0, 0.0));
        assert!((far.reciprocal_rank() - 0.02).abs() < 1e-12);
        assert_eq!(Outcome { rank: None }.reciprocal_rank(), 0.0);
    }

    #[test]
    fn bootstrap_brackets_the_mean() {
        let v: Vec<f64> = (0..200).map(|i| (i % 4) as f64).collect();
        let e = bootstrap(&v, 500, 1);
        assert!((e.mean - 1.5).abs() < 1e-12);
        assert!(e.low < e.mean && e.mean < e.high && e.high - e.low < 0.6);
        assert_eq!(
            bootstrap(&[2.0; 10], 100, 1),
            Estimate {
                mean: 2.0,
                low: 2.0,
                high: 2.0
            }
        );
        assert_eq!(bootstrap(&[], 10, 1).mean, 0.0);
    }
}
