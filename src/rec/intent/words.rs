//! Tokeniser: text → words, punctuation and emoji, each with its byte span in
//! the original text and a normalised (lower-case, plain apostrophe) form.

use std::ops::Range;

/// How an emoji or emoticon leans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mood {
    /// 👍, ❤️, 😍, ":)" …
    Positive,
    /// 👎, 🙅, 🚫, ":(" …
    Negative,
    /// Any other emoji: neither a concept nor a cue.
    Neutral,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Letters, digits and marks, with inner apostrophes and hyphens.
    Word,
    /// A punctuation mark that may end or split a clause ('\n' included).
    Punct(char),
    /// An emoji (with its modifiers) or an emoticon; the name is a display form.
    Emoji(Mood, &'static str),
}

/// One token of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Normalised form: lower case, apostrophes as `'`, hyphens as `-`.
    pub norm: String,
    /// Byte range in the original text (always on char boundaries).
    pub span: Range<usize>,
    /// Kind of token.
    pub class: Class,
}

impl Token {
    /// The normalised word, or `None` for punctuation and emoji.
    pub fn word(&self) -> Option<&str> {
        (self.class == Class::Word).then_some(self.norm.as_str())
    }
}

/// French (and Italian) elided articles and pronouns, split off the word they
/// lean on so that "d'horreur" reads as "d'" + "horreur".
const ELISIONS: [&str; 12] = [
    "l'", "d'", "j'", "n'", "m'", "t'", "s'", "c'", "qu'", "jusqu'", "lorsqu'", "puisqu'",
];

/// Emoji with a clear lean, with the name shown as the cue.
const MOODS: &[(char, Mood, &str)] = &[
    ('\u{1F44D}', Mood::Positive, "👍"),
    ('\u{2764}', Mood::Positive, "❤️"),
    ('\u{2665}', Mood::Positive, "♥"),
    ('\u{1F60D}', Mood::Positive, "😍"),
    ('\u{1F970}', Mood::Positive, "🥰"),
    ('\u{1F4AF}', Mood::Positive, "💯"),
    ('\u{1F44C}', Mood::Positive, "👌"),
    ('\u{1F64C}', Mood::Positive, "🙌"),
    ('\u{1F44F}', Mood::Positive, "👏"),
    ('\u{1F60A}', Mood::Positive, "😊"),
    ('\u{1F642}', Mood::Positive, "🙂"),
    ('\u{1F600}', Mood::Positive, "😀"),
    ('\u{1F601}', Mood::Positive, "😁"),
    ('\u{1F602}', Mood::Positive, "😂"),
    ('\u{1F603}', Mood::Positive, "😃"),
    ('\u{1F604}', Mood::Positive, "😄"),
    ('\u{1F929}', Mood::Positive, "🤩"),
    ('\u{1F973}', Mood::Positive, "🥳"),
    ('\u{2B50}', Mood::Positive, "⭐"),
    ('\u{1F31F}', Mood::Positive, "🌟"),
    ('\u{1F525}', Mood::Positive, "🔥"),
    ('\u{2705}', Mood::Positive, "✅"),
    ('\u{2714}', Mood::Positive, "✔"),
    ('\u{2713}', Mood::Positive, "✓"),
    ('\u{1F495}', Mood::Positive, "💕"),
    ('\u{1F496}', Mood::Positive, "💖"),
    ('\u{1F497}', Mood::Positive, "💗"),
    ('\u{1F499}', Mood::Positive, "💙"),
    ('\u{1F49A}', Mood::Positive, "💚"),
    ('\u{1F49B}', Mood::Positive, "💛"),
    ('\u{1F49C}', Mood::Positive, "💜"),
    ('\u{1F9E1}', Mood::Positive, "🧡"),
    ('\u{1F44E}', Mood::Negative, "👎"),
    ('\u{1F645}', Mood::Negative, "🙅"),
    ('\u{1F6AB}', Mood::Negative, "🚫"),
    ('\u{274C}', Mood::Negative, "❌"),
    ('\u{274E}', Mood::Negative, "❎"),
    ('\u{26D4}', Mood::Negative, "⛔"),
    ('\u{2717}', Mood::Negative, "✗"),
    ('\u{2718}', Mood::Negative, "✘"),
    ('\u{1F634}', Mood::Negative, "😴"),
    ('\u{1F971}', Mood::Negative, "🥱"),
    ('\u{1F92E}', Mood::Negative, "🤮"),
    ('\u{1F922}', Mood::Negative, "🤢"),
    ('\u{1F612}', Mood::Negative, "😒"),
    ('\u{1F644}', Mood::Negative, "🙄"),
    ('\u{1F620}', Mood::Negative, "😠"),
    ('\u{1F621}', Mood::Negative, "😡"),
    ('\u{1F92C}', Mood::Negative, "🤬"),
    ('\u{1F4A9}', Mood::Negative, "💩"),
    ('\u{1F494}', Mood::Negative, "💔"),
    ('\u{1F61E}', Mood::Negative, "😞"),
    ('\u{1F641}', Mood::Negative, "🙁"),
    ('\u{2639}', Mood::Negative, "☹"),
    ('\u{1F615}', Mood::Negative, "😕"),
];

/// ASCII emoticons, longest first so ":-)" wins over ":-".
const EMOTICONS: &[(&str, Mood)] = &[
    (":'(", Mood::Negative),
    (":-)", Mood::Positive),
    (":-(", Mood::Negative),
    (":-D", Mood::Positive),
    ("</3", Mood::Negative),
    (":)", Mood::Positive),
    (":(", Mood::Negative),
    (":D", Mood::Positive),
    (";)", Mood::Positive),
    ("=)", Mood::Positive),
    ("=(", Mood::Negative),
    ("<3", Mood::Positive),
    (":/", Mood::Negative),
];

/// Punctuation that matters for clause splitting; other symbols are skipped.
fn is_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '…'
            | '—'
            | '–'
            | '-'
            | '('
            | ')'
            | '['
            | ']'
            | '/'
            | '|'
            | '&'
            | '\n'
            | '¿'
            | '¡'
            | '。'
            | '、'
            | '！'
            | '？'
            | '；'
            | '，'
    )
}

/// Combining marks that `char::is_alphanumeric` leaves out; they belong to the
/// word they decorate.
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x0900..=0x0903
        | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF
        | 0x20D0..=0x20DC | 0xFE20..=0xFE2F)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_mark(c)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '‘' | '`' | '´')
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '‐' | '‑')
}

/// Start of an emoji (pictographs, dingbats, arrows, stars, regional flags).
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF
        | 0x2190..=0x21FF | 0x3030 | 0x303D | 0x3297 | 0x3299 | 0x203C | 0x2049)
}

/// Modifiers that continue an emoji: variation selectors, skin tones, tags,
/// the keycap mark. The zero-width joiner is handled apart.
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0x20E3)
}

/// Lower case with one apostrophe and one hyphen.
pub(crate) fn normalise(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if is_apostrophe(c) {
                '\''
            } else if is_hyphen(c) {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// Splits `text` into at most `cap` tokens; whitespace, control characters and
/// other symbols are dropped. Runs in time linear in the text it reads.
pub(crate) fn tokenize(text: &str, cap: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if out.len() >= cap {
            break;
        }
        if is_word_char(c) {
            let mut end = i + c.len_utf8();
            let mut prev = c;
            while let Some(&(j, d)) = chars.peek() {
                let joins = if is_word_char(d) {
                    true
                } else if is_apostrophe(d) || is_hyphen(d) || d == '.' {
                    // Inner joiners only: "can't", "sci-fi", "3.5".
                    let next = text.get(j + d.len_utf8()..).and_then(|s| s.chars().next());
                    match next {
                        Some(n) if d == '.' => prev.is_ascii_digit() && n.is_ascii_digit(),
                        Some(n) => is_word_char(n),
                        None => false,
                    }
                } else {
                    false
                };
                if !joins {
                    break;
                }
                end = j + d.len_utf8();
                prev = d;
                chars.next();
            }
            push_word(text, i..end, &mut out);
        } else if let Some((len, mood)) = emoticon(text, i) {
            out.push(Token {
                norm: String::new(),
                span: i..i + len,
                class: Class::Emoji(mood, emoticon_name(mood)),
            });
            // Skip the rest of the emoticon (all ASCII, one byte per char).
            for _ in 1..len {
                chars.next();
            }
        } else if is_emoji(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if is_emoji_modifier(d) {
                    end = j + d.len_utf8();
                    chars.next();
                } else if d == '\u{200D}' {
                    // A joined sequence (🙅‍♀️): take the joiner and the next pictograph.
                    chars.next();
                    end = j + d.len_utf8();
                    if let Some(&(k, e)) = chars.peek() {
                        if is_emoji(e) {
                            end = k + e.len_utf8();
                            chars.next();
                        }
                    }
                } else {
                    break;
                }
            }
            let (mood, name) = mood_of(c);
            out.push(Token {
                norm: String::new(),
                span: i..end,
                class: Class::Emoji(mood, name),
            });
        } else if is_punct(c) {
            let p = match c {
                '。' | '！' => '.',
                '？' => '?',
                '；' => ';',
                '，' | '、' => ',',
                '–' | '—' => '-',
                other => other,
            };
            out.push(Token {
                norm: p.to_string(),
                span: i..i + c.len_utf8(),
                class: Class::Punct(p),
            });
        }
    }
    out.truncate(cap);
    out
}

/// Pushes one word, split after a French elision ("d'horreur" → "d'", "horreur").
fn push_word(text: &str, span: Range<usize>, out: &mut Vec<Token>) {
    let original = text.get(span.clone()).unwrap_or("");
    let split = original
        .char_indices()
        .find(|&(_, c)| is_apostrophe(c))
        .map(|(k, c)| k + c.len_utf8())
        .filter(|&k| k < original.len())
        .filter(|&k| ELISIONS.contains(&normalise(&original[..k]).as_str()));
    let word = |r: Range<usize>| Token {
        norm: normalise(text.get(r.clone()).unwrap_or("")),
        span: r,
        class: Class::Word,
    };
    match split {
        Some(k) => {
            out.push(word(span.start..span.start + k));
            out.push(word(span.start + k..span.end));
        }
        None => out.push(word(span)),
    }
}

/// An ASCII emoticon starting at byte `i`: its length and mood.
fn emoticon(text: &str, i: usize) -> Option<(usize, Mood)> {
    let rest = text.get(i..)?;
    let (found, mood) = EMOTICONS.iter().find(|(e, _)| rest.starts_with(e))?;
    // ":D" must not be the start of a word ("re:Do").
    let after = rest[found.len()..].chars().next();
    if after.is_some_and(is_word_char) {
        return None;
    }
    Some((found.len(), *mood))
}

fn emoticon_name(mood: Mood) -> &'static str {
    match mood {
        Mood::Positive => ":)",
        Mood::Negative => ":(",
        Mood::Neutral => "",
    }
}

fn mood_of(c: char) -> (Mood, &'static str) {
    MOODS
        .iter()
        .find(|(e, _, _)| *e == c)
        .map_or((Mood::Neutral, ""), |&(_, mood, name)| (mood, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        tokenize(text, 1000).into_iter().map(|t| t.norm).collect()
    }

    #[test]
    fn keeps_inner_apostrophes_and_splits_elisions() {
        assert_eq!(norms("I Can’t stand it"), ["i", "can't", "stand", "it"]);
        assert_eq!(norms("je n'aime pas"), ["je", "n'", "aime", "pas"]);
        assert_eq!(norms("films d'horreur"), ["films", "d'", "horreur"]);
        assert_eq!(norms("sci-fi, 3.5 stars"), ["sci-fi", ",", "3.5", "stars"]);
    }

    #[test]
    fn spans_point_into_the_text() {
        let text = "Ohne HORROR, d'accord 👍🏽";
        for t in tokenize(text, 100) {
            let s = &text[t.span.clone()];
            if t.class == Class::Word {
                assert_eq!(normalise(s), t.norm);
            }
        }
    }

    #[test]
    fn emoji_and_emoticons_have_moods() {
        let toks = tokenize("horror 👎 🙅‍♀️ ❤️ :) 🎬", 100);
        let moods: Vec<_> = toks
            .iter()
            .filter_map(|t| match t.class {
                Class::Emoji(m, _) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(
            moods,
            [
                Mood::Negative,
                Mood::Negative,
                Mood::Positive,
                Mood::Positive,
                Mood::Neutral
            ]
        );
    }

    #[test]
    fn stops_at_the_cap() {
        assert_eq!(tokenize(&"a ".repeat(100), 10).len(), 10);
    }
}
