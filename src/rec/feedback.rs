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

use std::io::BufRead;

use serde::{Deserialize, Serialize};

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

/// Reads and validates an events JSONL file (blank lines skipped).
pub fn read_events(reader: impl BufRead) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let bad = |reason: String| Error::EventLine {
            line: n + 1,
            reason,
        };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if v.get("ts").is_none() {
            return Err(bad("missing `ts`".into()));
        }
        let event: Event = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        if event.user.is_empty() {
            return Err(bad("empty `user`".into()));
        }
        event.feedback.validate().map_err(|e| bad(e.to_string()))?;
        out.push(event);
    }
    Ok(out)
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
                "not between 1 and 5",
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
}
