//! What to rank and how: k, filters, scene, diversity, time, margins.

use serde::{Deserialize, Serialize};

use crate::util::error::{Error, Result};

use super::{Filters, Scene};
use crate::rec::collab::Blend;

/// Weight of relevance against popularity when neither the caller nor the
/// index gives one.
pub const DEFAULT_ALPHA: f32 = 0.9;

/// What to rank and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(default)]
pub struct RankOptions {
    /// How many results.
    pub k: usize,
    /// Weight of relevance against popularity, in [0, 1] (default: the
    /// weight learned for the catalogue at index build, else [`DEFAULT_ALPHA`]).
    pub alpha: Option<f32>,
    /// MMR diversity λ in [0, 1] (0: off).
    pub diversity: f32,
    /// Leave out items the user already interacted with.
    pub exclude_seen: bool,
    /// Cosine to a rejected item under which it has no effect.
    pub negative_margin: f32,
    /// Hard filters.
    pub filters: Filters,
    /// Optional scene.
    pub scene: Option<Scene>,
    /// "Now" for time decay (unix seconds).
    pub now: i64,
    /// Blend weights for indexes with collaborative knowledge (default: the index's learned ones).
    pub blend: Option<Blend>,
}

impl Default for RankOptions {
    fn default() -> Self {
        Self {
            k: 10,
            alpha: None,
            diversity: 0.0,
            exclude_seen: true,
            negative_margin: 0.25,
            filters: Filters::default(),
            scene: None,
            now: 0,
            blend: None,
        }
    }
}

impl RankOptions {
    /// Checks every number is in range.
    pub fn validate(&self) -> Result<()> {
        let unit = |what: &'static str, x: f32| {
            if (0.0..=1.0).contains(&x) {
                Ok(())
            } else {
                Err(Error::InvalidInput {
                    what,
                    reason: format!("{x} is not in [0, 1]"),
                })
            }
        };
        if let Some(a) = self.alpha {
            unit("alpha", a)?;
        }
        unit("diversity", self.diversity)?;
        if !(self.negative_margin.is_finite() && (-1.0..=1.0).contains(&self.negative_margin)) {
            return Err(Error::InvalidInput {
                what: "negative_margin",
                reason: format!("{} is not in [-1, 1]", self.negative_margin),
            });
        }
        if self.k == 0 || self.k > 10_000 {
            return Err(Error::InvalidInput {
                what: "k",
                reason: format!("{} is not between 1 and 10000", self.k),
            });
        }
        if let Some(p) = &self.filters.price {
            p.validate("price filter")?;
        }
        for a in &self.filters.attributes {
            if let Some(r) = &a.range {
                r.validate("attribute filter")?;
            }
        }
        if let Some(s) = &self.scene {
            s.validate()?;
        }
        if let Some(b) = &self.blend {
            b.validate()?;
        }
        Ok(())
    }
}
