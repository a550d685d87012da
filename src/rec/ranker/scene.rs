//! Scenes: named contexts ("gift", "commute") that re-weight categories, tags
//! or attributes.

use serde::{Deserialize, Serialize};

use crate::rec::index::{Attribute, CatalogueIndex};
use crate::util::error::{Error, Result};

use super::filters::NumericRange;

/// What a scene boost applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoostTarget {
    /// Items of this category.
    Category(String),
    /// Items with this tag.
    Tag(String),
    /// Items whose attribute `key` lies in a range (numbers) or equals a value (strings).
    Attribute {
        /// Attribute name.
        key: String,
        /// Numeric range.
        #[serde(default)]
        range: Option<NumericRange>,
        /// String value.
        #[serde(default)]
        equals: Option<String>,
    },
}

/// One re-weighting rule of a scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boost {
    /// What it applies to.
    pub target: BoostTarget,
    /// Score multiplier (> 0; < 1 demotes).
    pub factor: f32,
}

/// A named context ("gift", "commute") that re-weights categories, tags or attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Name shown in explanations.
    pub name: String,
    /// Rules; every matching rule's factor multiplies the score.
    pub boosts: Vec<Boost>,
}

impl Scene {
    /// The product of the factors of the boosts that match item `i` of `index`.
    pub fn factor(&self, index: &CatalogueIndex, i: usize) -> f32 {
        self.boosts
            .iter()
            .filter(|b| match &b.target {
                BoostTarget::Category(c) => index.category(i) == Some(c.as_str()),
                BoostTarget::Tag(t) => index
                    .tag_named(t)
                    .is_some_and(|t| index.tag_ids(i).contains(&t)),
                BoostTarget::Attribute { key, range, equals } => {
                    match index
                        .attribute_named(key)
                        .and_then(|k| index.attribute(i, k))
                    {
                        Some(Attribute::Number(x)) => range.is_some_and(|r| r.contains(x)),
                        Some(Attribute::Text(s)) => equals.as_deref() == Some(s),
                        None => false,
                    }
                }
            })
            .map(|b| b.factor)
            .product()
    }
    pub(super) fn validate(&self) -> Result<()> {
        for b in &self.boosts {
            if !(b.factor.is_finite() && b.factor > 0.0) {
                return Err(Error::InvalidInput {
                    what: "scene",
                    reason: format!(
                        "scene `{}` has factor {}: must be a positive number",
                        self.name, b.factor
                    ),
                });
            }
        }
        Ok(())
    }
}
