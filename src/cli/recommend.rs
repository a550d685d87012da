//! `localrec recommend`: one visitor's feedback (an events JSONL file) → the
//! top k items of a catalogue index, each with the reasons it is there.
//!
//! The events are recorded in file order into a fresh profile, and the list is
//! ranked as of the newest event's time (`ts`), so the same file gives the same
//! list whenever it is run. No events: the cold-start list (popularity).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use localrec::{
    AttributeFilter, Boost, BoostTarget, CatalogueIndex, Effect, Error, Feedback, Filters,
    NumericRange, ProfileSettings, RankOptions, Reason, ReasonKind, Recommendation, Recommender,
    Scene,
};
use serde::Serialize;

use super::{io_error, load_encoder, open_input, read_file, CliError};

/// Characters of a title shown in the human output (the JSON has it whole).
const TITLE_CHARS: usize = 48;
/// Characters of a reason's evidence shown in the human output.
const REASON_CHARS: usize = 72;
/// Users named in the "several users" error.
const USERS_NAMED: usize = 5;

#[derive(Args)]
pub struct RecommendArgs {
    /// Catalogue index (.lri), built with the same model.
    #[arg(long)]
    index: PathBuf,
    /// Model bundle (default: $LOCALREC_MODEL, else models/build/minilm-l6-v2-int8.lrm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Events JSONL (the `eval` format; optionally .gz), recorded in file order; `-` reads stdin.
    /// Omitted or empty: the cold-start list.
    #[arg(long, value_name = "FILE")]
    feedback: Option<PathBuf>,
    /// The user whose events to use, when the file holds several.
    #[arg(long, value_name = "ID", requires = "feedback")]
    user: Option<String>,
    /// How many items.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// MMR diversity λ in [0, 1] (0: off).
    #[arg(long, default_value_t = 0.0)]
    diversity: f32,
    /// Hard filter, repeatable (all must hold): category=NAME, tag=NAME (several:
    /// any of them), price<=N, price>=N, price=A..B, KEY=VALUE, KEY<=N, KEY>=N,
    /// KEY=A..B on an item attribute (several values of one key: any of them),
    /// exclude=ID. Bounds are inclusive.
    #[arg(long = "filter", value_name = "FILTER")]
    filters: Vec<String>,
    /// Scene: date, family, late or recent (the demo shop's scenes), or a
    /// scene as JSON, inline or in a .json file ({"name": …, "boosts": […]}).
    #[arg(long, value_name = "SCENE")]
    scene: Option<String>,
    /// Print one JSON object: {user, events, coldStart, now, recommendations, ms}.
    #[arg(long)]
    json: bool,
}

/// What `localrec recommend` can fail on besides library errors.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// The catalogue index could not be loaded.
    #[error("cannot load index {}: {source}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Error,
    },
    /// The events file does not parse.
    #[error("{file}: {source}")]
    Events {
        /// The events file (or "stdin").
        file: String,
        /// Why (the library names the line).
        #[source]
        source: Error,
    },
    /// An event the recommender refused.
    #[error("{file}: events line {line}: {source}")]
    Feedback {
        /// The events file (or "stdin").
        file: String,
        /// 1-based line number.
        line: usize,
        /// Why.
        #[source]
        source: Error,
    },
    /// An event naming an item the index does not hold.
    #[error("{file}: events line {line}: item `{id}` is not in the catalogue index {}", index.display())]
    UnknownItem {
        /// The events file (or "stdin").
        file: String,
        /// 1-based line number.
        line: usize,
        /// The item id.
        id: String,
        /// The index file.
        index: PathBuf,
    },
    /// Several users in the events file and no `--user`.
    #[error("{file} holds the events of {count} users ({names}): pick one with --user")]
    SeveralUsers {
        /// The events file (or "stdin").
        file: String,
        /// How many users.
        count: usize,
        /// The first few, comma-separated.
        names: String,
    },
    /// `--user` names no user of the events file.
    #[error("{file} has no events of user `{user}` ({known})")]
    UnknownUser {
        /// The events file (or "stdin").
        file: String,
        /// The user asked for.
        user: String,
        /// The users it has, or that it has none.
        known: String,
    },
    /// A `--filter` that does not parse or names nothing in the index.
    #[error("invalid --filter `{filter}`: {reason}")]
    Filter {
        /// The filter as written.
        filter: String,
        /// Why.
        reason: String,
    },
    /// A `--scene` that is neither a known name nor a valid JSON scene.
    #[error("invalid --scene `{scene}`: {reason}")]
    Scene {
        /// The scene as written.
        scene: String,
        /// Why.
        reason: String,
    },
}

/// One `--filter`, parsed but not yet checked against the index.
#[derive(Debug, Clone, PartialEq)]
enum FilterSpec {
    Category(String),
    Tag(String),
    Exclude(String),
    Price(NumericRange),
    AttributeRange(String, NumericRange),
    AttributeValue(String, String),
}

/// The visitor's events, each with its line in the file.
struct Visit {
    /// The file as named in messages ("stdin" for `-`).
    file: String,
    /// The user, when there are events.
    user: Option<String>,
    /// (line, feedback), in file order.
    events: Vec<(usize, Feedback)>,
}

/// How long each stage took, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct Timings {
    /// Loading the model and the index, and preparing the recommender.
    load: f64,
    /// Recording every event into a fresh profile.
    record: f64,
    /// Recording the newest event alone.
    record_newest: f64,
    /// Ranking the catalogue.
    rank: f64,
}

/// The `--json` document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOutput<'a> {
    user: Option<&'a str>,
    events: usize,
    cold_start: bool,
    /// The time the list is ranked at (the newest event's `ts`; 0 without events).
    now: i64,
    recommendations: &'a [Recommendation],
    ms: Timings,
}

pub fn run(args: RecommendArgs) -> Result<(), CliError> {
    // Everything that needs neither the model nor the index is checked first.
    let specs = args
        .filters
        .iter()
        .map(|f| {
            parse_filter(f)
                .map(|spec| (f.as_str(), spec))
                .map_err(|reason| RecommendError::Filter {
                    filter: f.clone(),
                    reason,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scene = args.scene.as_deref().map(parse_scene).transpose()?;
    let mut options = RankOptions {
        k: args.k,
        diversity: args.diversity,
        scene,
        ..RankOptions::default()
    };
    options.validate()?;
    let visit = read_visit(args.feedback.as_deref(), args.user.as_deref())?;

    let started = Instant::now();
    let encoder = load_encoder(args.model)?;
    let index = CatalogueIndex::from_bytes(read_file(&args.index)?).map_err(|source| {
        RecommendError::Index {
            path: args.index.clone(),
            source,
        }
    })?;
    let rec = Recommender::new(encoder, index)?;
    let load = millis(started);
    options.filters = resolve_filters(&specs, rec.index())?;

    let mut profile = rec.new_profile(ProfileSettings::default())?;
    let started = Instant::now();
    let mut record_newest = 0.0;
    for (line, feedback) in &visit.events {
        let one = Instant::now();
        rec.record(&mut profile, feedback)
            .map_err(|source| match source {
                Error::UnknownItem(id) => RecommendError::UnknownItem {
                    file: visit.file.clone(),
                    line: *line,
                    id,
                    index: args.index.clone(),
                },
                source => RecommendError::Feedback {
                    file: visit.file.clone(),
                    line: *line,
                    source,
                },
            })?;
        record_newest = millis(one);
    }
    let record = millis(started);
    options.now = visit.events.iter().map(|(_, f)| f.ts).max().unwrap_or(0);
    let started = Instant::now();
    let results = rec.recommend(&profile, &options)?;
    let timings = Timings {
        load,
        record,
        record_newest,
        rank: millis(started),
    };

    if args.json {
        let doc = JsonOutput {
            user: visit.user.as_deref(),
            events: visit.events.len(),
            cold_start: visit.events.is_empty(),
            now: options.now,
            recommendations: &results,
            ms: timings,
        };
        let text = serde_json::to_string(&doc).map_err(|e| Error::Io {
            context: "cannot write JSON".into(),
            source: std::io::Error::other(e),
        })?;
        emit(&format!("{text}\n"))
    } else {
        emit(&human(&rec, &visit, &results, &timings))
    }
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            context: "cannot write to stdout".into(),
            source: e,
        }
        .into()),
        _ => Ok(()),
    }
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Reads the events (none without a file), keeps one user's, with their lines.
fn read_visit(path: Option<&Path>, user: Option<&str>) -> Result<Visit, CliError> {
    let Some(path) = path else {
        return Ok(Visit {
            file: String::new(),
            user: None,
            events: Vec::new(),
        });
    };
    let (file, bytes) = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                context: "cannot read stdin".into(),
                source,
            })?;
        ("stdin".to_string(), bytes)
    } else {
        let mut bytes = Vec::new();
        open_input(path)?
            .read_to_end(&mut bytes)
            .map_err(io_error(path))?;
        (path.display().to_string(), bytes)
    };
    let events =
        localrec::read_events(bytes.as_slice()).map_err(|source| RecommendError::Events {
            file: file.clone(),
            source,
        })?;
    // `read_events` skips blank lines; number the others the same way.
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, _)| n + 1)
        .collect();
    if lines.len() != events.len() {
        lines = (1..=events.len()).collect();
    }
    // Users in the order they first appear (a store's file may hold many).
    let mut seen = std::collections::HashSet::new();
    let users: Vec<&str> = events
        .iter()
        .map(|e| e.user.as_str())
        .filter(|u| seen.insert(*u))
        .collect();
    let named = |users: &[&str]| {
        let mut names: Vec<String> = users
            .iter()
            .take(USERS_NAMED)
            .map(|u| format!("`{u}`"))
            .collect();
        if users.len() > USERS_NAMED {
            names.push("…".into());
        }
        names.join(", ")
    };
    let chosen = match (user, users.as_slice()) {
        (Some(u), _) if users.contains(&u) => Some(u.to_string()),
        (Some(u), []) => {
            return Err(RecommendError::UnknownUser {
                file,
                user: u.to_string(),
                known: "it holds no events".into(),
            }
            .into())
        }
        (Some(u), known) => {
            return Err(RecommendError::UnknownUser {
                file,
                user: u.to_string(),
                known: format!("users: {}", named(known)),
            }
            .into())
        }
        (None, []) => None,
        (None, [one]) => Some(one.to_string()),
        (None, several) => {
            return Err(RecommendError::SeveralUsers {
                file,
                count: several.len(),
                names: named(several),
            }
            .into())
        }
    };
    let events = lines
        .into_iter()
        .zip(events)
        .filter(|(_, e)| chosen.as_deref() == Some(e.user.as_str()))
        .map(|(line, e)| (line, e.feedback))
        .collect();
    Ok(Visit {
        file,
        user: chosen,
        events,
    })
}

/// Parses `KEY=VALUE`, `KEY<=N`, `KEY>=N` (`KEY=A..B` for a range; either end may be left out).
fn parse_filter(text: &str) -> Result<FilterSpec, String> {
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
fn number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("`{}` is not a number", text.trim())),
    }
}

/// `A..B` (either end may be left out), or `None` when `text` has no `..`.
fn range(text: &str) -> Option<Result<NumericRange, String>> {
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
fn intersect(a: NumericRange, b: NumericRange) -> NumericRange {
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
fn spelled<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
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
fn some_of(names: &[String]) -> String {
    const SHOWN: usize = 12;
    match names.len() {
        0 => "none".into(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{}, … ({n} in all)", names[..SHOWN].join(", ")),
    }
}

/// Turns the parsed filters into the library's, checking every name against the index.
fn resolve_filters(
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
fn attribute_names(index: &CatalogueIndex) -> Vec<String> {
    let mut names: Vec<String> = (0..index.len())
        .filter_map(|i| index.item(i))
        .flat_map(|item| item.attributes.into_keys())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A scene by name (the demo shop's), inline JSON, or a JSON file.
fn parse_scene(text: &str) -> Result<Scene, RecommendError> {
    let bad = |reason: String| RecommendError::Scene {
        scene: text.to_string(),
        reason,
    };
    let json = if text.trim_start().starts_with('{') {
        Some(text.to_string())
    } else if text.ends_with(".json") || Path::new(text).is_file() {
        Some(std::fs::read_to_string(text).map_err(|e| bad(format!("cannot read {text}: {e}")))?)
    } else {
        None
    };
    if let Some(json) = json {
        return serde_json::from_str(&json).map_err(|e| bad(e.to_string()));
    }
    preset_scene(&text.to_ascii_lowercase()).ok_or_else(|| {
        bad(format!(
            "not a scene name ({}) nor JSON like {{\"name\": \"rainy day\", \"boosts\": [{{\"target\": {{\"tag\": \"Drama\"}}, \"factor\": 1.5}}]}}",
            PRESET_SCENES.join(", ")
        ))
    })
}

/// The demo shop's scenes (www/shop.js), by the names its menu uses.
const PRESET_SCENES: [&str; 4] = ["date", "family", "late", "recent"];

fn preset_scene(name: &str) -> Option<Scene> {
    let tag = |t: &str, factor: f32| Boost {
        target: BoostTarget::Tag(t.into()),
        factor,
    };
    let (name, boosts) = match name {
        "date" => (
            "date night",
            vec![tag("Romance", 1.6), tag("Comedy", 1.2), tag("Horror", 0.5)],
        ),
        "family" => (
            "family movie night",
            vec![
                tag("Family", 2.0),
                tag("Animated", 1.8),
                tag("Horror", 0.3),
                tag("Thriller", 0.6),
            ],
        ),
        "late" => (
            "late-night thrills",
            vec![tag("Thriller", 1.6), tag("Horror", 1.5), tag("Family", 0.4)],
        ),
        "recent" => (
            "something recent",
            vec![Boost {
                target: BoostTarget::Attribute {
                    key: "year".into(),
                    range: Some(NumericRange {
                        min: Some(2015.0),
                        max: None,
                    }),
                    equals: None,
                },
                factor: 1.8,
            }],
        ),
        _ => return None,
    };
    Some(Scene {
        name: name.into(),
        boosts,
    })
}

/// `text` cut to `n` characters, with an ellipsis when cut.
fn cut(text: &str, n: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(n).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

/// One reason in words, as the demo shop says it.
fn explain(rec: &Recommender, reason: &Reason) -> String {
    let said = cut(&reason.evidence, REASON_CHARS);
    let title = reason
        .item
        .as_deref()
        .and_then(|id| rec.index().position(id))
        .map(|p| rec.index().title(p));
    let words = match (reason.kind, reason.effect) {
        (ReasonKind::Feedback, Effect::Up) => match title {
            Some(t) if t == reason.evidence || t.is_empty() => {
                format!("because you liked \u{201c}{said}\u{201d}")
            }
            Some(t) => format!(
                "because you said \u{201c}{said}\u{201d} about \u{201c}{}\u{201d}",
                cut(t, TITLE_CHARS)
            ),
            None => format!("because you said \u{201c}{said}\u{201d}"),
        },
        (ReasonKind::Feedback, Effect::Down) => match title {
            Some(t) if !t.is_empty() => format!(
                "ranked lower: like \u{201c}{}\u{201d}, which you turned down",
                cut(t, TITLE_CHARS)
            ),
            _ => format!("ranked lower: near what you turned down, \u{201c}{said}\u{201d}"),
        },
        _ => said,
    };
    let sign = match reason.effect {
        Effect::Up => '+',
        Effect::Down => '-',
    };
    if reason.kind == ReasonKind::KeptOut {
        format!("{sign} {words}")
    } else if reason.kind == ReasonKind::Scene {
        // The weight is the log of the scene's factor.
        format!("{sign} {words}  (\u{d7}{:.2})", reason.weight.exp())
    } else {
        format!("{sign} {words}  ({:+.3})", reason.weight)
    }
}

/// The human output: a heading, what the list keeps out, one line per item
/// with its reasons below, and the timings.
fn human(
    rec: &Recommender,
    visit: &Visit,
    results: &[Recommendation],
    timings: &Timings,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let n = results.len();
    let _ = match &visit.user {
        None if n == 1 => writeln!(out, "cold start (no feedback): the most popular item"),
        None => writeln!(out, "cold start (no feedback): the {n} most popular items"),
        Some(user) => writeln!(
            out,
            "top {n} for `{user}` after {} event{}",
            visit.events.len(),
            if visit.events.len() == 1 { "" } else { "s" }
        ),
    };
    // A kept-out concept holds for the whole list: said once, above it.
    let kept_out: Vec<&Reason> = results
        .first()
        .map(|r| {
            r.why
                .iter()
                .filter(|w| w.kind == ReasonKind::KeptOut)
                .collect()
        })
        .unwrap_or_default();
    for w in &kept_out {
        let _ = writeln!(out, "  {}", explain(rec, w));
    }
    if results.is_empty() {
        let _ = writeln!(out, "  (no item passes the filters)");
    }
    let width = n.to_string().len();
    for (rank, r) in results.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>width$}. {}  {}  {:.3}",
            rank + 1,
            r.id,
            cut(&r.title, TITLE_CHARS),
            r.score
        );
        for w in r.why.iter().filter(|w| w.kind != ReasonKind::KeptOut) {
            let _ = writeln!(out, "{:width$}    {}", "", explain(rec, w));
        }
    }
    let events = visit.events.len();
    let _ = if events == 0 {
        writeln!(
            out,
            "{} items ranked in {:.1} ms; model and index loaded in {:.0} ms",
            rec.index().len(),
            timings.rank,
            timings.load
        )
    } else {
        let all = if events > 1 {
            format!("; all {events} events recorded in {:.1} ms", timings.record)
        } else {
            String::new()
        };
        writeln!(
            out,
            "newest event \u{2192} list: {:.1} ms (recorded in {:.1} ms, {} items ranked in {:.1} ms){all}; model and index loaded in {:.0} ms",
            timings.record_newest + timings.rank,
            timings.record_newest,
            rec.index().len(),
            timings.rank,
            timings.load
        )
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: Option<f64>, max: Option<f64>) -> NumericRange {
        NumericRange { min, max }
    }

    #[test]
    fn parses_the_filter_syntax() {
        for (text, want) in [
            ("category=Drama", FilterSpec::Category("Drama".into())),
            (
                " tag = Science Fiction ",
                FilterSpec::Tag("Science Fiction".into()),
            ),
            ("exclude=Airplane!", FilterSpec::Exclude("Airplane!".into())),
            ("price<=20", FilterSpec::Price(range(None, Some(20.0)))),
            ("price>=2.5", FilterSpec::Price(range(Some(2.5), None))),
            ("price=7", FilterSpec::Price(range(Some(7.0), Some(7.0)))),
            (
                "price=5..20",
                FilterSpec::Price(range(Some(5.0), Some(20.0))),
            ),
            (
                "year=1990..",
                FilterSpec::AttributeRange("year".into(), range(Some(1990.0), None)),
            ),
            (
                "year<=1999",
                FilterSpec::AttributeRange("year".into(), range(None, Some(1999.0))),
            ),
            (
                "lang=fr",
                FilterSpec::AttributeValue("lang".into(), "fr".into()),
            ),
            (
                "decade=1990s",
                FilterSpec::AttributeValue("decade".into(), "1990s".into()),
            ),
        ] {
            assert_eq!(parse_filter(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_filters_with_a_reason() {
        for (text, says) in [
            ("Drama", "expected KEY=VALUE"),
            ("price<20", "inclusive"),
            ("year>1990", "inclusive"),
            ("lang!=fr", "only =, <= and >="),
            ("=Drama", "no key"),
            ("category=", "no value"),
            ("price<=cheap", "`cheap` is not a number"),
            ("price=NaN", "not a number"),
            ("year>=inf", "not a number"),
            ("year=..", "at least one end"),
            ("price=a..b", "`a` is not a number"),
            ("category<=Drama", "takes `=`"),
        ] {
            match parse_filter(text) {
                Err(reason) => assert!(reason.contains(says), "{text}: {reason}"),
                Ok(spec) => panic!("{text} parsed as {spec:?}"),
            }
        }
    }

    #[test]
    fn ranges_on_one_key_intersect() {
        let r = intersect(range(Some(1990.0), None), range(None, Some(1999.0)));
        assert_eq!(r, range(Some(1990.0), Some(1999.0)));
        let r = intersect(range(Some(5.0), Some(30.0)), range(Some(10.0), Some(20.0)));
        assert_eq!(r, range(Some(10.0), Some(20.0)));
    }

    #[test]
    fn names_match_the_index_spelling() {
        let known = ["Drama".to_string(), "Comedy".to_string()];
        assert_eq!(spelled("Drama", &known), Some("Drama"));
        assert_eq!(spelled("drama", &known), Some("Drama"));
        assert_eq!(spelled("Dramma", &known), None);
        let twice = ["war".to_string(), "War".to_string()];
        assert_eq!(spelled("WAR", &twice), None, "ambiguous without case");
        assert_eq!(spelled("War", &twice), Some("War"));
    }

    #[test]
    fn scenes_by_name_or_json() {
        assert_eq!(
            parse_scene("date").map(|s| s.name).ok(),
            Some("date night".into())
        );
        assert_eq!(parse_scene("Family").map(|s| s.boosts.len()).ok(), Some(4));
        let s = parse_scene(
            r#"{"name": "rainy", "boosts": [{"target": {"tag": "Drama"}, "factor": 1.5}]}"#,
        );
        assert!(
            matches!(&s, Ok(s) if s.name == "rainy" && s.boosts[0].target == BoostTarget::Tag("Drama".into())),
            "{s:?}"
        );
        for bad in ["picnic", "{\"name\": 3}", "/nonexistent/scene.json"] {
            assert!(
                matches!(parse_scene(bad), Err(RecommendError::Scene { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn cuts_long_text_with_an_ellipsis() {
        assert_eq!(cut("short", 48), "short");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("ab def", 3), "ab…");
        assert_eq!(cut("éééé", 2), "éé…");
    }
}
