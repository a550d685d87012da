//! The catalogue input format: JSONL, one item a line, validated as it is read.
//!
//! ```json
//! {"id": "tt0093",                       // string, unique, required
//!  "title": "Miami Connection",          // shown to users
//!  "text": "A 1987 martial arts film…",  // description, required (may be "" if title is set)
//!  "category": "Action",                 // optional, filterable
//!  "tags": ["cult", "1980s"],            // optional, filterable
//!  "price": 3.99,                        // optional, ≥ 0, filterable
//!  "popularity": 1250,                   // optional, any non-negative number
//!  "url": "https://…",                   // optional
//!  "attributes": {"year": 1987, "language": "en"}}  // optional: strings or numbers, filterable
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::util::error::{Error, Result};

/// A filterable attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A number (finite).
    Number(f64),
    /// A string.
    Text(String),
}

/// One catalogue item as written in the input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueItem {
    /// Unique id.
    pub id: String,
    /// Display title.
    #[serde(default)]
    pub title: String,
    /// Description; embedded together with the title.
    pub text: Option<String>,
    /// Category (for filters and scenes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Tags (for filters and scenes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Price, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Popularity, any non-negative number (counts, sales, views…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<f64>,
    /// Link to the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Free attributes for filters and scenes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttributeValue>,
}

impl CatalogueItem {
    /// The text the encoder embeds for this item: title and description.
    pub fn embedding_text(&self) -> String {
        let text = self.text.as_deref().unwrap_or("");
        match (self.title.trim().is_empty(), text.trim().is_empty()) {
            (false, false) => format!("{}. {}", self.title.trim(), text.trim()),
            (false, true) => self.title.trim().to_string(),
            _ => text.trim().to_string(),
        }
    }

    /// Checks one item; `line` is for the message.
    pub fn validate(&self, line: usize) -> Result<()> {
        let bad = |reason: String| Err(Error::CatalogueLine { line, reason });
        if self.id.trim().is_empty() {
            return bad("`id` is empty".into());
        }
        match &self.text {
            None => return bad(format!("item `{}` has no `text` field", self.id)),
            Some(t) if t.trim().is_empty() && self.title.trim().is_empty() => {
                return bad(format!("item `{}` has neither text nor title", self.id))
            }
            _ => {}
        }
        for (name, value) in [("popularity", self.popularity), ("price", self.price)] {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return bad(format!(
                        "item `{}` has {name} {v}: must be a non-negative number",
                        self.id
                    ));
                }
            }
        }
        for (key, value) in &self.attributes {
            if let AttributeValue::Number(v) = value {
                if !v.is_finite() {
                    return bad(format!(
                        "item `{}` attribute `{key}` is not a finite number",
                        self.id
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The first `chars` characters of `text` (trimmed), with "…" when cut.
pub(crate) fn snippet(text: &str, chars: usize) -> String {
    let text = text.trim();
    if chars == 0 {
        return String::new(); // no snippet, not an ellipsis
    }
    match text.char_indices().nth(chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// Reads and validates a JSONL catalogue: every line an item, ids unique.
/// Blank lines are skipped. The first bad line stops the read with its number.
pub fn read_catalogue(reader: impl BufRead) -> Result<Vec<CatalogueItem>> {
    let mut items = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for next in catalogue_lines(reader) {
        let (line_no, item) = next?;
        if let Some(&first_line) = seen.get(&item.id) {
            return Err(Error::DuplicateItem {
                id: item.id,
                line: line_no,
                first_line,
            });
        }
        seen.insert(item.id.clone(), line_no);
        items.push(item);
    }
    Ok(items)
}

/// The items of a JSONL catalogue one at a time, each validated and with its
/// line number (blank lines skipped), for reading catalogues too large to
/// hold; ids are not checked for uniqueness here.
pub fn catalogue_lines(
    reader: impl BufRead,
) -> impl Iterator<Item = Result<(usize, CatalogueItem)>> {
    reader.lines().enumerate().filter_map(|(n, line)| {
        let line_no = n + 1;
        let line = match line {
            Ok(l) if l.trim().is_empty() => return None,
            Ok(l) => l,
            Err(e) => {
                return Some(Err(Error::CatalogueLine {
                    line: line_no,
                    reason: e.to_string(),
                }))
            }
        };
        Some(
            serde_json::from_str::<CatalogueItem>(&line)
                .map_err(|e| Error::CatalogueLine {
                    line: line_no,
                    reason: e.to_string(),
                })
                .and_then(|item| item.validate(line_no).map(|()| (line_no, item))),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Vec<CatalogueItem>> {
        read_catalogue(s.as_bytes())
    }

    #[test]
    fn reads_a_full_item_and_a_minimal_one() {
        let items = read(concat!(
            r#"{"id":"a","title":"A","text":"about a","category":"x","tags":["t"],"price":2.5,"popularity":10,"url":"u","attributes":{"year":1999,"lang":"en"}}"#,
            "\n\n",
            r#"{"id":"b","text":"only text"}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].attributes["year"], AttributeValue::Number(1999.0));
        assert_eq!(
            items[0].attributes["lang"],
            AttributeValue::Text("en".into())
        );
        assert_eq!(items[0].embedding_text(), "A. about a");
        assert_eq!(items[1].embedding_text(), "only text");
    }

    #[test]
    fn rejects_bad_items_with_their_line() {
        let cases = [
            (r#"{"id":"a","title":"A"}"#, "no `text`"),
            (r#"{"id":"a","text":"  "}"#, "neither text nor title"),
            (r#"{"id":"","text":"x"}"#, "`id` is empty"),
            (r#"{"id":"a","text":"x","popularity":-1}"#, "popularity -1"),
            (r#"{"id":"a","text":"x","price":-0.5}"#, "price"),
            (
                r#"{"id":"a","text":"x","popularity":NaN}"#,
                "expected value",
            ),
            (
                r#"{"id":"a","text":"x","popularity":"NaN"}"#,
                "invalid type",
            ),
            (r#"{"id":"a","text":"x""#, "EOF"),
        ];
        for (line, want) in cases {
            let input = format!("{{\"id\":\"ok\",\"text\":\"fine\"}}\n{line}\n");
            let err = read(&input).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, Error::CatalogueLine { line: 2, .. }),
                "{line}: {msg}"
            );
            assert!(msg.contains(want), "{line}: {msg}");
        }
    }

    #[test]
    fn rejects_duplicate_ids() {
        let err = read("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n{\"id\":\"a\",\"text\":\"z\"}\n")
            .unwrap_err();
        assert!(
            matches!(err, Error::DuplicateItem { ref id, line: 3, first_line: 1 } if id == "a"),
            "{err}"
        );
    }
}
