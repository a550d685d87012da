//! Splits a token stream into clauses ("pieces"): at sentence ends, at
//! contrast words (but, though, aber, mais, pero …), and at commas or "and"
//! when what follows opens a new cue ("thrillers, no mob movies").

use std::ops::Range;

use super::lexicon::{self, Place, ALSO, BARE_ANSWERS};
use super::words::{Class, Mood, Token};

/// One clause of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Token indices, without the separator that ended it.
    pub range: Range<usize>,
    /// Ended by a question mark.
    pub question: bool,
    /// The contrast word that opened it, if any.
    pub contrast: Option<&'static str>,
    /// Which sentence it belongs to (counted from 0).
    pub sentence: usize,
}

/// Words that open a contrasting clause.
#[rustfmt::skip]
const CONTRASTS: &[&str] = &[
    "but", "though", "although", "however", "yet", "whereas", "aber", "sondern", "jedoch",
    "allerdings", "mais", "cependant", "pourtant", "pero", "sino", "aunque",
];

/// "but" right after these is part of a cue ("nothing but", "anything but").
const BEFORE_BUT: &[&str] = &[
    "nothing",
    "anything",
    "everything",
    "all",
    "none",
    "not",
    "no",
];

/// Subordinators: they open a clause of their own ("I don't like it when
/// films are too long").
#[rustfmt::skip]
const SUBORDINATORS: &[&str] =
    &["when", "if", "because", "since", "quand", "lorsque", "parce", "wenn", "weil", "cuando", "porque"];

/// Words joining two clauses when a cue follows ("short and no horror").
const JOINS: &[&str] = &["and", "und", "et", "y", "or", "oder", "ou"];

/// Subjects that, after a comma, start a clause of their own
/// ("it's not horror, it's a thriller").
#[rustfmt::skip]
const SUBJECTS: &[&str] = &[
    "i", "i'm", "it's", "its", "it", "that's", "this", "we", "we're", "they", "they're", "c'est",
    "je", "j'", "ich", "es", "das", "yo",
];

/// How many filler words may stand between a separator and the cue it announces.
const FILLER_LOOKAHEAD: usize = 4;

/// Splits `tokens` into pieces; pieces without words or leaning emoji are dropped.
pub(crate) fn split(tokens: &[Token]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut contrast: Option<&'static str> = None;
    let mut sentence = 0;
    let mut i = 0;
    while i < tokens.len() {
        let mut cut: Option<(usize, bool)> = None; // (index of the next piece's start, question)
        let mut opens: Option<&'static str> = None;
        let mut next_sentence = false;
        match (tokens[i].class, tokens[i].word()) {
            (Class::Punct(p), _) => match p {
                '.' | '!' | '?' | '\n' | '…' => {
                    cut = Some((i + 1, p == '?'));
                    next_sentence = true;
                }
                ';' => cut = Some((i + 1, false)),
                ',' | ':' | '-' | '(' | ')' | '[' | ']' | '/' | '|' | '&'
                    if opens_cue(tokens, i + 1) || opens_subject(tokens, i + 1) =>
                {
                    cut = Some((i + 1, false));
                }
                _ => {}
            },
            (Class::Word, Some(w)) => {
                let prev = i
                    .checked_sub(1)
                    .and_then(|k| tokens.get(k))
                    .and_then(Token::word);
                let next = tokens.get(i + 1).and_then(Token::word);
                if w == "sin" && next == Some("embargo") {
                    cut = Some((i + 2, false));
                    opens = Some("sin embargo");
                } else if let Some(&c) = CONTRASTS.iter().find(|c| **c == w) {
                    let bound = match c {
                        "but" => !prev.is_some_and(|p| BEFORE_BUT.contains(&p)),
                        "yet" => !prev.is_some_and(|p| matches!(p, "not" | "no" | "none")),
                        _ => true,
                    };
                    if bound {
                        cut = Some((i + 1, false));
                        opens = Some(c);
                    }
                } else if SUBORDINATORS.contains(&w)
                    || (JOINS.contains(&w) && opens_cue(tokens, i + 1))
                {
                    cut = Some((i + 1, false));
                }
            }
            _ => {}
        }
        if let Some((next, question)) = cut {
            if push(tokens, &mut out, start..i, question, contrast, sentence) {
                contrast = None;
            }
            if opens.is_some() {
                contrast = opens;
            }
            if next_sentence {
                sentence += 1;
            }
            start = next;
            i = next;
        } else {
            i += 1;
        }
    }
    push(
        tokens,
        &mut out,
        start..tokens.len(),
        false,
        contrast,
        sentence,
    );
    out
}

/// Adds a piece when it holds something to read; says whether it did.
fn push(
    tokens: &[Token],
    out: &mut Vec<Piece>,
    range: Range<usize>,
    question: bool,
    contrast: Option<&'static str>,
    sentence: usize,
) -> bool {
    let meaningful = tokens
        .get(range.clone())
        .unwrap_or(&[])
        .iter()
        .any(|t| match t.class {
            Class::Word => true,
            Class::Emoji(mood, _) => mood != Mood::Neutral,
            Class::Punct(_) => false,
        });
    if meaningful {
        out.push(Piece {
            range,
            question,
            contrast,
            sentence,
        });
    }
    meaningful
}

/// Does a cue (past a few fillers) start at token `at`?
fn opens_cue(tokens: &[Token], at: usize) -> bool {
    for k in at..at + FILLER_LOOKAHEAD {
        let Some(word) = tokens.get(k).and_then(Token::word) else {
            return false;
        };
        if let Some(found) = lexicon::cue_at(tokens, k, tokens.len()) {
            return found.cue.place != Place::AfterNeg;
        }
        if !lexicon::is_filler(word) {
            return false;
        }
    }
    false
}

/// Does a subject pronoun start at token `at`?
fn opens_subject(tokens: &[Token], at: usize) -> bool {
    tokens
        .get(at)
        .and_then(Token::word)
        .is_some_and(|w| SUBJECTS.contains(&w))
}

/// Is this piece a lone "no" / "yes" answering something unseen?
pub(crate) fn is_bare_answer(tokens: &[Token], piece: &Piece) -> bool {
    let mut words = tokens
        .get(piece.range.clone())
        .unwrap_or(&[])
        .iter()
        .filter_map(Token::word);
    matches!((words.next(), words.next()), (Some(w), None) if BARE_ANSWERS.contains(&w))
}

/// The "also" word opening this piece, if any.
pub(crate) fn opening_also(tokens: &[Token], piece: &Piece) -> Option<&'static str> {
    let first = tokens
        .get(piece.range.clone())?
        .iter()
        .find_map(Token::word)?;
    ALSO.iter().copied().find(|a| *a == first)
}

#[cfg(test)]
mod tests {
    use super::super::words::tokenize;
    use super::*;

    fn pieces(text: &str) -> Vec<String> {
        let toks = tokenize(text, 1000);
        split(&toks)
            .iter()
            .map(|p| {
                let a = toks[p.range.start].span.start;
                let b = toks[p.range.end - 1].span.end;
                text[a..b].to_string()
            })
            .collect()
    }

    #[test]
    fn splits_at_contrast_and_cue_commas() {
        assert_eq!(
            pieces("I'd like funny movies but not horror films"),
            ["I'd like funny movies", "not horror films"]
        );
        assert_eq!(
            pieces("thrillers, no mob movies"),
            ["thrillers", "no mob movies"]
        );
        assert_eq!(pieces("short, light reads"), ["short, light reads"]);
        assert_eq!(
            pieces("too long, I want short quick reads"),
            ["too long", "I want short quick reads"]
        );
        assert_eq!(
            pieces("frightening films? no thanks"),
            ["frightening films", "no thanks"]
        );
        assert_eq!(pieces("nothing but comedies"), ["nothing but comedies"]);
        assert_eq!(
            pieces("short and funny and no gore"),
            ["short and funny", "no gore"]
        );
    }

    #[test]
    fn marks_questions_contrasts_and_sentences() {
        let toks = tokenize("is there no horror? Not horror; but comedy. ok", 100);
        let p = split(&toks);
        assert_eq!(p.len(), 4);
        assert!(p[0].question && !p[1].question);
        assert_eq!(p[2].contrast, Some("but"));
        assert_eq!((p[1].sentence, p[2].sentence, p[3].sentence), (1, 1, 2));
    }
}
