//! `localrec convert windows`: next-item rows (one per target, each with the
//! user's previous items) plus an item JSON file → a catalogue JSONL and an
//! events JSONL.
//!
//! This is the layout generative-recommendation benchmarks publish for the
//! Amazon Review Data (2018) categories: CSV files in time order with the
//! columns `user_id`, `history_item_id` (a list such as `[3466, 2697]`, the
//! user's previous items, at most the last ten) and `item_id` (the target),
//! and an item file `{"0": {"title": …, "description": "['…', …]", "brand": …,
//! "categories": …}, …}` whose descriptions are Python list literals.
//!
//! A user's rows overlap: each row's history ends with the items of the
//! user's earlier rows. The rows are chained into one sequence per user (the
//! first row's history, then each row's target), and a row whose history is
//! not the end of the chain so far is an error naming its file and line.
//! Every interaction becomes a `purchase` (the files keep no stars). The
//! files keep order but no times, so times are synthetic: the n-th row of all
//! files (in the order given) gets `start + n · step`, and the items of a
//! user's first history one `step` apart before that row.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use clap::Args;
use localrec::{AttributeValue, CatalogueItem, Error, Event, Feedback, FeedbackKind};
use serde_json::Value;

use super::{strip_html, write_jsonl};
use crate::cli::{open_input, CliError};

/// Arguments of `localrec convert windows`.
#[derive(Args)]
pub struct WindowsArgs {
    /// Item file: a JSON object from item id to {title, description, brand, categories} (.gz accepted).
    #[arg(long)]
    items: PathBuf,
    /// Row files (CSV with user_id, history_item_id, item_id; .gz accepted), repeatable, in time order.
    #[arg(long = "windows", required = true)]
    windows: Vec<PathBuf>,
    /// Output catalogue JSONL.
    #[arg(long)]
    catalogue: PathBuf,
    /// Output events JSONL.
    #[arg(long)]
    events: PathBuf,
    /// Synthetic time of the first row (unix seconds; default 2018-01-01).
    #[arg(long, default_value_t = 1_514_764_800)]
    start: i64,
    /// Seconds between consecutive rows (and between the items of a first history).
    #[arg(long, default_value_t = 1_800)]
    step: i64,
}

/// One CSV row: the user, their previous items (oldest first), the target.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    /// Line of the file the row starts on.
    line: usize,
    user: String,
    history: Vec<String>,
    target: String,
}

/// Converts the files named in `args`.
pub fn run(args: WindowsArgs) -> Result<(), CliError> {
    if args.step <= 0 {
        return Err(Error::InvalidInput {
            what: "--step",
            reason: format!("{} is not a positive number of seconds", args.step),
        }
        .into());
    }
    let items = read_items(&args.items)?;
    let mut rows = Vec::new();
    let mut ends = Vec::new(); // rows read after each file
    for path in &args.windows {
        let text = read_text(path)?;
        rows.extend(parse_rows(&text).map_err(|e| located(path, e))?);
        ends.push(rows.len());
    }
    let events = chain(&rows, args.start, args.step).map_err(|(n, reason)| {
        let file = ends.iter().position(|&end| n < end).unwrap_or(0);
        located(&args.windows[file], reason)
    })?;
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for e in &events {
        if let Some(item) = e.feedback.item.as_deref() {
            *counts.entry(item).or_default() += 1;
        }
    }
    let unknown = counts
        .keys()
        .filter(|i| !items.contains_key(&ItemKey::new(i)))
        .count();
    if unknown > 0 {
        return Err(Error::InvalidInput {
            what: "windows",
            reason: format!("{unknown} item ids are not in {}", args.items.display()),
        }
        .into());
    }
    let catalogue: Vec<CatalogueItem> = items
        .into_values()
        .map(|mut item| {
            let n = counts.get(item.id.as_str()).copied().unwrap_or(0);
            item.popularity = Some(f64::from(n));
            item
        })
        .collect();
    write_jsonl(&args.catalogue, catalogue.iter())?;
    write_jsonl(&args.events, events.iter())?;
    eprintln!(
        "wrote {} ({} items) and {} ({} events of {} users from {} rows)",
        args.catalogue.display(),
        catalogue.len(),
        args.events.display(),
        events.len(),
        events
            .iter()
            .map(|e| e.user.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        rows.len()
    );
    Ok(())
}

/// An error about `path`, as one line.
fn located(path: &Path, reason: String) -> CliError {
    Error::InvalidInput {
        what: "windows",
        reason: format!("{}: {reason}", path.display()),
    }
    .into()
}

/// The whole text of `path` (`.gz` decompressed).
fn read_text(path: &Path) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_input(path)?, &mut bytes)
        .map_err(super::io_error(path))?;
    String::from_utf8(bytes).map_err(|e| located(path, format!("not UTF-8 ({e})")))
}

/// Reads the item file into catalogue items keyed and ordered by id
/// (numerically when the ids are numbers).
fn read_items(path: &Path) -> Result<BTreeMap<ItemKey, CatalogueItem>, CliError> {
    let text = read_text(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| located(path, e.to_string()))?;
    let Value::Object(map) = doc else {
        return Err(located(path, "expected a JSON object of items".into()));
    };
    let mut items = BTreeMap::new();
    for (id, v) in map {
        let item = item_from_json(&id, &v).map_err(|reason| located(path, reason))?;
        items.insert(ItemKey::new(&id), item);
    }
    Ok(items)
}

/// An item id that sorts numerically when it is a number (numbers first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ItemKey(bool, u64, String);

impl ItemKey {
    fn new(id: &str) -> Self {
        match id.parse() {
            Ok(n) => Self(false, n, id.to_string()),
            Err(_) => Self(true, 0, id.to_string()),
        }
    }
}

/// One item of the item file: title, description (a Python list literal or
/// plain text), brand and categories.
fn item_from_json(id: &str, v: &Value) -> Result<CatalogueItem, String> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let title = strip_html(field("title"));
    let parts = |s: &str| -> Vec<String> {
        python_strings(s)
            .unwrap_or_else(|| vec![s.to_string()])
            .iter()
            .map(|p| strip_html(p))
            .filter(|p| !p.is_empty())
            .collect()
    };
    let description = parts(field("description")).join(" ");
    let categories = parts(field("categories"));
    let brand = strip_html(field("brand"));
    if title.is_empty() && description.is_empty() {
        return Err(format!("item `{id}` has neither a title nor a description"));
    }
    let mut text = description;
    if !brand.is_empty() {
        let stop = if brand.ends_with('.') { "" } else { "." };
        text = format!("{text} Brand: {brand}{stop}");
    }
    let mut attributes = BTreeMap::new();
    if !brand.is_empty() {
        attributes.insert("brand".to_string(), AttributeValue::Text(brand));
    }
    Ok(CatalogueItem {
        id: id.to_string(),
        title,
        text: Some(text.trim().to_string()),
        category: categories.first().cloned(),
        tags: categories.iter().skip(1).cloned().collect(),
        price: None,
        popularity: None,
        url: None,
        attributes,
    })
}

/// The strings of a Python list literal of strings (`['a', "b\n"]`), or
/// `None` if `s` is not one.
fn python_strings(s: &str) -> Option<Vec<String>> {
    let mut chars = s.trim().chars().peekable();
    if chars.next()? != '[' {
        return None;
    }
    let mut out = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next()? {
            ']' => break,
            q @ ('\'' | '"') => {
                let mut cur = String::new();
                loop {
                    match chars.next()? {
                        c if c == q => break,
                        '\\' => match chars.next()? {
                            'n' => cur.push('\n'),
                            't' => cur.push('\t'),
                            'r' => cur.push('\r'),
                            'x' => cur.push(hex_char(&mut chars, 2)?),
                            'u' => cur.push(hex_char(&mut chars, 4)?),
                            'U' => cur.push(hex_char(&mut chars, 8)?),
                            c => cur.push(c),
                        },
                        c => cur.push(c),
                    }
                }
                out.push(cur);
            }
            _ => return None,
        }
    }
    chars.all(char::is_whitespace).then_some(out)
}

fn hex_char(chars: &mut impl Iterator<Item = char>, digits: usize) -> Option<char> {
    let hex: String = chars.take(digits).collect();
    if hex.len() != digits {
        return None;
    }
    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
}

/// Parses the rows of one CSV file (RFC 4180 quoting; a header naming
/// `user_id`, `history_item_id` and `item_id`; other columns ignored).
/// Errors name the line.
fn parse_rows(text: &str) -> Result<Vec<Row>, String> {
    let records = csv_records(text)?;
    let Some((_, header)) = records.first() else {
        return Ok(Vec::new());
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("the header has no `{name}` column"))
    };
    let (u, h, t) = (
        column("user_id")?,
        column("history_item_id")?,
        column("item_id")?,
    );
    let mut rows = Vec::with_capacity(records.len().saturating_sub(1));
    for (line, fields) in &records[1..] {
        let cell = |i: usize| {
            fields
                .get(i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| format!("line {line}: column {} is missing or empty", i + 1))
        };
        let history = id_list(cell(h)?).ok_or_else(|| {
            format!(
                "line {line}: history_item_id is not a list of ids: {}",
                cell(h).unwrap_or("")
            )
        })?;
        rows.push(Row {
            line: *line,
            user: cell(u)?.to_string(),
            history,
            target: cell(t)?.to_string(),
        });
    }
    Ok(rows)
}

/// `[1, 2, 3]` (or `['a', 'b']`) → the ids.
fn id_list(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    Some(
        inner
            .split(',')
            .map(|x| x.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
            .filter(|x| !x.is_empty())
            .collect(),
    )
}

/// The records of a CSV text with the line each starts on (1-based); quoted
/// fields may hold commas, doubled quotes and line breaks.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut line, mut start) = (1, 1);
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
                any = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if any {
        fields.push(field);
        records.push((start, fields));
    }
    Ok(records
        .into_iter()
        .filter(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()))
        .collect())
}

/// Chains each user's rows into one sequence of purchase events with
/// synthetic times. An error gives the index of the offending row (over all
/// rows) and why.
fn chain(rows: &[Row], start: i64, step: i64) -> Result<Vec<Event>, (usize, String)> {
    let mut sequences: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut events = Vec::new();
    let purchase = |user: &str, item: &str, ts: i64| Event {
        user: user.to_string(),
        feedback: Feedback {
            ts,
            item: Some(item.to_string()),
            rating: None,
            kind: Some(FeedbackKind::Purchase),
            text: None,
        },
    };
    for (n, row) in rows.iter().enumerate() {
        let ts = i64::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(step))
            .and_then(|d| start.checked_add(d))
            .ok_or((n, "synthetic time out of range".to_string()))?;
        match sequences.get_mut(row.user.as_str()) {
            None => {
                let m = row.history.len() as i64;
                for (j, item) in row.history.iter().enumerate() {
                    events.push(purchase(&row.user, item, ts - (m - j as i64) * step));
                }
                let mut seq: Vec<&str> = row.history.iter().map(String::as_str).collect();
                seq.push(&row.target);
                sequences.insert(&row.user, seq);
            }
            Some(seq) => {
                let h: Vec<&str> = row.history.iter().map(String::as_str).collect();
                if h.len() > seq.len() || seq[seq.len() - h.len()..] != h[..] {
                    return Err((
                        n,
                        format!(
                            "line {}: the history {:?} of user `{}` is not the end of their earlier items {:?}",
                            row.line,
                            h,
                            row.user,
                            &seq[seq.len().saturating_sub(h.len())..]
                        ),
                    ));
                }
                seq.push(&row.target);
            }
        }
        events.push(purchase(&row.user, &row.target, ts));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_python_list_literals() {
        assert_eq!(
            python_strings(r#"['Glue for wood.\n', "Don't spill", 'caf\xe9 \u00e9', '']"#),
            Some(vec![
                "Glue for wood.\n".to_string(),
                "Don't spill".to_string(),
                "café é".to_string(),
                String::new()
            ])
        );
        assert_eq!(python_strings("[]"), Some(vec![]));
        assert_eq!(python_strings("plain text"), None);
        assert_eq!(python_strings("['unclosed"), None);
        assert_eq!(python_strings("['a'] trailing"), None);
    }

    #[test]
    fn reads_quoted_csv_with_commas_quotes_and_line_breaks() {
        let text = "a,b,c\n1,\"x, \"\"y\"\"\",3\r\n2,\"two\nlines\",4\n\n";
        let r = csv_records(text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], (2, vec!["1".into(), "x, \"y\"".into(), "3".into()]));
        assert_eq!(r[2], (3, vec!["2".into(), "two\nlines".into(), "4".into()]));
        assert!(csv_records("a\n\"open").unwrap_err().contains("line 2"));
    }

    const ROWS: &str = "user_id,history_item_title,item_title,history_item_id,item_id\n\
        A1,\"['x, y', 'z']\",t,\"[3, 1]\",2\n\
        A2,\"['q']\",t,[1],3\n\
        A1,\"[]\",t,\"[3, 1, 2]\",0\n";

    #[test]
    fn chains_each_users_rows_into_one_sequence_with_ordered_times() {
        let rows = parse_rows(ROWS).unwrap();
        assert_eq!(rows[0].history, vec!["3", "1"]);
        let events = chain(&rows, 1000, 10).unwrap();
        let seq = |u: &str| -> Vec<(String, i64)> {
            events
                .iter()
                .filter(|e| e.user == u)
                .map(|e| (e.feedback.item.clone().unwrap(), e.feedback.ts))
                .collect()
        };
        assert_eq!(
            seq("A1"),
            vec![
                ("3".into(), 980),
                ("1".into(), 990),
                ("2".into(), 1000),
                ("0".into(), 1020)
            ]
        );
        assert_eq!(seq("A2"), vec![("1".into(), 1000), ("3".into(), 1010)]);
        assert!(events
            .iter()
            .all(|e| e.feedback.is_positive_interaction() && e.feedback.rating.is_none()));
    }

    #[test]
    fn a_history_that_does_not_continue_the_user_is_an_error() {
        let bad = format!("{ROWS}A2,\"[]\",t,\"[9]\",4\n");
        let rows = parse_rows(&bad).unwrap();
        let (n, why) = chain(&rows, 0, 1).unwrap_err();
        assert_eq!(n, 3);
        assert!(why.contains("line 5") && why.contains("`A2`"), "{why}");
        let missing = "user_id,item_id\nA,1\n";
        assert!(parse_rows(missing).unwrap_err().contains("history_item_id"));
        let not_list = "user_id,history_item_id,item_id\nA,3,1\n";
        assert!(parse_rows(not_list).unwrap_err().contains("line 2"));
    }

    #[test]
    fn items_take_title_description_and_brand() {
        let v: Value = serde_json::from_str(
            r#"{"title": "Super <b>Glue</b>", "description": "['Bonds wood &amp; metal.', '']", "brand": "Hot Stuff", "categories": ""}"#,
        )
        .unwrap();
        let item = item_from_json("7", &v).unwrap();
        assert_eq!(item.title, "Super Glue");
        assert_eq!(
            item.text.as_deref(),
            Some("Bonds wood & metal. Brand: Hot Stuff.")
        );
        assert_eq!(
            item.attributes.get("brand"),
            Some(&AttributeValue::Text("Hot Stuff".into()))
        );
        item.validate(1).unwrap();
        let plain: Value =
            serde_json::from_str(r#"{"title": "T", "description": "just text"}"#).unwrap();
        assert_eq!(
            item_from_json("8", &plain).unwrap().text.as_deref(),
            Some("just text")
        );
        let empty: Value = serde_json::from_str(r#"{"title": "", "description": "[]"}"#).unwrap();
        assert!(item_from_json("9", &empty).unwrap_err().contains("`9`"));
        let mut keys = [ItemKey::new("10"), ItemKey::new("9"), ItemKey::new("a")];
        keys.sort();
        assert_eq!(keys.map(|k| k.2), ["9", "10", "a"]);
    }
}
