//! Item factors and the settings they were trained with: what the
//! collaborative section stores and the on-device fold-in solves against
//! (training them is [`crate::offline::als`]).

use crate::util::error::{Error, Result};

use super::linalg::add_outer_lower;

/// How λ enters a row's solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegularizationScaling {
    /// `λI` for every row (Hu, Koren & Volinsky).
    #[default]
    None,
    /// `λ·n·I` for a row with `n` observed pairs (Zhou et al.'s ALS-WR, what
    /// Spark MLlib's ALS does).
    PerInteraction,
}

impl RegularizationScaling {
    /// The regularisation of a row with `observed` pairs.
    pub fn row_lambda(self, lambda: f32, observed: usize) -> f64 {
        match self {
            Self::None => f64::from(lambda),
            Self::PerInteraction => f64::from(lambda) * observed as f64,
        }
    }
}

/// How item factors are (or were) trained: the fold-in uses the same λ, its
/// scaling and α.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlsSettings {
    /// Latent factors per item (k).
    pub factors: usize,
    /// Alternating sweeps (users then items).
    pub iterations: usize,
    /// L2 regularisation λ.
    pub regularization: f32,
    /// Whether λ grows with a row's observed pairs.
    pub scaling: RegularizationScaling,
    /// Confidence slope α in `c = 1 + α·r`.
    pub confidence: f32,
    /// Seed of the initial item factors.
    pub seed: u64,
}

impl Default for AlsSettings {
    fn default() -> Self {
        Self {
            factors: 64,
            iterations: 15,
            regularization: 1.0,
            scaling: RegularizationScaling::None,
            confidence: 20.0,
            seed: 42,
        }
    }
}

impl AlsSettings {
    /// Checks every number is in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidInput {
                what: "ALS settings",
                reason,
            })
        };
        if self.factors == 0 || self.factors > 1024 {
            return bad(format!(
                "{} factors is not between 1 and 1024",
                self.factors
            ));
        }
        if !(self.regularization.is_finite() && self.regularization > 0.0) {
            return bad(format!(
                "regularization {} must be > 0",
                self.regularization
            ));
        }
        if !(self.confidence.is_finite() && self.confidence >= 0.0) {
            return bad(format!("confidence {} must be ≥ 0", self.confidence));
        }
        Ok(())
    }
}

/// Row-major `rows × k` float factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Factors {
    /// Factors per row.
    pub k: usize,
    /// `rows × k` values.
    pub data: Vec<f32>,
}

impl Factors {
    /// Row `r`.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.k..(r + 1) * self.k]
    }
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.k.max(1)
    }
    /// `FᵀF` (row-major `k × k`, full).
    pub fn gram(&self) -> Vec<f64> {
        let k = self.k;
        let mut g = vec![0.0; k * k];
        for r in 0..self.rows() {
            add_outer_lower(&mut g, self.row(r), 1.0);
        }
        mirror_lower(&mut g, k);
        g
    }
}

/// Copies the lower triangle of a row-major `k × k` matrix to the upper.
fn mirror_lower(a: &mut [f64], k: usize) {
    for i in 0..k {
        for j in i + 1..k {
            a[i * k + j] = a[j * k + i];
        }
    }
}
