//! A signal: one piece of feedback as the profile keeps it — a direction
//! (int8), a signed weight, a time and where it came from.

use crate::cpu::score::{dequantize, quantize};
use crate::rec::catalogue::snippet;
use crate::util::error::{Error, Result};

use super::SNIPPET_CHARS;

/// Where a signal came from (shown in explanations).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SignalSource {
    /// Text the user wrote with no item (a snippet of it).
    Said(String),
    /// An item the user acted on.
    Item(String),
    /// Text the user wrote about an item (a review).
    Review {
        /// The item.
        item: String,
        /// A snippet of the text.
        text: String,
    },
    /// A concept the user said to keep out ("no horror please"): the signal's
    /// direction is the concept alone, and the ranking keeps the items of that
    /// concept out of its lists until a newer wish asks for it again.
    Rejected {
        /// The concept, as written ("horror").
        concept: String,
        /// A snippet of the whole text it was said in.
        said: String,
    },
}

impl SignalSource {
    /// The item this signal is about, if any.
    pub fn item(&self) -> Option<&str> {
        match self {
            SignalSource::Said(_) | SignalSource::Rejected { .. } => None,
            SignalSource::Item(i) | SignalSource::Review { item: i, .. } => Some(i),
        }
    }
    /// The user's words, if any.
    pub fn text(&self) -> Option<&str> {
        match self {
            SignalSource::Said(t)
            | SignalSource::Review { text: t, .. }
            | SignalSource::Rejected { said: t, .. } => Some(t),
            SignalSource::Item(_) => None,
        }
    }
}

/// One direction the user pushed the ranking in.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// When (unix seconds).
    pub ts: i64,
    /// Signed strength before decay: > 0 toward, < 0 away.
    pub weight: f32,
    /// The direction, int8 (dequantised by `scale`).
    pub(super) vector: Vec<i8>,
    pub(super) scale: f32,
    /// Where it came from.
    pub source: SignalSource,
}

impl Signal {
    /// Time order, and among signals of the same second a fixed order on their
    /// content, so that profiles merged in any order list (and trim) the same
    /// signals.
    pub(crate) fn canonical_cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ts
            .cmp(&other.ts)
            .then_with(|| self.weight.total_cmp(&other.weight))
            .then_with(|| self.scale.total_cmp(&other.scale))
            .then_with(|| self.vector.cmp(&other.vector))
            .then_with(|| self.source.cmp(&other.source))
    }

    /// A signal along `vector` (any non-zero length; it is normalised).
    pub fn new(ts: i64, weight: f32, vector: &[f32], source: SignalSource) -> Result<Self> {
        if !weight.is_finite() {
            return Err(Error::InvalidInput {
                what: "signal weight",
                reason: format!("{weight} is not a number"),
            });
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() || norm == 0.0 {
            return Err(Error::InvalidInput {
                what: "signal vector",
                reason: "zero or not finite".into(),
            });
        }
        let unit: Vec<f32> = vector.iter().map(|x| x / norm).collect();
        let (vector, scale) = quantize(&unit);
        let source = match source {
            SignalSource::Said(t) => SignalSource::Said(snippet(&t, SNIPPET_CHARS)),
            SignalSource::Review { item, text } => SignalSource::Review {
                item,
                text: snippet(&text, SNIPPET_CHARS),
            },
            SignalSource::Rejected { concept, said } => SignalSource::Rejected {
                concept: snippet(&concept, SNIPPET_CHARS),
                said: snippet(&said, SNIPPET_CHARS),
            },
            s => s,
        };
        Ok(Self {
            ts,
            weight,
            vector,
            scale,
            source,
        })
    }
    /// Whether this signal keeps a concept out (see [`SignalSource::Rejected`]).
    pub fn is_rejection(&self) -> bool {
        matches!(self.source, SignalSource::Rejected { .. })
    }

    /// The unit direction as floats.
    pub fn vector(&self) -> Vec<f32> {
        dequantize(&self.vector, self.scale)
    }
    /// Weight after decay at time `now`.
    pub fn decayed(&self, now: i64, half_life_days: f32) -> f32 {
        let age_days = (now.saturating_sub(self.ts)).max(0) as f32 / 86_400.0;
        self.weight * 0.5f32.powf(age_days / half_life_days)
    }
}
