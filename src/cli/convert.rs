//! `localrec convert amazon`: the Amazon Review Data (2018) review and metadata
//! files → a catalogue JSONL and an events JSONL. `localrec convert windows`
//! ([`windows`]) reads next-item rows and an item file instead.
//!
//! Titles in the metadata are HTML fragments, so an item's title is its brand
//! (else the start of its description) and its text is built from description,
//! categories and brand. Popularity is the item's number of reviews. Reviews of
//! items missing from the metadata are counted and left out.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use localrec::{AttributeValue, CatalogueItem, Error, Event, Feedback, FeedbackKind};
use serde_json::Value;

use super::{io_error, open_input, CliError};

mod windows;

#[derive(Subcommand)]
pub enum ConvertCommand {
    /// Amazon Review Data (2018): reviews + metadata → catalogue + events.
    Amazon(AmazonArgs),
    /// Next-item rows (user_id, history_item_id, item_id CSV) + item JSON → catalogue + events.
    Windows(windows::WindowsArgs),
}

#[derive(Args)]
pub struct AmazonArgs {
    /// Reviews file (JSON lines, optionally .gz), e.g. Magazine_Subscriptions_5.json.gz.
    #[arg(long)]
    reviews: PathBuf,
    /// Metadata file (JSON lines, optionally .gz), e.g. meta_Magazine_Subscriptions.json.gz.
    #[arg(long)]
    meta: PathBuf,
    /// Output catalogue JSONL.
    #[arg(long)]
    catalogue: PathBuf,
    /// Output events JSONL.
    #[arg(long)]
    events: PathBuf,
}

pub fn run(cmd: ConvertCommand) -> Result<(), CliError> {
    match cmd {
        ConvertCommand::Amazon(a) => amazon(a),
        ConvertCommand::Windows(a) => windows::run(a),
    }
}

/// Removes HTML tags and decodes the common entities; folds whitespace.
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .map(strip_html)
            .filter(|s| !s.is_empty())
            .collect(),
        Value::String(s) => vec![strip_html(s)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        _ => vec![],
    }
}

fn lines(
    path: &std::path::Path,
) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)>, CliError> {
    Ok(BufReader::new(open_input(path)?).lines().enumerate())
}

fn amazon(args: AmazonArgs) -> Result<(), CliError> {
    // Reviews first: they give popularity.
    let mut events = Vec::new();
    let mut review_counts: HashMap<String, u32> = HashMap::new();
    for (n, line) in lines(&args.reviews)? {
        let line = line.map_err(io_error(&args.reviews))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::EventLine {
            line: n + 1,
            reason,
        };
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let (Some(user), Some(asin), Some(ts), Some(stars)) = (
            v["reviewerID"].as_str(),
            v["asin"].as_str(),
            v["unixReviewTime"].as_i64(),
            v["overall"].as_f64(),
        ) else {
            return Err(bad("needs reviewerID, asin, unixReviewTime and overall".into()).into());
        };
        let summary = v["summary"].as_str().unwrap_or("").trim();
        let body = v["reviewText"].as_str().unwrap_or("").trim();
        let text = match (summary.is_empty(), body.is_empty()) {
            (false, false) => Some(format!("{summary}. {body}")),
            (false, true) => Some(summary.to_string()),
            (true, false) => Some(body.to_string()),
            (true, true) => None,
        };
        *review_counts.entry(asin.to_string()).or_default() += 1;
        events.push(Event {
            user: user.to_string(),
            feedback: Feedback {
                ts,
                item: Some(asin.to_string()),
                rating: Some(stars as f32),
                kind: text.as_ref().map(|_| FeedbackKind::Review),
                text,
            },
        });
    }

    // Metadata: one item per asin (the record with the most text wins).
    let mut items: BTreeMap<String, CatalogueItem> = BTreeMap::new();
    let mut empty = 0;
    for (n, line) in lines(&args.meta)? {
        let line = line.map_err(io_error(&args.meta))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| Error::CatalogueLine {
            line: n + 1,
            reason: e.to_string(),
        })?;
        let Some(asin) = v["asin"].as_str() else {
            continue;
        };
        let description = strings(&v["description"]).join(" ");
        let categories: Vec<String> = strings(&v["category"])
            .into_iter()
            .filter(|c| c != "Magazine Subscriptions")
            .collect();
        let brand = strip_html(v["brand"].as_str().unwrap_or(""));
        let mut text = description.clone();
        if !categories.is_empty() {
            text = format!("{text} Categories: {}.", categories.join(", "));
        }
        if text.trim().is_empty() && brand.is_empty() {
            empty += 1;
            continue;
        }
        let title = if !brand.is_empty() {
            brand.clone()
        } else {
            description
                .split_whitespace()
                .take(8)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let price = v["price"].as_str().and_then(|p| {
            p.trim()
                .trim_start_matches('$')
                .replace(',', "")
                .parse::<f64>()
                .ok()
        });
        let mut attributes = BTreeMap::new();
        if !brand.is_empty() {
            attributes.insert("brand".to_string(), AttributeValue::Text(brand.clone()));
        }
        let item = CatalogueItem {
            id: asin.to_string(),
            title,
            text: Some(text.trim().to_string()),
            category: categories.first().cloned(),
            tags: categories.iter().skip(1).cloned().collect(),
            price: price.filter(|p| p.is_finite() && *p >= 0.0),
            popularity: Some(f64::from(review_counts.get(asin).copied().unwrap_or(0))),
            url: Some(format!("https://www.amazon.com/dp/{asin}")),
            attributes,
        };
        let longer = items
            .get(asin)
            .is_none_or(|old| old.text.as_ref().map_or(0, String::len) < text.len());
        if longer {
            items.insert(asin.to_string(), item);
        }
    }
    let before = events.len();
    events.retain(|e| {
        e.feedback
            .item
            .as_deref()
            .is_some_and(|i| items.contains_key(i))
    });
    let unknown = before - events.len();

    write_jsonl(&args.catalogue, items.values())?;
    write_jsonl(&args.events, events.iter())?;
    eprintln!(
        "wrote {} ({} items; {} metadata records without text skipped) and {} ({} events; {} reviews of items without metadata left out)",
        args.catalogue.display(),
        items.len(),
        empty,
        args.events.display(),
        events.len(),
        unknown
    );
    Ok(())
}

/// Writes one JSON object a line.
fn write_jsonl<'a, T: serde::Serialize + 'a>(
    path: &PathBuf,
    rows: impl Iterator<Item = &'a T>,
) -> Result<(), CliError> {
    let f = std::fs::File::create(path).map_err(io_error(path))?;
    let mut w = BufWriter::new(f);
    for r in rows {
        serde_json::to_writer(&mut w, r).map_err(|e| io_error(path)(std::io::Error::other(e)))?;
        w.write_all(b"\n").map_err(io_error(path))?;
    }
    w.flush().map_err(io_error(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::strip_html;

    #[test]
    fn strips_tags_and_entities() {
        assert_eq!(
            strip_html("<span class=\"x\">Tom &amp; Jerry</span>&nbsp;<b>2</b>"),
            "Tom & Jerry 2"
        );
        assert_eq!(strip_html("plain"), "plain");
    }
}
