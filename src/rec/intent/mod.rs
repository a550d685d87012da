//! Reads a visitor's free-text feedback into clauses, each with its own
//! stance and target, so that "something funny, no horror please" becomes a
//! wish for "funny" and a rejection of "horror" instead of one embedding that
//! sits close to "horror".
//!
//! Rules over words, not a list of sentences: the text is tokenised
//! (`words.rs`), split at contrasts and at commas that open a new cue
//! (`clauses.rs`), and each clause's cues are looked up in per-language tables
//! (`lexicon.rs`: English, French, German, Spanish) and given a scope
//! (`scope.rs`). Targets are the concept phrase only, a slice of the text
//! without cue words, politeness, fillers or leading articles.
//!
//! ```ignore
//! let parsed = localrec::rec::intent::parse("I'd like funny movies but not horror films");
//! assert_eq!(parsed.clauses[1].stance, Stance::Reject);
//! assert_eq!(parsed.clauses[1].target, "horror films");
//! ```

mod clauses;
mod lexicon;
mod scope;
mod words;

use std::fmt;
use std::ops::Range;

/// At most this many tokens are read; the rest of a longer text is ignored,
/// which keeps a 1 MB paste cheap.
pub const MAX_TOKENS: usize = 20_000;

/// At most this many clauses are returned.
pub const MAX_CLAUSES: usize = 256;

/// How a clause stands towards its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stance {
    /// The visitor asks for it ("I want …", "more …", "❤️ …").
    Want,
    /// The visitor wants it kept out ("no …", "tired of …", "… 👎").
    Reject,
    /// No cue says which; an embedding polarity model should decide.
    Unmarked,
}

/// A clause that points at the profile's history instead of a concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relative {
    /// "more like these", "same again".
    MoreOfHistory,
    /// "something else", "something different", "no more like these".
    DifferentFromHistory,
}

impl Relative {
    /// The other direction (a negated "more like these" is "something different").
    #[must_use]
    pub fn opposite(self) -> Self {
        match self {
            Relative::MoreOfHistory => Relative::DifferentFromHistory,
            Relative::DifferentFromHistory => Relative::MoreOfHistory,
        }
    }
}

/// One clause of the feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Wish, rejection, or left to the polarity model.
    pub stance: Stance,
    /// The concept, cue-free, as written in the text; "" when there is none
    /// ("no thanks", "not bad at all", "more like these").
    pub target: String,
    /// Set when the clause points at the history.
    pub relative: Option<Relative>,
    /// The cue that set the stance or relative, for explanations: a lexicon
    /// phrase ("no", "tired of", "keine"), an emoji ("👎"), a politeness
    /// marker that made a bare phrase a request ("please"), a contrast that
    /// opposed a rejection ("but"), or "?" for a question asking for something.
    pub cue: Option<&'static str>,
    /// Some(±1) for pure sentiment without a concept ("not bad at all" → +1,
    /// "no thanks" → -1); the stance is then `Unmarked` and the target empty.
    pub sentiment: Option<f32>,
    /// Byte range of the whole clause in the original text.
    pub span: Range<usize>,
    /// Byte range of `target` in the original text, when it is not empty.
    pub target_span: Option<Range<usize>>,
}

/// The clauses of one text, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedText {
    /// The clauses, in text order.
    pub clauses: Vec<Clause>,
}

impl ParsedText {
    /// Did any clause's stance, relative or sentiment come from a cue?
    #[must_use]
    pub fn has_cues(&self) -> bool {
        self.clauses
            .iter()
            .any(|c| c.cue.is_some() || c.relative.is_some())
    }

    /// The clauses that reject a concept.
    pub fn rejections(&self) -> impl Iterator<Item = &Clause> {
        self.clauses
            .iter()
            .filter(|c| c.stance == Stance::Reject && !c.target.is_empty())
    }

    /// The clauses that wish for a concept.
    pub fn wishes(&self) -> impl Iterator<Item = &Clause> {
        self.clauses
            .iter()
            .filter(|c| c.stance == Stance::Want && !c.target.is_empty())
    }
}

impl fmt::Display for Stance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stance::Want => "want",
            Stance::Reject => "reject",
            Stance::Unmarked => "unmarked",
        })
    }
}

impl fmt::Display for Relative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Relative::MoreOfHistory => "more of history",
            Relative::DifferentFromHistory => "different from history",
        })
    }
}

impl fmt::Display for Clause {
    /// `reject "horror films" (no)`, `want [more of history] (more like these)`, `+1 (not)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sentiment {
            Some(s) => write!(f, "{s:+}")?,
            None => write!(f, "{} {:?}", self.stance, self.target)?,
        }
        if let Some(r) = self.relative {
            write!(f, " [{r}]")?;
        }
        if let Some(cue) = self.cue {
            write!(f, " ({cue})")?;
        }
        Ok(())
    }
}

impl fmt::Display for ParsedText {
    /// The clauses separated by "; ".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A reading with where it came from, while context rules run.
struct Draft {
    reading: scope::Reading,
    sentence: usize,
}

/// Reads `text` into clauses. Never panics; reads at most [`MAX_TOKENS`]
/// tokens and returns at most [`MAX_CLAUSES`] clauses.
#[must_use]
pub fn parse(text: &str) -> ParsedText {
    let tokens = words::tokenize(text, MAX_TOKENS);
    let pieces = clauses::split(&tokens);
    let mut drafts: Vec<Draft> = Vec::new();
    'pieces: for (n, piece) in pieces.iter().enumerate() {
        // A leading "no," answers something unseen; what follows stands.
        if n == 0 && pieces.len() > 1 && clauses::is_bare_answer(&tokens, piece) {
            continue;
        }
        for (k, mut r) in scope::read(&tokens, piece).into_iter().enumerate() {
            if k == 0 {
                let prev = drafts.last_mut().map(|d| &mut d.reading);
                // "frightening films? no thanks": the reaction judges the concept before it.
                if let Some(prev) = prev.filter(|p| r.tag && (takes_tag(p) || agrees(p, &r))) {
                    if takes_tag(prev) {
                        prev.stance = if r.sentiment.unwrap_or(0.0) > 0.0 {
                            Stance::Want
                        } else {
                            Stance::Reject
                        };
                        prev.cue = r.cue;
                    }
                    prev.span.end = prev.span.end.max(r.span.end);
                    continue;
                }
                after_contrast(&mut r, piece, &tokens, drafts.last().map(|d| &d.reading));
            }
            drafts.push(Draft {
                reading: r,
                sentence: piece.sentence,
            });
            if drafts.len() >= MAX_CLAUSES {
                break 'pieces;
            }
        }
    }
    // "thrillers, no mob movies", "a comedy without horror": a bare noun phrase
    // right before a rejection in the same sentence is what the visitor wants.
    for i in 1..drafts.len() {
        let (head, tail) = drafts.split_at_mut(i);
        if let (Some(a), Some(b)) = (head.last_mut(), tail.first()) {
            let r = &b.reading;
            if a.reading.promotable
                && a.sentence == b.sentence
                && r.stance == Stance::Reject
                && r.target.is_some()
            {
                a.reading.stance = Stance::Want;
                a.reading.promotable = false;
            }
        }
    }
    let clauses = drafts
        .into_iter()
        .map(|d| clause(text, d.reading))
        .collect();
    ParsedText { clauses }
}

/// Can `prev` take a following reaction as its stance?
fn takes_tag(prev: &scope::Reading) -> bool {
    prev.stance == Stance::Unmarked
        && prev.cue.is_none()
        && prev.relative.is_none()
        && prev.target.is_some()
}

/// Does the reaction `tag` only repeat what `prev` says ("no horror!!! 😡")?
fn agrees(prev: &scope::Reading, tag: &scope::Reading) -> bool {
    let sign = match prev.stance {
        Stance::Want => 1.0,
        Stance::Reject => -1.0,
        Stance::Unmarked => return false,
    };
    !prev.tag && tag.sentiment == Some(sign)
}

/// After "but": "not horror but comedy" wishes for comedy; "not only comedies
/// but also dramas" wishes for both.
fn after_contrast(
    r: &mut scope::Reading,
    piece: &clauses::Piece,
    tokens: &[words::Token],
    prev: Option<&scope::Reading>,
) {
    let (Some(contrast), Some(prev)) = (piece.contrast, prev) else {
        return;
    };
    if r.cue.is_some() || r.stance != Stance::Unmarked || r.target.is_none() || prev.tag {
        return;
    }
    let not_only = prev.cue.is_some_and(|c| lexicon::NOT_ONLY.contains(&c));
    let cue = if (prev.stance == Stance::Reject && r.promotable) || not_only {
        Some(contrast)
    } else if prev.stance == Stance::Want {
        clauses::opening_also(tokens, piece)
    } else {
        None
    };
    if cue.is_some() {
        (r.stance, r.cue, r.promotable) = (Stance::Want, cue, false);
    }
}

/// The public clause for a reading, its target copied out of `text`.
fn clause(text: &str, r: scope::Reading) -> Clause {
    let target_span = r.target.filter(|t| text.get(t.clone()).is_some());
    Clause {
        stance: r.stance,
        target: target_span
            .clone()
            .and_then(|t| text.get(t))
            .unwrap_or("")
            .to_string(),
        relative: r.relative,
        cue: r.cue,
        sentiment: r.sentiment,
        span: r.span,
        target_span,
    }
}

#[cfg(test)]
mod tests;
