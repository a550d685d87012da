//! `localrec recommend`: one visitor's feedback (an events JSONL file) → the
//! top k items of a catalogue index, each with the reasons it is there.
//!
//! The events are recorded in file order into a fresh profile, and the list is
//! ranked as of the newest event's time (`ts`), so the same file gives the same
//! list whenever it is run. No events: the cold-start list (popularity).
//!
//! Here: the arguments, the errors and the run; [`visit`] reads the events,
//! [`filters`] and [`scenes`] turn options into the library's, [`output`]
//! words the list.

mod filters;
mod output;
mod scenes;
mod visit;

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use localrec::{CatalogueIndex, Error, ProfileSettings, RankOptions, Recommendation, Recommender};
use serde::Serialize;

use super::{load_encoder, read_file, CliError};

use filters::{parse_filter, resolve_filters};
use output::{emit, human};
use scenes::parse_scene;
use visit::read_visit;

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
    /// The events' rating scale when the file names none on its first line
    /// (`{"rating_scale": …}`): `1-5` (default), `0.5-5`, `1-10`, `thumbs`, any `MIN-MAX`.
    #[arg(long, value_name = "SCALE")]
    rating_scale: Option<localrec::RatingScale>,
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
    let visit = read_visit(
        args.feedback.as_deref(),
        args.user.as_deref(),
        args.rating_scale,
    )?;

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

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::filters::{intersect, spelled, FilterSpec};
    use super::output::cut;
    use super::*;

    use localrec::{BoostTarget, NumericRange};

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
