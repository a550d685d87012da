//! Behaviour tests for [`super::parse`]: one test per rule or tricky case.

use super::*;

/// (stance, lower-cased target) of every clause.
fn read(text: &str) -> Vec<(Stance, String)> {
    parse(text)
        .clauses
        .into_iter()
        .map(|c| (c.stance, c.target.to_lowercase()))
        .collect()
}

/// The single clause of `text`.
fn one(text: &str) -> Clause {
    let p = parse(text);
    assert_eq!(p.clauses.len(), 1, "{text:?} → {p}");
    p.clauses
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!())
}

fn reject(t: &str) -> (Stance, String) {
    (Stance::Reject, t.to_string())
}

fn want(t: &str) -> (Stance, String) {
    (Stance::Want, t.to_string())
}

fn unmarked(t: &str) -> (Stance, String) {
    (Stance::Unmarked, t.to_string())
}

/// Each text reads as exactly the given clauses.
fn check(cases: &[(&str, &[(Stance, String)])]) {
    for (text, expected) in cases {
        assert_eq!(read(text), *expected, "{text:?} → {}", parse(text));
    }
}

#[test]
fn no_x_please_rejects_the_bare_concept() {
    check(&[
        ("no horror please", &[reject("horror")]),
        ("No horror films please", &[reject("horror films")]),
        ("No horror, please.", &[reject("horror")]),
    ]);
    assert_eq!(one("no horror please").cue, Some("no"));
}

#[test]
fn english_rejection_cues() {
    let cases = [
        ("I can't stand horror films", "horror films"),
        ("I don't like horror films", "horror films"),
        ("I do not want horror films", "horror films"),
        ("everything except horror films", "horror films"),
        (
            "keep the frightening films away from me",
            "frightening films",
        ),
        ("frightening films? no thanks", "frightening films"),
        ("frightening films, not for me", "frightening films"),
        ("horror films are not my thing", "horror films"),
        ("horror is a no", "horror"),
        ("anything but comedies", "comedies"),
        ("skip the musicals", "musicals"),
        ("enough of superhero movies", "superhero movies"),
        ("I'm tired of horror", "horror"),
        ("sick of sequels", "sequels"),
        ("fed up with remakes", "remakes"),
        ("no more war films", "war films"),
        ("not a fan of westerns", "westerns"),
        ("I hate musicals", "musicals"),
        ("avoid gore", "gore"),
        ("stop showing me romance", "romance"),
        ("less violence", "violence"),
        ("fewer sequels please", "sequels"),
        ("nothing with zombies", "zombies"),
        ("none of the sad ones", "sad"),
        ("please no jump scares", "jump scares"),
        ("never romance", "romance"),
        ("other than horror", "horror"),
        ("apart from horror", "horror"),
    ];
    for (text, target) in cases {
        assert_eq!(read(text), [reject(target)], "{text:?} → {}", parse(text));
    }
}

#[test]
fn too_x_rejects_x() {
    check(&[
        ("too long", &[reject("long")]),
        ("the book is too long", &[reject("long")]),
        ("not too long", &[reject("long")]),
    ]);
}

#[test]
fn nothing_but_is_a_wish() {
    check(&[
        ("nothing but comedies", &[want("comedies")]),
        ("only comedies", &[want("comedies")]),
    ]);
}

#[test]
fn a_leading_no_answers_and_the_wish_stands() {
    check(&[
        ("no, I want horror", &[want("horror")]),
        ("Nope. Horror please!", &[want("horror")]),
    ]);
}

#[test]
fn negated_negative_adjective_is_positive_sentiment() {
    let c = one("not bad at all");
    assert_eq!(
        (c.stance, c.target.as_str(), c.sentiment),
        (Stance::Unmarked, "", Some(1.0))
    );
    let c = one("not good");
    assert_eq!(c.sentiment, Some(-1.0));
    let c = one("no thanks");
    assert_eq!((c.target.as_str(), c.sentiment), ("", Some(-1.0)));
    check(&[
        ("the plot was not bad", &[want("plot")]),
        ("the plot was not good", &[reject("plot")]),
    ]);
}

#[test]
fn not_only_but_also_wishes_for_both() {
    check(&[(
        "not only comedies but also dramas",
        &[want("comedies"), want("dramas")],
    )]);
}

#[test]
fn double_negation_is_never_a_rejection() {
    for text in [
        "I don't mind horror",
        "I don't dislike horror",
        "I don't hate horror",
        "I wouldn't mind horror",
    ] {
        let c = one(text);
        assert_ne!(c.stance, Stance::Reject, "{text}");
        assert_eq!(c.target, "horror", "{text}");
    }
}

#[test]
fn questions_asking_for_x_are_wishes() {
    check(&[
        ("why not horror?", &[want("horror")]),
        ("is there no horror?", &[want("horror")]),
        ("no horror?", &[want("horror")]),
        ("don't you have any horror?", &[want("horror")]),
        ("do you have westerns?", &[want("westerns")]),
        ("can you stop showing horror?", &[reject("horror")]),
        ("horror? please no", &[reject("horror")]),
    ]);
}

#[test]
fn wish_then_rejection_in_one_text() {
    let p = read("something short and funny, no horror please");
    assert_eq!(p.len(), 2);
    assert_ne!(p[0].0, Stance::Reject);
    assert_eq!(p[0].1, "short and funny");
    assert_eq!(p[1], reject("horror"));
    check(&[
        (
            "I'd like funny movies but not horror films",
            &[want("funny movies"), reject("horror films")],
        ),
        (
            "a comedy without horror films",
            &[want("comedy"), reject("horror films")],
        ),
        (
            "thrillers, no mob movies",
            &[want("thrillers"), reject("mob movies")],
        ),
        (
            "comedies instead of horror",
            &[want("comedies"), reject("horror")],
        ),
        (
            "short and not too violent",
            &[want("short"), reject("violent")],
        ),
    ]);
}

#[test]
fn rejection_then_wish() {
    check(&[
        (
            "too long, I want short quick reads",
            &[reject("long"), want("short quick reads")],
        ),
        (
            "I'm tired of horror. Comedies please",
            &[reject("horror"), want("comedies")],
        ),
    ]);
}

#[test]
fn not_x_but_y_rejects_x_and_wishes_y() {
    check(&[
        ("not horror but comedy", &[reject("horror"), want("comedy")]),
        (
            "no quiero terror sino comedias",
            &[reject("terror"), want("comedias")],
        ),
        (
            "keine Horrorfilme, sondern Komödien",
            &[reject("horrorfilme"), want("komödien")],
        ),
    ]);
}

#[test]
fn negation_scope_ends_at_the_clause() {
    check(&[
        (
            "no horror but the thrillers were boring",
            &[reject("horror"), unmarked("thrillers were boring")],
        ),
        (
            "no horror; comedies are fine",
            &[reject("horror"), unmarked("comedies are fine")],
        ),
    ]);
}

#[test]
fn praise_then_unmarked_complaint() {
    let p = parse("loved the acting but the plot dragged");
    assert_eq!(p.clauses.len(), 2, "{p}");
    assert_eq!(
        (p.clauses[0].stance, p.clauses[0].cue),
        (Stance::Want, Some("loved"))
    );
    assert_eq!(p.clauses[0].target, "acting");
    assert_eq!(
        (p.clauses[1].stance, p.clauses[1].target.as_str()),
        (Stance::Unmarked, "plot dragged")
    );
    assert_eq!(p.clauses[1].cue, None);
}

#[test]
fn relative_to_history() {
    for text in [
        "more like these",
        "more of this kind",
        "I want more of this kind",
        "same again",
        "more please",
        "mehr davon",
    ] {
        let c = one(text);
        assert_eq!(
            (c.stance, c.relative, c.target.as_str()),
            (Stance::Want, Some(Relative::MoreOfHistory), ""),
            "{text}"
        );
    }
    for text in [
        "something else",
        "something different",
        "no more like these",
        "etwas anderes",
        "autre chose",
    ] {
        let c = one(text);
        assert_eq!(
            (c.relative, c.target.as_str()),
            (Some(Relative::DifferentFromHistory), ""),
            "{text}"
        );
    }
    let p = parse("something different from these, no frightening films");
    assert_eq!(p.clauses.len(), 2, "{p}");
    assert_eq!(
        (p.clauses[0].relative, p.clauses[0].target.as_str()),
        (Some(Relative::DifferentFromHistory), "")
    );
    assert_eq!(
        (p.clauses[1].stance, p.clauses[1].target.as_str()),
        (Stance::Reject, "frightening films")
    );
    assert_eq!(
        read("no more frightening films"),
        [reject("frightening films")]
    );
    assert!(parse("more like these").has_cues());
}

#[test]
fn emoji_and_emoticons() {
    check(&[
        ("no horror 🙅", &[reject("horror")]),
        ("horror 👎", &[reject("horror")]),
        ("comedy 👍", &[want("comedy")]),
        ("❤️ comedies", &[want("comedies")]),
        ("horror 👎 comedy 👍", &[reject("horror"), want("comedy")]),
        ("romance :(", &[reject("romance")]),
        ("🎬🍿", &[]),
        ("", &[]),
        ("   \t\n ", &[]),
        ("?!... ,,;", &[]),
    ]);
    assert_eq!(one("👍").sentiment, Some(1.0));
    assert_eq!(one("👎🏽").sentiment, Some(-1.0));
    assert!(!parse("🎬").has_cues());
}

#[test]
fn french() {
    check(&[
        ("pas de films d'horreur", &[reject("films d'horreur")]),
        ("je n'aime pas les comédies", &[reject("comédies")]),
        (
            "je ne veux plus de films d'horreur",
            &[reject("films d'horreur")],
        ),
        ("sans horreur", &[reject("horreur")]),
        ("plus de films d'horreur", &[reject("films d'horreur")]),
        ("sauf les comédies", &[reject("comédies")]),
        ("j'en ai assez des westerns", &[reject("westerns")]),
        ("pas de westerns s'il vous plaît", &[reject("westerns")]),
        ("je veux des comédies", &[want("comédies")]),
        ("je veux plus de comédies", &[want("comédies")]),
        ("je ne veux que des comédies", &[want("comédies")]),
        ("des comédies svp", &[want("comédies")]),
    ]);
}

#[test]
fn german() {
    check(&[
        ("keine Horrorfilme", &[reject("horrorfilme")]),
        ("kein Horror bitte", &[reject("horror")]),
        ("bitte keine Komödien", &[reject("komödien")]),
        ("ohne Horror", &[reject("horror")]),
        ("außer Horror", &[reject("horror")]),
        ("ich mag keine Western", &[reject("western")]),
        ("nicht schon wieder Horror", &[reject("horror")]),
        ("genug von Western", &[reject("western")]),
        ("keine Horrorfilme mehr, danke", &[reject("horrorfilme")]),
        ("ich möchte Komödien", &[want("komödien")]),
    ]);
}

#[test]
fn spanish() {
    check(&[
        ("nada de terror", &[reject("terror")]),
        ("no quiero terror", &[reject("terror")]),
        ("sin terror", &[reject("terror")]),
        ("no me gustan las comedias", &[reject("comedias")]),
        ("excepto terror", &[reject("terror")]),
        ("menos comedias", &[reject("comedias")]),
        ("ya no más westerns", &[reject("westerns")]),
        ("sin terror por favor", &[reject("terror")]),
        ("quiero comedias", &[want("comedias")]),
    ]);
}

#[test]
fn idioms_intensifiers_and_asides() {
    assert_eq!(one("I could not put it down").sentiment, Some(1.0));
    assert_eq!(one("not my favourite").sentiment, Some(-1.0));
    assert_eq!(one("never a dull moment").sentiment, Some(1.0));
    check(&[
        ("way too long", &[reject("long")]),
        ("a bit too slow for me", &[reject("slow")]),
        ("too many sequels", &[reject("sequels")]),
        ("nicht zu lang", &[reject("lang")]),
        ("I don't know, maybe something funny", &[unmarked("funny")]),
        ("not only funny but smart", &[want("funny"), want("smart")]),
        (
            "it's not horror, it's a thriller",
            &[reject("horror"), unmarked("thriller")],
        ),
        (
            "No horror or thrillers, just comedies",
            &[reject("horror or thrillers"), want("comedies")],
        ),
    ]);
    let c = one("no idea, surprise me");
    assert_eq!(c.relative, Some(Relative::DifferentFromHistory));
    assert_eq!(one("no more like these").cue, Some("no more"));
}

#[test]
fn unmarked_text_is_left_to_the_model() {
    check(&[
        ("boring", &[unmarked("boring")]),
        ("short, light reads", &[unmarked("short, light reads")]),
    ]);
    assert!(!parse("boring").has_cues());
    assert!(parse("no horror").has_cues());
}

#[test]
fn lead_verbs_only_count_at_the_lead() {
    check(&[
        ("a love story", &[unmarked("love story")]),
        ("movies like Alien", &[unmarked("movies like alien")]),
    ]);
}

#[test]
fn reactions_to_pronouns_are_sentiment() {
    assert_eq!(one("loved it").sentiment, Some(1.0));
    assert_eq!(one("I hate it").sentiment, Some(-1.0));
    check(&[("The acting. Loved it!", &[want("acting")])]);
}

#[test]
fn spans_and_targets_point_into_the_text() {
    let text = "Something short and funny, NO horror please 🙅";
    let p = parse(text);
    for c in &p.clauses {
        assert_eq!(
            text.get(c.span.clone())
                .map(|s| s.contains(c.target.as_str())),
            Some(true)
        );
        if let Some(t) = &c.target_span {
            assert_eq!(&text[t.clone()], c.target);
        }
    }
    assert_eq!(&text[p.clauses[1].span.clone()], "NO horror please 🙅");
}

#[test]
fn display_is_readable() {
    assert_eq!(
        parse("I'd like funny movies but not horror films").to_string(),
        "want \"funny movies\" (i'd like); reject \"horror films\" (not)"
    );
    assert_eq!(parse("not bad at all").to_string(), "+1 (not)");
    assert_eq!(
        parse("more like these").to_string(),
        "want \"\" [more of history] (more like these)"
    );
}

/// Checks the invariants every parse must keep.
fn sound(text: &str) {
    let p = parse(text);
    assert!(p.clauses.len() <= MAX_CLAUSES);
    for c in &p.clauses {
        assert!(c.span.start <= c.span.end && c.span.end <= text.len());
        assert!(text.is_char_boundary(c.span.start) && text.is_char_boundary(c.span.end));
        match &c.target_span {
            Some(t) => {
                assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
                assert_eq!(text.get(t.clone()), Some(c.target.as_str()));
                assert!(!c.target.is_empty());
            }
            None => assert!(c.target.is_empty()),
        }
        assert!(c.sentiment.is_none() || c.target.is_empty());
    }
    let _ = p.to_string();
}

#[test]
fn never_panics_on_odd_input() {
    let long_word = "a".repeat(100_000);
    let commas = ",".repeat(10_000);
    let odd = [
        "\u{0}\u{1}\u{7f}no\u{0}horror\u{1b}[31m",
        "e\u{301}\u{301}\u{301} no ho\u{308}rror",
        "\u{301}\u{301}",
        "لا أريد أفلام الرعب، no horror",
        "\u{202E}no horror\u{202C} please",
        "אין אימה בבקשה",
        "ホラーは嫌です, no horror",
        "🙅‍♀️🙅🏽‍♂️👨‍👩‍👧‍👦🏳️‍🌈🇫🇷",
        "no no no not not don't don't",
        "keep keep keep away away",
        "ne ne ne pas pas",
        "n' pas",
        "'''---...’’’",
        "d'",
        "not",
        "but but but",
        "? no thanks",
        ": ( :-) <3 </3",
        "\u{FEFF}\u{200B}\u{200D}\u{FE0F}",
        "I'd like",
        "too",
        "more",
        "keep",
        "sin embargo",
        "&&&",
        "no,no,no,no",
        &long_word,
        &commas,
        &format!("no {commas} horror"),
        &"no horror, ".repeat(5_000),
        &"a, ".repeat(10_000),
    ];
    for text in odd {
        sound(text);
    }
}

#[test]
fn a_megabyte_is_cheap() {
    let text = "no horror but comedies please, ".repeat(35_000);
    assert!(text.len() > 1_000_000);
    let start = std::time::Instant::now();
    let p = parse(&text);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(!p.clauses.is_empty() && p.clauses.len() <= MAX_CLAUSES);
    sound(&"é".repeat(600_000));
}
