//! Hard filters (category, tags, price, attributes) and their compiled form
//! with names resolved against one index.

use serde::{Deserialize, Serialize};

use crate::rec::index::{Attribute, CatalogueIndex};
use crate::util::error::{Error, Result};

/// A numeric range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumericRange {
    /// Inclusive lower bound.
    #[serde(default)]
    pub min: Option<f64>,
    /// Inclusive upper bound.
    #[serde(default)]
    pub max: Option<f64>,
}

impl NumericRange {
    pub(super) fn contains(&self, x: f64) -> bool {
        self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m)
    }
    pub(super) fn validate(&self, what: &'static str) -> Result<()> {
        for b in [self.min, self.max].into_iter().flatten() {
            if !b.is_finite() {
                return Err(Error::InvalidInput {
                    what,
                    reason: format!("range bound {b} is not a finite number"),
                });
            }
        }
        Ok(())
    }
}

/// A filter on one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeFilter {
    /// Attribute name.
    pub key: String,
    /// Numeric range the value must fall in.
    #[serde(default)]
    pub range: Option<NumericRange>,
    /// Values (strings) one of which the attribute must equal.
    #[serde(default)]
    pub one_of: Vec<String>,
}

impl AttributeFilter {
    pub(super) fn matches(&self, value: Option<Attribute<'_>>) -> bool {
        match value {
            None => false,
            Some(Attribute::Number(x)) => {
                self.range.is_none_or(|r| r.contains(x))
                    && (self.one_of.is_empty()
                        || self.one_of.iter().any(|v| v.parse::<f64>().ok() == Some(x)))
            }
            Some(Attribute::Text(s)) => {
                self.range.is_none()
                    && (self.one_of.is_empty() || self.one_of.iter().any(|v| v == s))
            }
        }
    }
}

/// Hard filters: an item must pass all of them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    /// Allowed categories (empty: any).
    #[serde(default)]
    pub categories: Vec<String>,
    /// The item must have at least one of these tags (empty: any).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Price range (items without a price fail a price filter).
    #[serde(default)]
    pub price: Option<NumericRange>,
    /// Attribute conditions.
    #[serde(default)]
    pub attributes: Vec<AttributeFilter>,
    /// Item ids never to return.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Filters {
    /// Does item `i` of `index` pass every filter (exclusions aside)?
    pub fn matches(&self, index: &CatalogueIndex, i: usize) -> bool {
        self.compile(index).matches(index, i)
    }

    /// Resolves names to the index's tables once, for many items.
    pub(super) fn compile<'a>(&'a self, index: &CatalogueIndex) -> CompiledFilters<'a> {
        let ids = |names: &[String], f: &dyn Fn(&str) -> Option<u32>| -> Option<Vec<u32>> {
            (!names.is_empty()).then(|| names.iter().filter_map(|n| f(n)).collect())
        };
        CompiledFilters {
            categories: ids(&self.categories, &|n| index.category_named(n)),
            tags: ids(&self.tags, &|n| index.tag_named(n)),
            price: self.price,
            attributes: self
                .attributes
                .iter()
                .map(|a| (index.attribute_named(&a.key), a))
                .collect(),
        }
    }
}

/// Filters with names resolved to table indices (`None`: no condition).
pub(super) struct CompiledFilters<'a> {
    categories: Option<Vec<u32>>,
    tags: Option<Vec<u32>>,
    price: Option<NumericRange>,
    attributes: Vec<(Option<u32>, &'a AttributeFilter)>,
}

impl CompiledFilters<'_> {
    pub(super) fn matches(&self, index: &CatalogueIndex, i: usize) -> bool {
        self.categories
            .as_ref()
            .is_none_or(|c| index.category_id(i).is_some_and(|x| c.contains(&x)))
            && self
                .tags
                .as_ref()
                .is_none_or(|t| index.tag_ids(i).iter().any(|x| t.contains(x)))
            && self
                .price
                .is_none_or(|r| index.price(i).is_some_and(|p| r.contains(f64::from(p))))
            && self
                .attributes
                .iter()
                .all(|(key, f)| f.matches(key.and_then(|k| index.attribute(i, k))))
    }
}
