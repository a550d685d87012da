//! Cue tables as data: for each language, the phrases that reject, wish,
//! negate or point at the history, where they stand relative to their target,
//! and the small word lists used to trim targets. Phrases are written as
//! people type them and tokenised once, with the same tokeniser as the text.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::words::{tokenize, Token};
use super::Relative;

/// What a cue does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A wish: "want", "give me", "love".
    Want,
    /// "more": a wish, or "more like these" when nothing follows it.
    More,
    /// A rejection that keeps its force in questions: "without", "tired of".
    Reject,
    /// "too": a rejection that a negation does not turn ("not too long").
    Excess,
    /// A plain negator: "no", "not", "keine", "pas"; it turns what follows.
    Neg,
    /// A negative word that only counts right after a negator ("not bad").
    Flip,
    /// A pointer at the profile's history.
    Rel(Relative),
    /// An aside that says nothing about any target ("I don't know", "no sé").
    Aside,
}

/// Where a cue's target lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Before its target; ignored when nothing follows ("more", "too").
    Pre,
    /// Before its target, or after it when nothing follows ("horror, no").
    Either,
    /// After its target ("not for me", "no thanks").
    Post,
    /// A verb that only counts at the clause's lead ("I love …", not "a love story").
    Lead,
    /// Only as the very first words of a clause (French "plus de").
    Start,
    /// Only right after a negator ("not bad", "don't mind").
    AfterNeg,
    /// Opens a frame closed by one of `close` within `gap` words: "keep X away",
    /// "ne … pas". The target is inside the frame when `inside`, else after it.
    Around {
        close: &'static [&'static str],
        gap: usize,
        inside: bool,
    },
}

/// One cue phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cue {
    /// As written, and as reported in [`super::Clause::cue`].
    pub phrase: &'static str,
    /// What it does.
    pub kind: Kind,
    /// Where its target is.
    pub place: Place,
}

const fn c(phrase: &'static str, kind: Kind, place: Place) -> Cue {
    Cue {
        phrase,
        kind,
        place,
    }
}

use Kind::{Aside, Excess, Flip, More, Neg, Reject, Want};
use Place::{AfterNeg, Either, Lead, Post, Pre, Start};

const MORE_OF: Kind = Kind::Rel(Relative::MoreOfHistory);
const OTHER: Kind = Kind::Rel(Relative::DifferentFromHistory);
const NE_CLOSE: &[&str] = &["pas", "plus", "jamais", "rien", "guère", "point"];

/// English negators and rejections.
#[rustfmt::skip]
const EN_REJECT: &[Cue] = &[
    c("no", Neg, Either), c("not", Neg, Either), c("never", Neg, Pre), c("nothing", Neg, Pre),
    c("none", Neg, Pre), c("don't", Neg, Pre), c("dont", Neg, Pre), c("do not", Neg, Pre),
    c("doesn't", Neg, Pre), c("doesnt", Neg, Pre), c("does not", Neg, Pre), c("didn't", Neg, Pre),
    c("didnt", Neg, Pre), c("did not", Neg, Pre), c("won't", Neg, Pre), c("wouldn't", Neg, Pre),
    c("would not", Neg, Pre), c("isn't", Neg, Pre), c("aren't", Neg, Pre), c("wasn't", Neg, Pre),
    c("weren't", Neg, Pre), c("ain't", Neg, Pre), c("don't like", Reject, Pre),
    c("do not like", Reject, Pre), c("don't want", Reject, Pre), c("do not want", Reject, Pre),
    c("don't need", Reject, Pre), c("don't care for", Reject, Pre), c("don't enjoy", Reject, Pre),
    c("doesn't interest me", Reject, Post), c("without", Reject, Pre), c("except", Reject, Pre),
    c("except for", Reject, Pre), c("excluding", Reject, Pre), c("other than", Reject, Pre),
    c("apart from", Reject, Pre), c("aside from", Reject, Pre), c("anything but", Reject, Pre),
    c("anything except", Reject, Pre), c("everything except", Reject, Pre),
    c("everything but", Reject, Pre), c("all except", Reject, Pre), c("instead of", Reject, Pre),
    c("rather than", Reject, Pre), c("minus", Reject, Pre), c("nothing with", Reject, Pre),
    c("nothing about", Reject, Pre), c("none of", Reject, Pre), c("no more", Reject, Either),
    c("not any more", Reject, Pre), c("not anymore", Reject, Pre), c("enough of", Reject, Pre),
    c("enough with", Reject, Pre), c("had enough of", Reject, Pre), c("tired of", Reject, Pre),
    c("sick of", Reject, Pre), c("sick and tired of", Reject, Pre), c("fed up with", Reject, Pre),
    c("bored of", Reject, Pre), c("bored with", Reject, Pre), c("not a fan of", Reject, Pre),
    c("not into", Reject, Pre), c("not interested in", Reject, Pre),
    c("no interest in", Reject, Pre), c("can't stand", Reject, Pre), c("cant stand", Reject, Pre),
    c("cannot stand", Reject, Pre), c("can not stand", Reject, Pre), c("can't bear", Reject, Pre),
    c("cannot bear", Reject, Pre), c("can't take", Reject, Pre), c("skip", Reject, Lead),
    c("avoid", Reject, Lead), c("hate", Reject, Lead), c("hated", Reject, Lead),
    c("dislike", Reject, Lead), c("disliked", Reject, Lead), c("detest", Reject, Lead),
    c("loathe", Reject, Lead),
    c("keep", Reject, Place::Around { close: &["away", "out"], gap: 8, inside: true }),
    c("stop showing", Reject, Lead), c("stop showing me", Reject, Lead),
    c("stop recommending", Reject, Lead), c("stop suggesting", Reject, Lead),
    c("spare me", Reject, Lead), c("get rid of", Reject, Lead), c("exclude", Reject, Lead),
    c("remove", Reject, Lead), c("hide", Reject, Lead), c("filter out", Reject, Lead),
    c("less", Reject, Pre), c("less of", Reject, Pre), c("fewer", Reject, Pre),
    c("too", Excess, Pre), c("too much", Excess, Either), c("too many", Excess, Pre),
    c("please no", Reject, Either), c("no please", Reject, Either), c("no thanks", Reject, Post),
    c("no thank you", Reject, Post), c("not for me", Reject, Post), c("not my thing", Reject, Post),
    c("not my cup of tea", Reject, Post), c("not my style", Reject, Post),
    c("not my taste", Reject, Post), c("not my genre", Reject, Post), c("no way", Reject, Either),
    c("nope", Reject, Either), c("nah", Reject, Either), c("hard pass", Reject, Post),
    c("pass", Reject, Post), c("is a no", Reject, Post), c("are a no", Reject, Post),
    c("a hard no", Reject, Post), c("not interested", Reject, Post),
    c("not really", Reject, Either), c("thumbs down", Reject, Post), c("meh", Reject, Post),
    c("say no to", Reject, Pre), c("done with", Reject, Pre),
    c("what i don't want is", Reject, Pre), c("what i do not want is", Reject, Pre),
    c("isn't for me", Reject, Post), c("is not for me", Reject, Post),
    c("aren't for me", Reject, Post), c("are not for me", Reject, Post),
];

/// English wishes, and reactions that approve.
#[rustfmt::skip]
const EN_WANT: &[Cue] = &[
    c("don't mind", Want, Pre), c("do not mind", Want, Pre), c("wouldn't mind", Want, Pre),
    c("what i want is", Want, Pre), c("a big fan of", Want, Lead), c("a huge fan of", Want, Lead),
    c("much of a fan of", Want, Lead), c("couldn't put it down", Want, Post),
    c("could not put it down", Want, Post), c("can't put it down", Want, Post),
    c("couldn't stop reading", Want, Post), c("couldn't stop watching", Want, Post),
    c("can't recommend it enough", Want, Post), c("just", Want, Lead), c("want", Want, Lead),
    c("wanna", Want, Lead), c("i want", Want, Lead), c("need", Want, Lead), c("like", Want, Lead),
    c("i like", Want, Lead), c("love", Want, Lead), c("i love", Want, Lead), c("loved", Want, Lead),
    c("liked", Want, Lead), c("enjoy", Want, Lead), c("enjoyed", Want, Lead),
    c("prefer", Want, Lead), c("i'd like", Want, Lead), c("i would like", Want, Lead),
    c("would like", Want, Lead), c("i'd love", Want, Lead), c("would love", Want, Lead),
    c("fancy", Want, Lead), c("craving", Want, Lead), c("looking for", Want, Lead),
    c("searching for", Want, Lead), c("in the mood for", Want, Lead), c("give me", Want, Lead),
    c("gimme", Want, Lead), c("show me", Want, Lead), c("find me", Want, Lead),
    c("recommend", Want, Lead), c("suggest", Want, Lead), c("how about", Want, Lead),
    c("what about", Want, Lead), c("interested in", Want, Lead), c("into", Want, Lead),
    c("a fan of", Want, Lead), c("can't wait for", Want, Lead),
    c("can't get enough of", Want, Lead), c("is there", Want, Lead), c("are there", Want, Lead),
    c("do you have", Want, Lead), c("have you got", Want, Lead), c("got any", Want, Lead),
    c("only", Want, Lead), c("nothing but", Want, Pre), c("not only", Want, Pre),
    c("not just", Want, Pre), c("why not", Want, Pre), c("more", More, Pre), c("yes", Want, Post),
    c("yes please", Want, Post), c("yeah", Want, Post), c("yep", Want, Post),
    c("thumbs up", Want, Post),
];

/// English words that only count after a negator, asides, and pointers at the history.
#[rustfmt::skip]
const EN_OTHER: &[Cue] = &[
    c("don't know", Aside, Pre), c("dunno", Aside, Pre), c("not sure", Aside, Pre),
    c("no idea", Aside, Pre), c("i guess", Aside, Pre), c("not what i expected", Aside, Pre),
    c("not what i was expecting", Aside, Pre), c("don't know what i want", Aside, Pre),
    c("no idea what i want", Aside, Pre), c("surprise me", OTHER, Pre), c("bad", Flip, AfterNeg),
    c("that bad", Flip, AfterNeg), c("so bad", Flip, AfterNeg), c("terrible", Flip, AfterNeg),
    c("awful", Flip, AfterNeg), c("horrible", Flip, AfterNeg), c("boring", Flip, AfterNeg),
    c("dull", Flip, AfterNeg), c("mind", Flip, AfterNeg), c("against", Flip, AfterNeg),
    c("opposed to", Flip, AfterNeg), c("disappointed", Flip, AfterNeg),
    c("disappointing", Flip, AfterNeg), c("complaints", Flip, AfterNeg),
    c("regrets", Flip, AfterNeg), c("a dull moment", Flip, AfterNeg),
    c("a single dull moment", Flip, AfterNeg), c("without a doubt", Aside, Pre),
    c("no doubt", Aside, Pre), c("not like other", Aside, Pre), c("unlike other", Aside, Pre),
    c("no wonder", Aside, Pre), c("more like these", MORE_OF, Pre),
    c("more like this", MORE_OF, Pre), c("more like that", MORE_OF, Pre),
    c("more like it", MORE_OF, Pre), c("more like them", MORE_OF, Pre),
    c("more of these", MORE_OF, Pre), c("more of this", MORE_OF, Pre),
    c("more of that", MORE_OF, Pre), c("more of the same", MORE_OF, Pre),
    c("more of this kind", MORE_OF, Pre), c("more of that kind", MORE_OF, Pre),
    c("more of those", MORE_OF, Pre), c("same again", MORE_OF, Pre), c("the same", MORE_OF, Pre),
    c("similar", MORE_OF, Pre), c("something similar", MORE_OF, Pre),
    c("something like this", MORE_OF, Pre), c("something like these", MORE_OF, Pre),
    c("like these", MORE_OF, Pre), c("like this", MORE_OF, Pre), c("like those", MORE_OF, Pre),
    c("another one", MORE_OF, Pre), c("something else", OTHER, Pre),
    c("something different", OTHER, Pre), c("anything else", OTHER, Pre),
    c("something new", OTHER, Pre), c("different", OTHER, Pre), c("different ones", OTHER, Pre),
    c("other stuff", OTHER, Pre), c("other things", OTHER, Pre), c("something other", OTHER, Pre),
];

/// French.
#[rustfmt::skip]
const FR: &[Cue] = &[
    c("pas", Neg, Either), c("pas de", Neg, Pre), c("jamais", Neg, Pre), c("aucun", Neg, Pre),
    c("aucune", Neg, Pre), c("non", Neg, Either),
    c("ne", Neg, Place::Around { close: NE_CLOSE, gap: 3, inside: false }),
    c("n'", Neg, Place::Around { close: NE_CLOSE, gap: 3, inside: false }),
    c("ne", Want, Place::Around { close: &["que", "qu'"], gap: 3, inside: false }),
    c("n'", Want, Place::Around { close: &["que", "qu'"], gap: 3, inside: false }),
    c("n'aime pas", Reject, Pre), c("n'aime plus", Reject, Pre), c("rien de", Reject, Pre),
    c("sans", Reject, Pre), c("sauf", Reject, Pre), c("à part", Reject, Pre),
    c("excepté", Reject, Pre), c("hormis", Reject, Pre), c("plus de", Reject, Start),
    c("plus jamais", Reject, Pre), c("plus jamais de", Reject, Pre), c("assez de", Reject, Pre),
    c("j'en ai assez", Reject, Pre), c("en ai assez", Reject, Pre), c("j'en ai marre", Reject, Pre),
    c("marre de", Reject, Pre), c("marre des", Reject, Pre), c("ras le bol de", Reject, Pre),
    c("déteste", Reject, Lead), c("évite", Reject, Lead), c("éviter", Reject, Lead),
    c("moins de", Reject, Pre), c("trop", Excess, Pre), c("non merci", Reject, Post),
    c("pas pour moi", Reject, Post), c("pas mon truc", Reject, Post),
    c("pas mon genre", Reject, Post), c("mal", Flip, AfterNeg), c("mauvais", Flip, AfterNeg),
    c("nul", Flip, AfterNeg), c("ennuyeux", Flip, AfterNeg), c("dérange", Flip, AfterNeg),
    c("veux", Want, Lead), c("je veux", Want, Lead), c("voudrais", Want, Lead),
    c("aimerais", Want, Lead), c("aime", Want, Lead), c("adore", Want, Lead),
    c("cherche", Want, Lead), c("envie de", Want, Lead), c("donne-moi", Want, Lead),
    c("donnez-moi", Want, Lead), c("montre-moi", Want, Lead), c("montrez-moi", Want, Lead),
    c("seulement", Want, Lead), c("pas seulement", Want, Pre), c("non seulement", Want, Pre),
    c("surprends-moi", OTHER, Pre), c("uniquement", Want, Lead), c("que des", Want, Start),
    c("encore", More, Pre), c("oui", Want, Post), c("ne sais pas", Aside, Pre),
    c("sais pas", Aside, Pre), c("autre chose", OTHER, Pre), c("quelque chose d'autre", OTHER, Pre),
    c("quelque chose de différent", OTHER, Pre), c("différent", OTHER, Pre),
    c("pareil", MORE_OF, Pre), c("la même chose", MORE_OF, Pre), c("comme ça", MORE_OF, Pre),
    c("plus comme ça", MORE_OF, Pre), c("du même genre", MORE_OF, Pre),
];

/// German.
#[rustfmt::skip]
const DE: &[Cue] = &[
    c("kein", Neg, Pre), c("keine", Neg, Pre), c("keinen", Neg, Pre), c("keinem", Neg, Pre),
    c("keiner", Neg, Pre), c("keines", Neg, Pre), c("nicht", Neg, Either), c("nie", Neg, Pre),
    c("niemals", Neg, Pre), c("nein", Neg, Either), c("ohne", Reject, Pre), c("außer", Reject, Pre),
    c("ausser", Reject, Pre), c("bis auf", Reject, Pre), c("nicht schon wieder", Reject, Pre),
    c("genug von", Reject, Pre), c("genug mit", Reject, Pre), c("hasse", Reject, Lead),
    c("vermeide", Reject, Lead), c("weniger", Reject, Pre), c("zu", Excess, Start),
    c("nicht mehr", Reject, Pre), c("bloß nicht", Reject, Either), c("bitte nicht", Reject, Either),
    c("lieber nicht", Reject, Either), c("nein danke", Reject, Post),
    c("nicht mein ding", Reject, Post), c("nichts mit", Reject, Pre), c("schlecht", Flip, AfterNeg),
    c("übel", Flip, AfterNeg), c("langweilig", Flip, AfterNeg), c("will", Want, Lead),
    c("möchte", Want, Lead), c("hätte gern", Want, Lead), c("hätte gerne", Want, Lead),
    c("mag", Want, Lead), c("liebe", Want, Lead), c("suche", Want, Lead), c("zeig mir", Want, Lead),
    c("zeige mir", Want, Lead), c("gib mir", Want, Lead), c("lust auf", Want, Lead),
    c("nur", Want, Lead), c("nicht nur", Want, Pre), c("überrasch mich", OTHER, Pre),
    c("gibt es", Want, Lead), c("habt ihr", Want, Lead), c("hast du", Want, Lead),
    c("mehr", More, Pre), c("ja", Want, Post), c("ja bitte", Want, Post),
    c("mehr davon", MORE_OF, Pre), c("mehr wie diese", MORE_OF, Pre), c("so etwas", MORE_OF, Pre),
    c("sowas", MORE_OF, Pre), c("ähnliches", MORE_OF, Pre), c("das gleiche", MORE_OF, Pre),
    c("etwas anderes", OTHER, Pre), c("was anderes", OTHER, Pre), c("anderes", OTHER, Pre),
    c("etwas neues", OTHER, Pre), c("weiß nicht", Aside, Pre), c("keine ahnung", Aside, Pre),
];

/// Spanish.
#[rustfmt::skip]
const ES: &[Cue] = &[
    c("nada", Neg, Pre), c("nada de", Reject, Pre), c("ningún", Neg, Pre), c("ninguna", Neg, Pre),
    c("ninguno", Neg, Pre), c("nunca", Neg, Pre), c("jamás", Neg, Pre), c("ni", Neg, Pre),
    c("sin", Reject, Pre), c("excepto", Reject, Pre), c("salvo", Reject, Pre),
    c("menos", Reject, Pre), c("ya no más", Reject, Pre), c("ya no mas", Reject, Pre),
    c("no más", Reject, Either), c("no mas", Reject, Either), c("nunca más", Reject, Pre),
    c("basta de", Reject, Pre), c("harto de", Reject, Pre), c("harta de", Reject, Pre),
    c("estoy harto de", Reject, Pre), c("cansado de", Reject, Pre), c("cansada de", Reject, Pre),
    c("odio", Reject, Lead), c("evita", Reject, Lead), c("demasiado", Excess, Pre),
    c("no gracias", Reject, Post), c("no para mí", Reject, Post), c("no es lo mío", Reject, Post),
    c("no es para mí", Reject, Post), c("mal", Flip, AfterNeg), c("malo", Flip, AfterNeg),
    c("mala", Flip, AfterNeg), c("aburrido", Flip, AfterNeg), c("aburrida", Flip, AfterNeg),
    c("me molesta", Flip, AfterNeg), c("me molestan", Flip, AfterNeg), c("quiero", Want, Lead),
    c("quisiera", Want, Lead), c("me gustaría", Want, Lead), c("me gusta", Want, Lead),
    c("me gustan", Want, Lead), c("me encanta", Want, Lead), c("me encantan", Want, Lead),
    c("busco", Want, Lead), c("dame", Want, Lead), c("muéstrame", Want, Lead),
    c("muestrame", Want, Lead), c("solo", Want, Lead), c("sólo", Want, Lead),
    c("no solo", Want, Pre), c("no sólo", Want, Pre), c("sorpréndeme", OTHER, Pre),
    c("hay", Want, Lead), c("tienes", Want, Lead), c("más", More, Pre), c("mas", More, Pre),
    c("sí", Want, Post), c("algo diferente", OTHER, Pre), c("algo distinto", OTHER, Pre),
    c("otra cosa", OTHER, Pre), c("algo nuevo", OTHER, Pre), c("algo parecido", MORE_OF, Pre),
    c("algo similar", MORE_OF, Pre), c("más como estos", MORE_OF, Pre),
    c("más de lo mismo", MORE_OF, Pre), c("lo mismo", MORE_OF, Pre),
    c("tengo ganas de", Want, Lead), c("ganas de", Want, Lead), c("no sé", Aside, Pre),
    c("no se", Aside, Pre), c("ni idea", Aside, Pre),
];

/// Every cue table.
const TABLES: [&[Cue]; 6] = [EN_REJECT, EN_WANT, EN_OTHER, FR, DE, ES];

/// Words that may stand before a lead verb or between chained cues without
/// counting as content: pronouns, auxiliaries, adverbs, politeness.
#[rustfmt::skip]
const LEAD_FILLERS: &[&str] = &[
    "i", "i'm", "im", "i'd", "i've", "i'll", "we", "we'd", "we're", "you", "me", "really", "just",
    "also", "still", "honestly", "actually", "so", "truly", "definitely", "totally", "absolutely",
    "kinda", "oh", "well", "ok", "okay", "hmm", "hey", "hi", "please", "pls", "plz", "to", "would",
    "could", "do", "does", "did", "am", "have", "has", "had", "can", "will", "might", "much",
    "particularly", "especially", "at", "least", "now", "then", "personally", "seriously", "je",
    "j'", "on", "nous", "moi", "vraiment", "en", "ai", "suis", "svp", "s'", "il", "vous", "te",
    "plaît", "plait", "ich", "wir", "bitte", "wirklich", "echt", "gerne", "gern", "halt", "mal",
    "eigentlich", "habe", "hab", "bin", "yo", "realmente", "ya", "por", "favor", "estoy", "tengo",
    "también", "aussi", "auch", "denn", "doch", "dann", "rather", "way", "far", "slightly",
    "somewhat", "think", "mean", "suppose", "it", "it's", "its", "that's", "they're", "c'est",
];

/// Words and phrases trimmed from the front of a target.
#[rustfmt::skip]
const LEAD_TRIM: &[&str] = &[
    "the", "a", "an", "le", "la", "les", "l'", "un", "une", "des", "du", "de", "d'", "der", "die",
    "das", "den", "dem", "ein", "eine", "einen", "einem", "einer", "el", "los", "las", "lo", "unos",
    "unas", "del", "al", "a bit", "a little", "a tad", "a lot", "some", "any", "more", "something",
    "anything", "stuff", "of", "with", "about", "for", "on", "to", "from", "see", "watch", "read",
    "try", "get", "and", "or", "that", "which", "such", "maybe", "perhaps", "etwas", "was",
    "irgendwas", "mit", "von", "quelque", "chose", "avec", "algo", "con", "sobre", "mir", "mich",
    "plus", "again", "schon", "wieder", "these", "those", "kind", "sort", "type", "any more",
    "anymore", "voir", "regarder", "lire", "ver", "leer",
];

/// Phrases trimmed from the end of a target (single words included).
#[rustfmt::skip]
const TAIL_TRIM: &[&str] = &[
    "please", "pls", "plz", "thanks", "thx", "ty", "thank you", "thanks a lot", "bitte", "danke",
    "merci", "svp", "s'il vous plaît", "s'il vous plait", "s'il te plaît", "por favor", "gracias",
    "lol", "again", "anymore", "any more", "at all", "either", "too", "also", "as well", "instead",
    "rather", "though", "anyway", "now", "right now", "for now", "today", "tonight", "then",
    "for me", "from me", "to me", "from these", "from those", "from this", "from that",
    "than these", "than those", "than this", "than that", "than before", "is", "are", "was", "were",
    "be", "ist", "sind", "est", "sont", "fue", "mehr", "más", "mas",
    "plus", "ever", "okay", "ok", "mag ich", "will ich", "möchte ich", "nunca más", "de nuevo",
    "otra vez", "nochmal", "noch mal", "du tout", "en absoluto", "überhaupt", "stattdessen",
    "plutôt", "you", "ones", "away", "that", "which", "who", "whatsoever", "sehen", "lesen",
    "schauen", "gucken", "whatever",
];

/// Trimmed phrases that turn an uncued clause into a wish ("comedies please").
#[rustfmt::skip]
pub(crate) const WISH_MARKERS: &[&str] = &[
    "please", "pls", "plz", "bitte", "svp", "s'il vous plaît", "s'il vous plait", "s'il te plaît",
    "por favor", "instead", "rather", "stattdessen", "plutôt",
];

/// Pronouns that, alone, are no concept ("I hate it").
#[rustfmt::skip]
const PRONOUNS: &[&str] = &[
    "it", "them", "this", "that", "these", "those", "one", "ones", "this one", "that one", "ça",
    "cela", "ceci", "es", "eso", "esto", "they", "him", "her",
];

/// Linking verbs: "X is not my thing" puts the target before the negation.
/// (German "war", Spanish "son" / "era" are left out: they are English
/// concepts — "war films", "son", "the 80s era" — far more often.)
#[rustfmt::skip]
const COPULAS: &[&str] = &[
    "is", "are", "was", "were", "be", "been", "seems", "seemed", "feels", "felt", "looks", "ist",
    "sind", "waren", "est", "sont", "était", "fue", "'s", "isn't",
    "aren't", "wasn't", "weren't", "ain't",
];

/// Evaluative words: a rejection or wish over only these is pure sentiment
/// ("not good") or a verdict on the subject ("the plot was not good").
#[rustfmt::skip]
const EVALUATIVE: &[&str] = &[
    "good", "great", "nice", "fine", "interesting", "fun", "amazing", "excellent", "awesome",
    "cool", "enjoyable", "worth", "special", "best", "perfect", "favourite", "favorite", "it", "my",
    "thing", "for", "me", "cup", "of", "tea", "style", "taste", "very", "so", "that", "really",
    "quite", "particularly", "bad", "terrible", "awful", "horrible", "boring", "dull", "gut",
    "toll", "super", "schlecht", "bon", "bien", "génial", "mal", "mauvais", "nul", "bueno", "buena",
    "genial", "malo", "mala", "okay", "ok",
];

/// Clause-opening answers dropped when more follows ("no, I want horror").
#[rustfmt::skip]
pub(crate) const BARE_ANSWERS: &[&str] =
    &["no", "nope", "nah", "nein", "non", "yes", "yeah", "yep", "oui", "ja", "sí", "si", "ok", "okay"];

/// Words that, opening a clause after a contrast, continue a wish
/// ("not only comedies but also dramas").
pub(crate) const ALSO: &[&str] = &["also", "too", "auch", "aussi", "también"];

/// Cues that announce a second wish after a contrast ("not only X but Y").
#[rustfmt::skip]
pub(crate) const NOT_ONLY: &[&str] = &[
    "not only", "not just", "pas seulement", "non seulement", "nicht nur", "no solo", "no sólo",
];

/// A phrase, tokenised.
type Words = Vec<String>;

/// The tables, tokenised and indexed once.
struct Index {
    /// First word → (words, cue), longest first.
    cues: HashMap<String, Vec<(Words, &'static Cue)>>,
    fillers: HashSet<String>,
    lead_trim: Vec<Words>,
    tail_trim: Vec<(Words, Option<&'static str>)>,
    pronouns: Vec<Words>,
    copulas: HashSet<String>,
    evaluative: HashSet<String>,
}

fn words_of(phrase: &str) -> Words {
    tokenize(phrase, 16).into_iter().map(|t| t.norm).collect()
}

/// The lookup index of the constant cue tables, derived once. It is immutable
/// (a memo of compile-time data, not state), so every caller sees the same.
fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut cues: HashMap<String, Vec<(Words, &'static Cue)>> = HashMap::new();
        for cue in TABLES.into_iter().flatten() {
            let words = words_of(cue.phrase);
            if let Some(first) = words.first() {
                cues.entry(first.clone()).or_default().push((words, cue));
            }
        }
        for list in cues.values_mut() {
            list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
        let set = |l: &[&str]| {
            l.iter()
                .map(|w| words_of(w).concat())
                .collect::<HashSet<_>>()
        };
        let phrases = |l: &[&str]| {
            let mut v: Vec<Words> = l
                .iter()
                .map(|w| words_of(w))
                .filter(|w| !w.is_empty())
                .collect();
            v.sort_by_key(|w| std::cmp::Reverse(w.len()));
            v
        };
        Index {
            cues,
            fillers: set(LEAD_FILLERS),
            lead_trim: phrases(LEAD_TRIM),
            tail_trim: phrases(TAIL_TRIM)
                .into_iter()
                .map(|p| {
                    let marker = WISH_MARKERS.iter().copied().find(|m| words_of(m) == p);
                    (p, marker)
                })
                .collect(),
            pronouns: phrases(PRONOUNS),
            copulas: set(COPULAS),
            evaluative: set(EVALUATIVE),
        }
    })
}

/// A cue found in the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// The cue.
    pub cue: &'static Cue,
    /// Token index just past the cue (past the closing word for a frame).
    pub end: usize,
    /// For a frame, the token range between its opening and closing words.
    pub gap: Option<(usize, usize)>,
}

/// Does `words` occur at token `at`, reading words only (tokens before `limit`)?
fn matches_at(tokens: &[Token], at: usize, limit: usize, words: &[String]) -> bool {
    words.len() <= limit.saturating_sub(at)
        && words
            .iter()
            .enumerate()
            .all(|(k, w)| tokens.get(at + k).and_then(Token::word) == Some(w.as_str()))
}

/// The longest cue starting at token `at` and ending before `limit`; fixed
/// phrases are preferred to frames.
pub(crate) fn cue_at(tokens: &[Token], at: usize, limit: usize) -> Option<Found> {
    let first = tokens.get(at)?.word()?;
    let list = index().cues.get(first)?;
    let mut frame = None;
    for (words, cue) in list {
        match cue.place {
            Place::Around { close, gap, inside } => {
                if frame.is_some() {
                    continue;
                }
                let from = at + words.len();
                let stop = limit.min(from + gap + 1);
                for k in from..stop {
                    let w = tokens.get(k).and_then(Token::word);
                    if w.is_some_and(|w| close.contains(&w)) && (k > from || !inside) {
                        frame = Some(Found {
                            cue,
                            end: k + 1,
                            gap: Some((from, k)),
                        });
                        break;
                    }
                    if w.is_none() {
                        break;
                    }
                }
            }
            _ if matches_at(tokens, at, limit, words) => {
                return Some(Found {
                    cue,
                    end: at + words.len(),
                    gap: None,
                });
            }
            _ => {}
        }
    }
    frame
}

/// Is this normalised word a filler that may precede a lead verb?
pub(crate) fn is_filler(word: &str) -> bool {
    index().fillers.contains(word)
}

/// Is this normalised word a linking verb?
pub(crate) fn is_copula(word: &str) -> bool {
    index().copulas.contains(word)
}

/// Is this normalised word evaluative (good, bad, my thing …)?
pub(crate) fn is_evaluative(word: &str) -> bool {
    index().evaluative.contains(word)
}

/// Length in words of a leading-trim phrase at the front of `words`.
pub(crate) fn lead_trim(words: &[&str]) -> usize {
    longest_prefix(&index().lead_trim, words)
}

/// Length in words of a tail-trim phrase at the end of `words`, and the
/// phrase when it marks a wish.
pub(crate) fn tail_trim(words: &[&str]) -> (usize, Option<&'static str>) {
    for (phrase, marker) in &index().tail_trim {
        let n = phrase.len();
        if n <= words.len()
            && words[words.len() - n..]
                .iter()
                .zip(phrase)
                .all(|(a, b)| *a == b)
        {
            return (n, *marker);
        }
    }
    (0, None)
}

/// Are these words, as a whole, only a pronoun ("it", "this one")?
pub(crate) fn is_pronoun(words: &[&str]) -> bool {
    index()
        .pronouns
        .iter()
        .any(|p| p.len() == words.len() && p.iter().zip(words).all(|(a, b)| a == b))
}

fn longest_prefix(phrases: &[Words], words: &[&str]) -> usize {
    phrases
        .iter()
        .find(|p| p.len() <= words.len() && p.iter().zip(words).all(|(a, b)| a == b))
        .map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_tokenises_to_words() {
        for cue in TABLES.into_iter().flatten() {
            assert!(!words_of(cue.phrase).is_empty(), "{}", cue.phrase);
        }
        assert_eq!(words_of("j'en ai assez"), ["j'", "en", "ai", "assez"]);
    }

    #[test]
    fn longest_cue_wins() {
        let toks = tokenize("no more like these", 10);
        let found = cue_at(&toks, 0, toks.len());
        assert_eq!(found.map(|f| f.cue.phrase), Some("no more"));
        let found = cue_at(&toks, 1, toks.len());
        assert_eq!(found.map(|f| f.cue.phrase), Some("more like these"));
    }

    #[test]
    fn frames_close_within_their_gap() {
        let toks = tokenize("keep the frightening films away from me", 20);
        let found = cue_at(&toks, 0, toks.len());
        assert_eq!(found.map(|f| (f.end, f.gap)), Some((5, Some((1, 4)))));
        let toks = tokenize("je n'aime pas les comédies", 20);
        assert_eq!(
            cue_at(&toks, 1, toks.len()).map(|f| f.cue.phrase),
            Some("n'aime pas")
        );
        let toks = tokenize("je ne veux plus de westerns", 20);
        assert_eq!(cue_at(&toks, 1, toks.len()).map(|f| f.end), Some(4));
    }
}
