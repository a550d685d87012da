//! Reads one clause: finds its cues, chains the ones that work together
//! ("don't" + "like"), gives each chain its scope (after it, before it for
//! post-posed cues, inside a frame for "keep … away") and folds the chain
//! into a stance.

use std::ops::Range;

use super::clauses::Piece;
use super::lexicon::{self, Kind, Place};
use super::words::{Class, Mood, Token};
use super::{Relative, Stance};

/// What one clause, or one part of it, says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub stance: Stance,
    pub relative: Option<Relative>,
    pub cue: Option<&'static str>,
    pub sentiment: Option<f32>,
    /// Bytes covered, cues included.
    pub span: Range<usize>,
    /// Bytes of the concept, if there is one.
    pub target: Option<Range<usize>>,
    /// A pure reaction ("no thanks", "👎") that may attach to the clause before.
    pub tag: bool,
    /// An uncued short noun phrase that a following rejection may turn into a wish.
    pub promotable: bool,
}

/// A cue found in the clause.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    kind: Kind,
    place: Place,
    phrase: &'static str,
    gap: Option<(usize, usize)>,
    emoji: bool,
}

impl Hit {
    /// The frame's inside, when the target lies there ("keep X away").
    fn inside(&self) -> Option<(usize, usize)> {
        match self.place {
            Place::Around { inside: true, .. } => self.gap,
            _ => None,
        }
    }
}

/// A run of tokens with its chain of cues.
#[derive(Debug, Clone)]
struct Seg {
    start: usize,
    end: usize,
    chain: Vec<Hit>,
    /// Content before the chain: a post-posed cue's target, or a predicate's subject.
    subject: Option<(usize, usize)>,
    /// The target is the subject alone ("X, not for me").
    post: bool,
}

impl Seg {
    fn new(start: usize, hit: Hit) -> Self {
        Seg {
            start,
            end: hit.end,
            chain: vec![hit],
            subject: None,
            post: false,
        }
    }
    /// A post-posed cue whose target is everything from `start` up to it.
    fn post(start: usize, hit: Hit) -> Self {
        Seg {
            subject: Some((start, hit.start)),
            post: true,
            ..Seg::new(start, hit)
        }
    }
    fn uncued(start: usize, end: usize) -> Self {
        Seg {
            start,
            end,
            chain: Vec::new(),
            subject: None,
            post: false,
        }
    }
}

/// Reads a piece into one or more readings.
pub(crate) fn read(tokens: &[Token], piece: &Piece) -> Vec<Reading> {
    let range = piece.range.start.min(tokens.len())..piece.range.end.min(tokens.len());
    let hits = find_hits(tokens, &range);
    let readings: Vec<Reading> = segments(tokens, &range, &hits)
        .iter()
        .filter_map(|seg| resolve(tokens, seg, piece.question))
        .collect();
    // A bare reaction followed by more in the same clause introduced that more
    // ("I'm looking for something without violence"); repeated reactions are one ("👍👍").
    let mut out: Vec<Reading> = Vec::with_capacity(readings.len());
    let mut rest = readings.into_iter().peekable();
    while let Some(r) = rest.next() {
        if r.tag && rest.peek().is_some_and(|n| !n.tag) {
            continue;
        }
        match out.last_mut() {
            Some(prev) if r.tag && prev.tag && prev.sentiment == r.sentiment => {
                prev.span.end = r.span.end;
            }
            _ => out.push(r),
        }
    }
    out
}

/// All cues of the range, left to right, not overlapping.
fn find_hits(tokens: &[Token], range: &Range<usize>) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut i = range.start;
    while i < range.end {
        let Some(token) = tokens.get(i) else { break };
        match token.class {
            Class::Word => {
                if let Some(f) = lexicon::cue_at(tokens, i, range.end) {
                    let c = f.cue;
                    hits.push(Hit {
                        start: i,
                        end: f.end,
                        kind: c.kind,
                        place: c.place,
                        phrase: c.phrase,
                        gap: f.gap,
                        emoji: false,
                    });
                    i = f.end.max(i + 1);
                    continue;
                }
            }
            Class::Emoji(mood, name) if mood != Mood::Neutral => {
                let kind = if mood == Mood::Positive {
                    Kind::Want
                } else {
                    Kind::Reject
                };
                hits.push(Hit {
                    start: i,
                    end: i + 1,
                    kind,
                    place: Place::Either,
                    phrase: name,
                    gap: None,
                    emoji: true,
                });
            }
            _ => {}
        }
        i += 1;
    }
    hits
}

/// Is there a word in `a..b` that is more than a filler?
fn has_content(tokens: &[Token], a: usize, b: usize) -> bool {
    tokens
        .get(a..b)
        .unwrap_or(&[])
        .iter()
        .any(|t| t.word().is_some_and(|w| !lexicon::is_filler(w)))
}

/// Can `next` extend a chain that ends with `prev` ("don't" + "like", "want" + "no")?
fn continues(prev: Kind, next: Kind) -> bool {
    (matches!(prev, Kind::Neg | Kind::Want | Kind::More | Kind::Reject) && next != Kind::Flip)
        || (prev == Kind::Neg && next == Kind::Flip)
}

/// Does `hit`, after content, read as a predicate on that content
/// ("X is not my thing", "the book is too long")?
fn predicate(tokens: &[Token], from: usize, hit: &Hit) -> bool {
    let negating = matches!(hit.kind, Kind::Neg | Kind::Reject | Kind::Excess);
    // A linking verb among the last few words ("these are all too dark").
    let linked = tokens
        .get(from..hit.start)
        .unwrap_or(&[])
        .iter()
        .rev()
        .take(8)
        .filter_map(Token::word)
        .take(3)
        .any(lexicon::is_copula);
    let first = tokens.get(hit.start).and_then(Token::word);
    negating && (linked || first.is_some_and(lexicon::is_copula))
}

/// Does `hit` govern anything: content up to the next cue, or a next cue it
/// chains with ("no" + "quiero")?
fn governs(tokens: &[Token], hit: &Hit, next: Option<&Hit>, end: usize) -> bool {
    if let Some((a, b)) = hit.inside() {
        return has_content(tokens, a, b);
    }
    let upto = next.map_or(end, |n| n.start);
    trim(tokens, hit.end, upto).words.is_some()
        || next.is_some_and(|n| {
            !has_content(tokens, hit.end, n.start)
                && !n.emoji
                && (continues(hit.kind, n.kind) || n.place == Place::AfterNeg)
        })
}

/// May a cue with this place count here? Lead verbs only before any content,
/// "plus de" only at the clause start, "bad" only right after a negator.
fn placed(place: Place, before: bool, at_start: bool, chain_end: Option<Kind>) -> bool {
    let after_neg = !before && chain_end == Some(Kind::Neg);
    match place {
        Place::Lead => !before,
        // "plus de X" opens a clause; "nicht zu lang" chains after a negator.
        Place::Start => at_start || after_neg,
        Place::AfterNeg => after_neg,
        _ => true,
    }
}

/// Groups the hits into segments, each with one chain (or none) and its scope.
fn segments(tokens: &[Token], range: &Range<usize>, hits: &[Hit]) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut cur: Option<Seg> = None;
    // Start of material no segment owns; while `cur` is None it equals `last`.
    let mut free = range.start;
    // End of the last cue taken, and how far past it we know there is no content:
    // each token is scanned once, however many cues are skipped.
    let mut last = range.start;
    let mut clear_to = range.start;
    let mut content_at: Option<usize> = None;
    let is_content = |i: usize| has_content(tokens, i, i + 1);
    let first_content = (range.start..range.end).find(|&i| is_content(i));
    let mut seen_cue = false;
    for (k, hit) in hits.iter().enumerate() {
        if content_at.is_some_and(|c| c < last) {
            content_at = None;
        }
        clear_to = clear_to.max(last);
        if content_at.is_none() {
            content_at = (clear_to..hit.start).find(|&i| is_content(i));
            clear_to = content_at.unwrap_or(hit.start);
        }
        let before = content_at.is_some();
        let after = governs(tokens, hit, hits.get(k + 1), range.end);
        let chain_end = cur.as_ref().and_then(|s| s.chain.last()).map(|h| h.kind);
        let at_start = !seen_cue && first_content.is_none_or(|c| c >= hit.start);
        if !placed(hit.place, before, at_start, chain_end) {
            continue;
        }
        if hit.kind == Kind::Aside {
            // "I don't know, …" at the lead is skipped; elsewhere it is just words.
            if cur.is_none() && !before {
                free = hit.end;
                last = hit.end;
            }
            continue;
        }
        // A pre-posed cue with nothing to act on, after content, is just a word
        // ("I like it too"), unless it is a predicate ("horror isn't for me").
        let predicative = cur.is_none() && predicate(tokens, free, hit);
        if before && !after && hit.place == Place::Pre && hit.inside().is_none() && !predicative {
            continue;
        }
        if let (Some(seg), Some(prev)) = (cur.as_mut(), chain_end) {
            if !before && !hit.emoji && continues(prev, hit.kind) {
                seg.chain.push(*hit);
                seg.end = hit.end;
                last = hit.end;
                seen_cue = true;
                continue;
            }
        }
        seen_cue = true;
        let post_like = match hit.place {
            Place::Post => true,
            Place::Either => !after || (hit.emoji && before),
            _ => false,
        };
        if let Some(mut seg) = cur.take() {
            if hit.emoji || (before && post_like) {
                // A trailing reaction closes the open clause and adds nothing ("no horror 🙅").
                seg.end = hit.end;
                segs.push(seg);
                free = hit.end;
                last = hit.end;
                continue;
            }
            seg.end = hit.start;
            segs.push(seg);
            free = hit.start;
        }
        if before && post_like {
            // "X, not for me": the target is what came before.
            segs.push(Seg::post(free, *hit));
            free = hit.end;
            last = hit.end;
            continue;
        }
        if before && predicative {
            cur = Some(Seg {
                post: false,
                ..Seg::post(free, *hit)
            });
        } else {
            if before && free < hit.start {
                segs.push(Seg::uncued(free, hit.start));
                free = hit.start;
            }
            let seg = Seg::new(free, *hit);
            if post_like {
                segs.push(seg);
                free = hit.end;
            } else {
                cur = Some(seg);
            }
        }
        last = hit.end;
    }
    match cur {
        Some(mut seg) => {
            seg.end = seg.end.max(range.end);
            segs.push(seg);
        }
        None if free < range.end => segs.push(Seg::uncued(free, range.end)),
        None => {}
    }
    segs
}

/// The chain folded into one stance.
struct Fold {
    stance: Stance,
    relative: Option<Relative>,
    cue: Option<&'static str>,
    more: bool,
}

/// The cue inside a "ne … pas" frame ("n'aime", "déteste"), if any.
fn frame_inner(tokens: &[Token], hit: &Hit) -> Option<(Kind, &'static str)> {
    match (hit.place, hit.gap) {
        (Place::Around { inside: false, .. }, Some((a, b))) => (a..b)
            .find_map(|p| lexicon::cue_at(tokens, p, b))
            .map(|f| (f.cue.kind, f.cue.phrase)),
        _ => None,
    }
}

/// Folds a chain left to right: a negator turns the next wish into a
/// rejection and the next rejection (or "bad", "mind") into a wish; in a
/// question, plain negators ask for the thing instead ("is there no horror?").
fn fold(tokens: &[Token], chain: &[Hit], question: bool) -> Fold {
    let mut items = Vec::with_capacity(chain.len() + 1);
    for hit in chain {
        items.push((hit.kind, hit.phrase));
        items.extend(frame_inner(tokens, hit));
    }
    let mut f = Fold {
        stance: Stance::Unmarked,
        relative: None,
        cue: None,
        more: false,
    };
    let mut neg: Option<&'static str> = None;
    let mut asked = false;
    for (kind, phrase) in items {
        match kind {
            Kind::Neg if question => asked = true,
            Kind::Neg => neg = if neg.is_some() { None } else { Some(phrase) },
            Kind::Want | Kind::More => {
                f.more |= kind == Kind::More;
                if let Some(n) = neg.take() {
                    f.stance = Stance::Reject;
                    f.cue = Some(n);
                } else if f.stance == Stance::Unmarked {
                    f.stance = Stance::Want;
                    f.cue = Some(phrase);
                }
            }
            Kind::Reject => {
                (f.stance, f.cue) = match neg.take() {
                    Some(n) => (Stance::Want, Some(n)),
                    None => (Stance::Reject, Some(phrase)),
                }
            }
            Kind::Excess => {
                neg = None;
                (f.stance, f.cue) = (Stance::Reject, Some(phrase));
            }
            Kind::Flip => {
                if let Some(n) = neg.take() {
                    (f.stance, f.cue) = (Stance::Want, Some(n));
                }
            }
            Kind::Aside => {}
            Kind::Rel(r) => {
                // "no more like these": the turning cue explains the clause.
                let rejected = (f.stance == Stance::Reject).then_some(f.cue).flatten();
                let turner = neg.take().or(rejected);
                f.relative = Some(if turner.is_some() { r.opposite() } else { r });
                (f.stance, f.cue) = (Stance::Want, turner.or(Some(phrase)));
            }
        }
    }
    if let Some(n) = neg {
        (f.stance, f.cue) = (Stance::Reject, Some(n));
    }
    if asked && f.stance == Stance::Unmarked {
        (f.stance, f.cue) = (Stance::Want, Some("?"));
    }
    f
}

/// A trimmed run of words: token indices of its first and last word.
struct Trimmed {
    words: Option<(usize, usize)>,
    marker: Option<&'static str>,
}

/// Trims articles, fillers and politeness from both ends of `a..b`.
fn trim(tokens: &[Token], a: usize, b: usize) -> Trimmed {
    let idx: Vec<usize> = (a..b)
        .filter(|&i| tokens.get(i).is_some_and(|t| t.word().is_some()))
        .collect();
    let words: Vec<&str> = idx
        .iter()
        .filter_map(|&i| tokens.get(i).and_then(Token::word))
        .collect();
    let (mut lo, mut hi) = (0, words.len());
    let mut marker = None;
    loop {
        let mut changed = false;
        // The tail first, so that "at all" goes whole before "at" could go as a filler.
        if lo < hi {
            let (n, m) = lexicon::tail_trim(&words[lo..hi]);
            hi -= n;
            marker = marker.or(m);
            changed |= n > 0;
        }
        if lo < hi {
            let n =
                lexicon::lead_trim(&words[lo..hi]).max(usize::from(lexicon::is_filler(words[lo])));
            lo += n;
            changed |= n > 0;
        }
        if !changed {
            break;
        }
    }
    if lo < hi && lexicon::is_pronoun(&words[lo..hi]) {
        lo = hi;
    }
    let words = (lo < hi).then(|| (idx[lo], idx[hi - 1]));
    Trimmed { words, marker }
}

/// Are all words of the (inclusive) token range evaluative ("good", "my thing")?
fn evaluative(tokens: &[Token], r: (usize, usize)) -> bool {
    tokens
        .get(r.0..=r.1)
        .unwrap_or(&[])
        .iter()
        .filter_map(Token::word)
        .all(lexicon::is_evaluative)
}

/// Could this uncued phrase be a wish, were a rejection to follow it? Short,
/// without a verb-like word, a pronoun or an evaluation ("a comedy", not
/// "the plot dragged").
fn promotable(tokens: &[Token], r: (usize, usize)) -> bool {
    let words: Vec<&str> = tokens
        .get(r.0..=r.1)
        .unwrap_or(&[])
        .iter()
        .filter_map(Token::word)
        .collect();
    words.len() <= 5
        && words.iter().all(|w| {
            let past = w.len() > 3 && w.ends_with("ed");
            let subject = matches!(
                *w,
                "i" | "you" | "he" | "she" | "we" | "they" | "it" | "has" | "had" | "have"
            );
            !(past || subject || lexicon::is_copula(w) || lexicon::is_evaluative(w))
        })
}

/// Byte span of the words and emoji in the token range `a..b`.
fn bytes(tokens: &[Token], a: usize, b: usize) -> Option<Range<usize>> {
    let run = tokens.get(a..b)?;
    let mut seen = run.iter().filter(|t| !matches!(t.class, Class::Punct(_)));
    let first = seen.next()?;
    let last = seen.next_back().unwrap_or(first);
    Some(first.span.start..last.span.end)
}

/// Turns one segment into a reading; `None` when it says nothing.
fn resolve(tokens: &[Token], seg: &Seg, question: bool) -> Option<Reading> {
    let span = bytes(tokens, seg.start, seg.end)?;
    let word_span = |r: (usize, usize)| bytes(tokens, r.0, r.1 + 1);
    let Some(first) = seg.chain.first() else {
        let t = trim(tokens, seg.start, seg.end);
        let words = t.words?;
        return Some(Reading {
            stance: if t.marker.is_some() {
                Stance::Want
            } else {
                Stance::Unmarked
            },
            relative: None,
            cue: t.marker,
            sentiment: None,
            span,
            target: word_span(words),
            tag: false,
            promotable: t.marker.is_none() && promotable(tokens, words),
        });
    };
    let f = fold(tokens, &seg.chain, question);
    let chain_end = seg.chain.last().map_or(seg.start, |h| h.end);
    let scope = match first.inside() {
        Some((a, b)) => trim(tokens, a, b),
        None => trim(tokens, chain_end, seg.end),
    };
    let subject = seg.subject.map(|(a, b)| trim(tokens, a, b));
    let mut target = match (&subject, seg.post) {
        (Some(s), true) => s.words,
        (Some(s), false) => match scope.words {
            Some(w) if !evaluative(tokens, w) => Some(w),
            _ => s.words,
        },
        (None, _) => scope.words,
    };
    if subject.is_none() && target.is_some_and(|w| evaluative(tokens, w)) {
        target = None; // "not good", "not bad at all": a verdict, not a concept
    }
    let mut relative = f.relative;
    if relative.is_none() && target.is_none() && f.more && f.stance == Stance::Want {
        relative = Some(Relative::MoreOfHistory); // "more please", "show me more"
    }
    if target.is_none() && relative.is_none() {
        let sign = match f.stance {
            Stance::Want => 1.0,
            Stance::Reject => -1.0,
            Stance::Unmarked => return None,
        };
        return Some(Reading {
            stance: Stance::Unmarked,
            relative: None,
            cue: f.cue,
            sentiment: Some(sign),
            span,
            target: None,
            tag: true,
            promotable: false,
        });
    }
    Some(Reading {
        stance: f.stance,
        relative,
        cue: f.cue,
        sentiment: None,
        span,
        target: target.and_then(word_span),
        tag: false,
        promotable: false,
    })
}
