//! `--filter`: the syntax parsed, then every name checked against the index
//! and turned into the library's [`Filters`].

use localrec::{AttributeFilter, CatalogueIndex, Filters, NumericRange};

use super::RecommendError;

/// One `--filter`, parsed but not yet checked against the index.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FilterSpec {
    Category(String),
    Tag(String),
    Exclude(String),
    Price(NumericRange),
    AttributeRange(String, NumericRange),
    AttributeValue(String, String),
}

/// Parses `KEY=VALUE`, `KEY<=N`, `KEY>=N` (`KEY=A..B` for a range; either end may be left out).
pub(super) fn parse_filter(text: &str) -> Result<FilterSpec, String> {
    let at = text
        .find(['<', '>', '=', '!'])
        .ok_or("expected KEY=VALUE, KEY<=NUMBER or KEY>=NUMBER")?;
    let (key, rest) = (text[..at].trim(), &text[at..]);
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        ("<=", v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (">=", v)
    } else if let Some(v) = rest.strip_prefix('=') {
        ("=", v)
    } else if rest.starts_with(['<', '>']) {
        return Err("bounds are inclusive: use <= or >=".into());
    } else {
        return Err("only =, <= and >= are supported (leave items out with exclude=ID)".into());
    };
    let value = value.trim();
    if key.is_empty() {
        return Err("no key before the operator".into());
    }
    if value.is_empty() {
        return Err(format!("no value after `{op}`"));
    }
    let bound = |v: &str| -> Result<NumericRange, String> {
        let x = number(v)?;
        Ok(match op {
            "<=" => NumericRange {
                min: None,
                max: Some(x),
            },
            _ => NumericRange {
                min: Some(x),
                max: None,
            },
        })
    };
    match (key, op) {
        ("category" | "tag" | "exclude", "<=" | ">=") => {
            Err(format!("`{key}` takes `=` (e.g. {key}=NAME)"))
        }
        ("category", _) => Ok(FilterSpec::Category(value.into())),
        ("tag", _) => Ok(FilterSpec::Tag(value.into())),
        ("exclude", _) => Ok(FilterSpec::Exclude(value.into())),
        ("price", "=") => match range(value) {
            Some(r) => Ok(FilterSpec::Price(r?)),
            None => {
                let x = number(value)?;
                Ok(FilterSpec::Price(NumericRange {
                    min: Some(x),
                    max: Some(x),
                }))
            }
        },
        ("price", _) => Ok(FilterSpec::Price(bound(value)?)),
        (_, "=") => match range(value) {
            Some(r) => Ok(FilterSpec::AttributeRange(key.into(), r?)),
            None => Ok(FilterSpec::AttributeValue(key.into(), value.into())),
        },
        (_, _) => Ok(FilterSpec::AttributeRange(key.into(), bound(value)?)),
    }
}

/// A finite number.
pub(super) fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("`{}` is not a number", text.trim())),
    }
}

/// `A..B` (either end may be left out), or `None` when `text` has no `..`.
pub(super) fn range(text: &str) -> Option<Result<NumericRange, String>> {
    let (a, b) = text.split_once("..")?;
    let end = |s: &str| -> Result<Option<f64>, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            number(s).map(Some)
        }
    };
    Some(match (end(a), end(b)) {
        (Ok(None), Ok(None)) => Err("a range needs at least one end (A.., ..B or A..B)".into()),
        (Ok(min), Ok(max)) => Ok(NumericRange { min, max }),
        (Err(e), _) | (_, Err(e)) => Err(e),
    })
}

/// Both ranges at once (filters all hold).
pub(super) fn intersect(a: NumericRange, b: NumericRange) -> NumericRange {
    let pick = |x: Option<f64>, y: Option<f64>, f: fn(f64, f64) -> f64| match (x, y) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, y) => x.or(y),
    };
    NumericRange {
        min: pick(a.min, b.min, f64::max),
        max: pick(a.max, b.max, f64::min),
    }
}

/// The index's spelling of `name` among `known`: exact, else the one match ignoring case.
pub(super) fn spelled<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    if let Some(k) = known.iter().find(|k| *k == name) {
        return Some(k);
    }
    let mut folded = known.iter().filter(|k| k.eq_ignore_ascii_case(name));
    match (folded.next(), folded.next()) {
        (Some(k), None) => Some(k),
        _ => None,
    }
}

/// A few of `names`, for messages.
pub(super) fn some_of(names: &[String]) -> String {
    const SHOWN: usize = 12;
    match names.len() {
        0 => "none".into(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{}, … ({n} in all)", names[..SHOWN].join(", ")),
    }
}

/// Turns the parsed filters into the library's, checking every name against the index.
pub(super) fn resolve_filters(
    specs: &[(&str, FilterSpec)],
    index: &CatalogueIndex,
) -> Result<Filters, RecommendError> {
    let mut filters = Filters::default();
    for (text, spec) in specs {
        let bad = |reason: String| RecommendError::Filter {
            filter: text.to_string(),
            reason,
        };
        match spec {
            FilterSpec::Category(name) => {
                let name = spelled(name, index.categories()).ok_or_else(|| {
                    bad(format!(
                        "the index has no category `{name}` (it has: {})",
                        some_of(index.categories())
                    ))
                })?;
                filters.categories.push(name.to_string());
            }
            FilterSpec::Tag(name) => {
                let name = spelled(name, index.tags()).ok_or_else(|| {
                    bad(format!(
                        "the index has no tag `{name}` (it has: {})",
                        some_of(index.tags())
                    ))
                })?;
                filters.tags.push(name.to_string());
            }
            FilterSpec::Exclude(id) => {
                index
                    .require(id)
                    .map_err(|_| bad(format!("the index has no item `{id}`")))?;
                filters.exclude.push(id.clone());
            }
            FilterSpec::Price(r) => {
                filters.price = Some(filters.price.map_or(*r, |p| intersect(p, *r)));
            }
            FilterSpec::AttributeRange(key, _) | FilterSpec::AttributeValue(key, _) => {
                if index.attribute_named(key).is_none() {
                    return Err(bad(format!(
                        "the index has no attribute `{key}` (it has: {}; or use category, tag, price, exclude)",
                        some_of(&attribute_names(index))
                    )));
                }
                let at = match filters.attributes.iter().position(|a| &a.key == key) {
                    Some(at) => at,
                    None => {
                        filters.attributes.push(AttributeFilter {
                            key: key.clone(),
                            range: None,
                            one_of: Vec::new(),
                        });
                        filters.attributes.len() - 1
                    }
                };
                let a = &mut filters.attributes[at];
                match spec {
                    FilterSpec::AttributeRange(_, r) => {
                        a.range = Some(a.range.map_or(*r, |p| intersect(p, *r)));
                    }
                    FilterSpec::AttributeValue(_, v) => a.one_of.push(v.clone()),
                    _ => {}
                }
            }
        }
    }
    Ok(filters)
}

/// The attribute names the index's items carry (for an error message only: it reads every item).
pub(super) fn attribute_names(index: &CatalogueIndex) -> Vec<String> {
    let mut names: Vec<String> = (0..index.len())
        .filter_map(|i| index.item(i))
        .flat_map(|item| item.attributes.into_keys())
        .collect();
    names.sort();
    names.dedup();
    names
}
