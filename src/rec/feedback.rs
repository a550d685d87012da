//! Feedback events: what a user did or said, with a timestamp, and the events
//! JSONL format used by `localrec eval` and `localrec index build --interactions`.
//!
//! ```json
//! {"user": "u1", "ts": 1700000000, "text": "I want short, light reads for the train"}
//! {"user": "u1", "ts": 1700000100, "item": "B00005N7P0", "rating": 2, "text": "the service was terrible"}
//! {"user": "u1", "ts": 1700000200, "item": "B00005N7PS", "kind": "like"}
//! ```
//! `user` (string) and `ts` (unix seconds) are required; `item`, `rating`
//! (1–5), `text` and `kind` (like | dislike | not_interested | view | purchase
//! | review) are optional, but an event must say something: a text, or an item.
//!
//! Ratings on another scale: the file says so on its first line,
//! `{"rating_scale": "0.5-5"}` (or `"1-10"`, `"thumbs"`, …), or the reader is
//! given the scale ([`read_events_on`]); each rating is mapped to 1–5 stars as it
//! is read ([`RatingScale`]), so everything downstream sees one scale.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::rec::rating_scale::RatingScale;
use crate::util::error::{Error, Result};

/// What kind of feedback an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// The user liked the item.
    Like,
    /// The user disliked the item.
    Dislike,
    /// "Not interested": push away and never show again.
    NotInterested,
    /// The user viewed the item (weak positive).
    View,
    /// The user bought the item.
    Purchase,
    /// A review: text (and maybe stars) about an item.
    Review,
}

/// One piece of feedback from the user.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Feedback {
    /// When (unix seconds).
    #[serde(default)]
    pub ts: i64,
    /// The item it is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Stars, 1–5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f32>,
    /// Free text: a wish ("short reads for the train") or a review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// What the user did; inferred from the other fields when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FeedbackKind>,
}

impl Feedback {
    /// Free text with no item.
    pub fn text(ts: i64, text: impl Into<String>) -> Self {
        Self {
            ts,
            text: Some(text.into()),
            ..Self::default()
        }
    }
    /// An action on an item.
    pub fn action(ts: i64, item: impl Into<String>, kind: FeedbackKind) -> Self {
        Self {
            ts,
            item: Some(item.into()),
            kind: Some(kind),
            ..Self::default()
        }
    }
    /// Stars on an item, with an optional review text.
    pub fn rating(ts: i64, item: impl Into<String>, stars: f32, text: Option<String>) -> Self {
        Self {
            ts,
            item: Some(item.into()),
            rating: Some(stars),
            kind: text.as_ref().map(|_| FeedbackKind::Review),
            text,
        }
    }

    /// Checks the event makes sense: ratings in 1–5, something said or done.
    pub fn validate(&self) -> Result<()> {
        if let Some(r) = self.rating {
            if !(r.is_finite() && (1.0..=5.0).contains(&r)) {
                return Err(Error::InvalidInput {
                    what: "rating",
                    reason: format!("{r} is not between 1 and 5"),
                });
            }
        }
        let has_text = self.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        if self.item.is_none() && !has_text {
            return Err(Error::InvalidInput {
                what: "feedback",
                reason: "an event needs a text or an item".into(),
            });
        }
        if self.item.is_none() && self.kind.is_some_and(|k| k != FeedbackKind::Review) {
            return Err(Error::InvalidInput {
                what: "feedback",
                reason: format!("{:?} needs an item", self.kind),
            });
        }
        if self.item.as_deref().is_some_and(|i| i.is_empty()) {
            return Err(Error::InvalidInput {
                what: "feedback",
                reason: "item id is empty".into(),
            });
        }
        Ok(())
    }

    /// Is this a positive interaction with an item (stars ≥ 4, like, purchase)?
    pub fn is_positive_interaction(&self) -> bool {
        self.item.is_some()
            && (self.rating.is_some_and(|r| r >= 4.0)
                || matches!(self.kind, Some(FeedbackKind::Like | FeedbackKind::Purchase)))
    }
}

/// One line of an events file: a user's feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The user.
    pub user: String,
    /// What they did.
    #[serde(flatten)]
    pub feedback: Feedback,
}

/// Reads and validates an events JSONL file (blank lines skipped), ratings on
/// 1–5 stars unless the file names its scale on its first line.
pub fn read_events(reader: impl BufRead) -> Result<Vec<Event>> {
    read_events_on(reader, None)
}

/// Like [`read_events`], with the ratings' scale when the file names none
/// (`None`: 1–5 stars). A file that names a scale other than `scale` is an
/// error: the two disagree about what its numbers mean.
pub fn read_events_on(reader: impl BufRead, scale: Option<RatingScale>) -> Result<Vec<Event>> {
    events_on(reader, scale).collect()
}

/// [`read_events_on`] one event at a time (a stream of any length in
/// constant memory); an error ends nothing by itself, the caller stops.
pub fn events_on(
    reader: impl BufRead,
    scale: Option<RatingScale>,
) -> impl Iterator<Item = Result<Event>> {
    let mut on = scale.unwrap_or_default();
    let mut first = true;
    reader
        .lines()
        .enumerate()
        .filter_map(move |(n, line)| {
            let bad = |reason: String| Error::EventLine {
                line: n + 1,
                reason,
            };
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(bad(e.to_string()))),
            };
            if line.trim().is_empty() {
                return None;
            }
            let parsed = (|| -> Result<Option<Event>> {
                let v: serde_json::Value =
                    serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
                let header = std::mem::take(&mut first) && v.get("user").is_none();
                if let Some(named) = v.get("rating_scale").filter(|_| header) {
                    let named: RatingScale = named
                        .as_str()
                        .ok_or_else(|| bad("`rating_scale` must be a string, e.g. \"0.5-5\"".into()))?
                        .parse()
                        .map_err(|e: Error| bad(e.to_string()))?;
                    if scale.is_some_and(|given| given != named) {
                        return Err(bad(format!(
                            "the file says its ratings are on the {named} scale, but {on} was asked for"
                        )));
                    }
                    on = named;
                    return Ok(None);
                }
                if v.get("ts").is_none() {
                    return Err(bad("missing `ts`".into()));
                }
                let mut event: Event =
                    serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
                if event.user.is_empty() {
                    return Err(bad("empty `user`".into()));
                }
                if let Some(r) = event.feedback.rating {
                    event.feedback.rating = Some(on.to_stars(r).map_err(|e| bad(e.to_string()))?);
                }
                event.feedback.validate().map_err(|e| bad(e.to_string()))?;
                Ok(Some(event))
            })();
            parsed.transpose()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_infers_nothing_it_should_not() {
        let events = read_events(
            concat!(
                r#"{"user":"u","ts":1,"text":"short reads"}"#,
                "\n",
                r#"{"user":"u","ts":2,"item":"a","rating":5,"text":"great","kind":"review"}"#,
                "\n",
                r#"{"user":"v","ts":3,"item":"b","kind":"not_interested"}"#,
                "\n"
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(events.len(), 3);
        assert!(!events[0].feedback.is_positive_interaction());
        assert!(events[1].feedback.is_positive_interaction());
        assert_eq!(events[2].feedback.kind, Some(FeedbackKind::NotInterested));
    }

    #[test]
    fn rejects_bad_events_with_line_numbers() {
        for (line, want) in [
            (r#"{"user":"u","text":"x"}"#, "missing `ts`"),
            (r#"{"user":"u","ts":1}"#, "needs a text or an item"),
            (
                r#"{"user":"u","ts":1,"item":"a","rating":7}"#,
                "rating: 7 is not on the 1–5 scale",
            ),
            (
                r#"{"user":"u","ts":1,"kind":"like"}"#,
                "needs a text or an item",
            ),
            (
                r#"{"user":"u","ts":1,"item":"a","kind":"love"}"#,
                "unknown variant",
            ),
            (r#"{"user":"","ts":1,"item":"a"}"#, "empty `user`"),
            ("not json", "expected"),
        ] {
            let err = read_events(
                format!("{{\"user\":\"ok\",\"ts\":0,\"item\":\"z\"}}\n{line}\n").as_bytes(),
            )
            .unwrap_err();
            assert!(
                matches!(err, Error::EventLine { line: 2, .. }),
                "{line}: {err}"
            );
            assert!(err.to_string().contains(want), "{line}: {err}");
        }
        assert!(Feedback::text(0, "   ").validate().is_err());
        assert!(Feedback::rating(0, "a", f32::NAN, None).validate().is_err());
    }

    #[test]
    fn ratings_on_another_scale_are_read_as_stars() {
        let half = concat!(
            r#"{"rating_scale": "0.5-5"}"#,
            "\n",
            r#"{"user":"u","ts":1,"item":"a","rating":0.5}"#,
            "\n",
            r#"{"user":"u","ts":2,"item":"b","rating":5}"#,
        );
        let stars: Vec<f32> = read_events(half.as_bytes())
            .unwrap()
            .iter()
            .filter_map(|e| e.feedback.rating)
            .collect();
        assert_eq!(stars, [1.0, 5.0]);
        // The same lines without the header: 0.5 is off the default scale, named in the error.
        let bare = half.split_once('\n').unwrap().1;
        let err = read_events(bare.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("0.5 is not on the 1–5 scale"),
            "{err}"
        );
        // Given by the caller instead (a CLI option): the same stars.
        let given = read_events_on(bare.as_bytes(), Some("0.5-5".parse().unwrap())).unwrap();
        assert_eq!(given[0].feedback.rating, Some(1.0));
        // A header that disagrees with the caller is an error, not a silent choice.
        let err = read_events_on(half.as_bytes(), Some("1-10".parse().unwrap())).unwrap_err();
        assert!(
            err.to_string()
                .contains("0.5–5 scale, but 1–10 was asked for"),
            "{err}"
        );
        // Thumbs: down and up are 1 and 5 stars; anything else names the line and the scale.
        let thumbs = "{\"rating_scale\":\"thumbs\"}\n{\"user\":\"u\",\"ts\":1,\"item\":\"a\",\"rating\":1}\n{\"user\":\"u\",\"ts\":2,\"item\":\"a\",\"rating\":3}";
        let err = read_events(thumbs.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("3 is not on the thumbs (0 or 1) scale"),
            "{err}"
        );
    }
}
